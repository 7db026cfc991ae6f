/*-------------------------------------------------------------------------
 *
 * credimds.c
 *		Credentials from the EC2 instance metadata service (IMDSv2) and the
 *		container credentials endpoint.
 *
 * IMDSv2 is three requests: PUT /latest/api/token with the token's
 * lifetime in X-aws-ec2-metadata-token-ttl-seconds, which answers with a
 * session token; GET /latest/meta-data/iam/security-credentials/ with the
 * token in X-aws-ec2-metadata-token, which names the instance profile's
 * role; GET .../security-credentials/ROLE, which answers with the role's
 * credentials as JSON (credjson.c).  Only v2: IMDSv1 (no token) is what
 * SSRF attacks steal credentials from, and instances should refuse it.
 *
 * The container endpoint is one GET of the URL the environment names,
 * with an authorization token when the environment gives one (EKS Pod
 * Identity does, ECS does not), answered with the same JSON.
 *
 * Both services live on the host or link-local addresses: requests never
 * go through a proxy, and use the short timeouts and few attempts of the
 * AWS SDKs (AWS_METADATA_SERVICE_TIMEOUT and _NUM_ATTEMPTS, read by
 * cred.c), so a server that is not on EC2 finds out quickly.  The
 * session token, the authorization token and the replies are secrets:
 * they are wiped after use and never put into a message.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "http.h"
#include "credjson.h"
#include "credimds.h"

/* Lifetime we ask for the IMDS session token: the SDKs' six hours */
#define OQ_IMDS_TOKEN_TTL_SECONDS	21600
/* Replies here are small; a token or role name is well under this */
#define OQ_METADATA_MAX_RESPONSE	(64 * 1024)
#define OQ_METADATA_MAX_TOKEN		4096

#define IMDS_CREDENTIALS_PATH	"/latest/meta-data/iam/security-credentials/"

/* One header line, or none, for every attempt of a request */
static void
header_prepare(OqRequest *req)
{
	const char *line = (const char *) req->prepare_arg;

	if (line)
		oq_request_add_header(req, "%s", line);
}

static OqRequest *
metadata_request(OqBatch *batch, const char *method, const char *url,
				 const char *header, const OqMetadataOptions *mo)
{
	OqRequest  *req = oq_request_create(batch, OQ_OP_CREDENTIALS, method);

	req->url = MemoryContextStrdup(req->cxt, url);
	req->prepare = header_prepare;
	req->prepare_arg = header ? MemoryContextStrdup(req->cxt, header) : NULL;
	/* the header may carry a token, the reply carries credentials */
	oq_request_secret(req, (char *) req->prepare_arg);
	req->max_response = OQ_METADATA_MAX_RESPONSE;
	req->connect_timeout_ms = mo->timeout_ms;
	req->timeout_ms = mo->timeout_ms;
	req->max_retries = Max(mo->attempts, 1) - 1;
	req->no_proxy = true;
	return req;
}

/* scheme://host[:port] of a URL, for messages */
static char *
url_origin(const char *url)
{
	const char *host = strstr(url, "://");
	const char *end;

	host = host ? host + 3 : url;
	end = host + strcspn(host, "/?#");
	return pnstrdup(url, end - url);
}

/* What went wrong, each with a message of its own */
typedef enum MetadataFailure
{
	FAIL_TOKEN_REQUEST,			/* IMDS: asking for a session token */
	FAIL_TOKEN_INVALID,
	FAIL_NO_ROLE,				/* IMDS: 404 for the instance profile's role */
	FAIL_ROLE_REQUEST,
	FAIL_ROLE_INVALID,
	FAIL_CREDENTIALS_REQUEST,	/* IMDS: asking for the role's credentials */
	FAIL_DOCUMENT,				/* the credentials document */
	FAIL_CONTAINER_REQUEST		/* the container endpoint's one GET */
} MetadataFailure;

static int
attempts_detail(int attempts)
{
	if (attempts <= 1)
		return 0;
	return errdetail_plural("%d attempt was made.", "%d attempts were made.",
							attempts, attempts);
}

/*
 * Report a failure, freeing the request first (its memory is wiped).  arg
 * is the role (FAIL_CREDENTIALS_REQUEST) or the document's problem
 * (FAIL_DOCUMENT); with_token says the container request sent one.
 */
static void
fail(OqRequest *req, const char *source, MetadataFailure failure,
	 const char *arg, bool with_token)
{
	int			attempts = req->attempts;
	bool		forbidden = req->curl_code == 0 && req->status == 403;
	bool		refused = forbidden || (req->curl_code == 0 && req->status == 401);
	char	   *why = oq_request_failure(req);

	oq_request_free(req);
	switch (failure)
	{
		case FAIL_TOKEN_REQUEST:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
					 errmsg("could not get AWS credentials from %s: %s (asking for a session token)",
							source, why),
					 attempts_detail(attempts),
					 forbidden ? errhint("The instance may have the metadata service disabled.") : 0));
			break;
		case FAIL_TOKEN_INVALID:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
					 errmsg("could not get AWS credentials from %s: the session token it sent is not valid",
							source)));
			break;
		case FAIL_NO_ROLE:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
					 errmsg("could not get AWS credentials from %s: no IAM role is attached to the instance (HTTP 404)",
							source),
					 attempts_detail(attempts),
					 errhint("Attach an instance profile with an IAM role to the instance.")));
			break;
		case FAIL_ROLE_REQUEST:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
					 errmsg("could not get AWS credentials from %s: %s (asking for the instance profile's role)",
							source, why),
					 attempts_detail(attempts)));
			break;
		case FAIL_ROLE_INVALID:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
					 errmsg("could not get AWS credentials from %s: the role name it sent is not valid",
							source)));
			break;
		case FAIL_CREDENTIALS_REQUEST:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
					 errmsg("could not get AWS credentials from %s: %s (asking for the credentials of role \"%s\")",
							source, why, arg),
					 attempts_detail(attempts)));
			break;
		case FAIL_DOCUMENT:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
					 errmsg("could not get AWS credentials from %s: the credentials document %s",
							source, arg)));
			break;
		case FAIL_CONTAINER_REQUEST:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
					 errmsg("could not get AWS credentials from %s: %s", source, why),
					 attempts_detail(attempts),
					 !refused ? 0 : with_token ?
					 errhint("The endpoint refused the authorization token (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or AWS_CONTAINER_AUTHORIZATION_TOKEN).") :
					 errhint("The endpoint may want an authorization token: set AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or AWS_CONTAINER_AUTHORIZATION_TOKEN.")));
			break;
	}
	pg_unreachable();
}

/* The reply as a trimmed, NUL-free, visible-ASCII string, or NULL */
static char *
reply_token(OqRequest *req)
{
	size_t		len = req->response_len;
	char	   *s = req->response;

	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' ||
					   s[len - 1] == ' '))
		len--;
	if (len == 0 || len > OQ_METADATA_MAX_TOKEN || memchr(s, '\0', len))
		return NULL;
	s = pnstrdup(s, len);
	if (!oq_credential_string_ok(s))
	{
		explicit_bzero(s, len);
		pfree(s);
		return NULL;
	}
	return s;
}

/* An IAM role name: 1-64 of A-Z a-z 0-9 + = , . @ _ - */
static bool
role_name_ok(const char *s, size_t len)
{
	if (len == 0 || len > 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char) s[i]) && strchr("+=,.@_-", s[i]) == NULL)
			return false;
	return true;
}

static void
parse_credentials(OqRequest *req, const char *source, OqCredentials *out)
{
	const char *problem;

	if (!oq_credjson_parse(req->response, req->response_len, out, &problem))
		fail(req, source, FAIL_DOCUMENT, problem, false);
}

void
oq_imds_fetch(OqHttpPool *pool, const char *endpoint,
			  const OqMetadataOptions *mo, OqCredentials *out)
{
	char	   *source = oq_cred_source_text(OQ_CRED_IMDS, endpoint, NULL);
	OqBatch    *batch;

	batch = oq_batch_create(pool, 1, NULL, NULL);
	PG_TRY();
	{
		OqRequest  *req;
		char	   *token;
		char	   *header;
		char	   *role;
		size_t		rlen;

		/* a session token */
		req = metadata_request(batch, "PUT", psprintf("%s/latest/api/token", endpoint),
							   psprintf("X-aws-ec2-metadata-token-ttl-seconds: %d",
										OQ_IMDS_TOKEN_TTL_SECONDS), mo);
		oq_batch_run(batch, req);
		if (!oq_request_ok(req))
			fail(req, source, FAIL_TOKEN_REQUEST, NULL, false);
		token = reply_token(req);
		if (token == NULL)
			fail(req, source, FAIL_TOKEN_INVALID, NULL, false);
		oq_request_free(req);
		header = psprintf("X-aws-ec2-metadata-token: %s", token);
		explicit_bzero(token, strlen(token));

		/* the role of the instance profile */
		req = metadata_request(batch, "GET", psprintf("%s%s", endpoint, IMDS_CREDENTIALS_PATH),
							   header, mo);
		oq_batch_run(batch, req);
		if (!oq_request_ok(req))
		{
			bool		no_role = req->curl_code == 0 && req->status == 404;

			explicit_bzero(header, strlen(header));
			fail(req, source, no_role ? FAIL_NO_ROLE : FAIL_ROLE_REQUEST, NULL, false);
		}
		/* the first line names the role */
		rlen = strcspn(req->response, "\r\n");
		if (!role_name_ok(req->response, rlen))
		{
			explicit_bzero(header, strlen(header));
			fail(req, source, FAIL_ROLE_INVALID, NULL, false);
		}
		role = pnstrdup(req->response, rlen);
		oq_request_free(req);

		/* its credentials */
		req = metadata_request(batch, "GET",
							   psprintf("%s%s%s", endpoint, IMDS_CREDENTIALS_PATH, role),
							   header, mo);
		explicit_bzero(header, strlen(header));
		oq_batch_run(batch, req);
		if (!oq_request_ok(req))
			fail(req, source, FAIL_CREDENTIALS_REQUEST, role, false);
		parse_credentials(req, source, out);
		oq_request_free(req);
	}
	PG_FINALLY();
	{
		oq_batch_destroy(batch);
	}
	PG_END_TRY();
	out->source = OQ_CRED_IMDS;
	out->source_url = pstrdup(endpoint);
	out->source_role = NULL;
}

void
oq_container_fetch(OqHttpPool *pool, const char *url, const char *auth_token,
				   const OqMetadataOptions *mo, OqCredentials *out)
{
	char	   *origin = url_origin(url);
	char	   *source = oq_cred_source_text(OQ_CRED_CONTAINER, origin, NULL);
	OqBatch    *batch;

	batch = oq_batch_create(pool, 1, NULL, NULL);
	PG_TRY();
	{
		OqRequest  *req;
		char	   *header = NULL;

		if (auth_token)
			header = psprintf("Authorization: %s", auth_token);
		req = metadata_request(batch, "GET", url, header, mo);
		if (header)
			explicit_bzero(header, strlen(header));
		oq_batch_run(batch, req);
		if (!oq_request_ok(req))
			fail(req, source, FAIL_CONTAINER_REQUEST, NULL, auth_token != NULL);
		parse_credentials(req, source, out);
		oq_request_free(req);
	}
	PG_FINALLY();
	{
		oq_batch_destroy(batch);
	}
	PG_END_TRY();
	out->source = OQ_CRED_CONTAINER;
	out->source_url = origin;
	out->source_role = NULL;
}
