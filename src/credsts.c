/*-------------------------------------------------------------------------
 *
 * credsts.c
 *		AWS STS AssumeRole and AssumeRoleWithWebIdentity.
 *
 * Both are query-API calls: a form-encoded POST to the endpoint's root
 * with Action and Version, answered in XML (parsed by s3xml.c).  AssumeRole
 * is signed with SigV4 for service "sts" with the base credentials, once
 * per attempt so that a retry carries a fresh date; the date is the local
 * clock's (STS is not the S3 server whose clock the S3 client tracks).
 * AssumeRoleWithWebIdentity is unsigned: the web identity token in the
 * body is the credential, so it goes only where the server's environment
 * points (see cred.c), never where a server option could.
 *
 * The requests run on a batch of their own on the credential chain's
 * pool.  Nothing here logs; errors carry STS's code and message with any
 * credential scrubbed, never a token or key.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "clock.h"
#include "http.h"
#include "s3sign.h"
#include "s3xml.h"
#include "credsts.h"

#define OQ_STS_VERSION			"2011-06-15"
#define OQ_STS_CONTENT_TYPE		"application/x-www-form-urlencoded; charset=utf-8"
/* An STS reply with credentials is a few kilobytes */
#define OQ_STS_MAX_RESPONSE		(64 * 1024)

/* What each attempt needs to sign itself */
typedef struct StsSigning
{
	char	   *host;			/* the Host header we send and sign */
	char	   *canonical_uri;
	char		payload_hash[65];
	char	   *region;
	char	   *access_key_id;	/* NULL: unsigned */
	char	   *secret_access_key;
	char	   *session_token;
} StsSigning;

static void
sts_prepare(OqRequest *req)
{
	StsSigning *sig = (StsSigning *) req->prepare_arg;
	MemoryContext oldcxt = MemoryContextSwitchTo(req->cxt);
	char		amz_date[17];

	oq_format_amz_date(oq_local_now_us() / 1000000, amz_date);
	oq_request_add_header(req, "Host: %s", sig->host);
	oq_request_add_header(req, "Content-Type: %s", OQ_STS_CONTENT_TYPE);
	/* no 100-continue round trip for a small body */
	oq_request_add_header(req, "Expect:");

	if (sig->access_key_id)
	{
		OqHeader	headers[4];
		int			nheaders = 0;
		OqSigV4Input in;
		OqSigV4Result out;

		oq_request_add_header(req, "X-Amz-Date: %s", amz_date);
		headers[nheaders++] = (OqHeader) {"content-type", OQ_STS_CONTENT_TYPE};
		headers[nheaders++] = (OqHeader) {"host", sig->host};
		headers[nheaders++] = (OqHeader) {"x-amz-date", amz_date};
		if (sig->session_token)
		{
			oq_request_add_header(req, "X-Amz-Security-Token: %s",
										 sig->session_token);
			headers[nheaders++] = (OqHeader) {"x-amz-security-token", sig->session_token};
		}

		memset(&in, 0, sizeof(in));
		in.method = "POST";
		in.canonical_uri = sig->canonical_uri;
		in.headers = headers;
		in.nheaders = nheaders;
		in.payload_hash = sig->payload_hash;
		in.amz_date = amz_date;
		in.region = sig->region;
		in.service = "sts";
		in.access_key_id = sig->access_key_id;
		in.secret_access_key = sig->secret_access_key;
		oq_sigv4_sign(&in, &out);
		oq_request_add_header(req, "Authorization: %s", out.authorization);
	}

	MemoryContextSwitchTo(oldcxt);
}

static void
append_param(StringInfo body, const char *name, const char *value)
{
	if (body->len > 0)
		appendStringInfoChar(body, '&');
	appendStringInfo(body, "%s=", name);
	oq_uri_encode(body, value, strlen(value), false);
}

/* Split "scheme://host[:port][/path]" into the Host header and the path */
static void
split_endpoint(const char *endpoint, char **host, char **path)
{
	const char *start = strstr(endpoint, "://");
	const char *slash;
	size_t		plen;

	start = start ? start + 3 : endpoint;
	slash = strchr(start, '/');
	*host = slash ? pnstrdup(start, slash - start) : pstrdup(start);

	/* the root, or the endpoint's own path, with one trailing slash */
	plen = slash ? strlen(slash) : 0;
	while (plen > 0 && slash[plen - 1] == '/')
		plen--;
	*path = psprintf("%.*s/", (int) plen, slash ? slash : "");
}

/*
 * Replace every occurrence of each secret in 's' (palloc'd, modified in
 * place or replaced): an error message from a server must not carry
 * anything we sent it.
 */
static char *
scrub(char *s, const char *const *secrets, int nsecrets)
{
	for (int i = 0; s && i < nsecrets; i++)
	{
		const char *secret = secrets[i];
		char	   *at;

		if (secret == NULL || strlen(secret) < 4)
			continue;
		while ((at = strstr(s, secret)) != NULL)
		{
			char	   *fixed = psprintf("%.*s[REDACTED]%s", (int) (at - s), s,
										 at + strlen(secret));

			explicit_bzero(s, strlen(s));
			pfree(s);
			s = fixed;
		}
	}
	return s;
}

/* Report a failed STS request, then free it */
static void
report_failure(OqRequest *req, const char *source, const OqStsRequest *sts)
{
	const char *secrets[3];
	OqS3Error	err;
	StringInfoData detail;
	char	   *why = oq_request_failure(req);
	int			attempts;

	secrets[0] = sts->web_identity_token;
	secrets[1] = sts->base ? sts->base->secret_access_key : NULL;
	secrets[2] = sts->base ? sts->base->session_token : NULL;

	initStringInfo(&detail);
	if (req->curl_code == 0 && !req->too_large &&
		oq_s3xml_parse_error(req->response, req->response_len, &err))
	{
		if (err.code)
			why = psprintf("%s %s", why, err.code);
		if (err.message)
		{
			char	   *message = scrub(err.message, secrets, lengthof(secrets));
			size_t		mlen = strlen(message);

			appendStringInfo(&detail, "%s%s", message,
							 mlen > 0 && message[mlen - 1] == '.' ? "" : ".");
		}
		if (err.request_id || req->request_id)
			appendStringInfo(&detail, "%sRequest id %s.", detail.len ? " " : "",
							 err.request_id ? err.request_id : req->request_id);
	}
	else if (req->curl_code != 0 && req->curl_error)
		appendStringInfo(&detail, "%s.", req->curl_error);
	attempts = req->attempts;
	oq_request_free(req);

	/* the detail: what STS or the network said (not ours to translate) */
	ereport(ERROR,
			(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
			 errmsg("could not get AWS credentials from %s: %s", source, why),
			 attempts > 1 ?
			 errdetail_plural("%s%s%d attempt was made.",
							  "%s%s%d attempts were made.",
							  attempts, detail.data, detail.len ? " " : "",
							  attempts) :
			 detail.len ? errdetail_internal("%s", detail.data) : 0));
}

void
oq_sts_assume_role(OqHttpPool *pool, const OqStsRequest *sts, OqCredentials *out)
{
	bool		web = sts->web_identity_token != NULL;

	/* volatile: gcc 14 and later warn it could be clobbered by PG_TRY */
	const char *volatile action = web ? "AssumeRoleWithWebIdentity" : "AssumeRole";
	MemoryContext callercxt = CurrentMemoryContext;
	char	   *source;
	OqBatch    *batch;
	OqRequest  *req;
	StsSigning *sig;
	StringInfoData body;
	MemoryContext oldcxt;
	char	   *problem;

	Assert(web || (sts->base && sts->base->access_key_id));
	source = oq_cred_source_text(web ? OQ_CRED_STS_WEB_IDENTITY : OQ_CRED_STS_ASSUME_ROLE,
								 sts->endpoint, sts->role_arn);

	batch = oq_batch_create(pool, 1, NULL, NULL);
	PG_TRY();
	{
		req = oq_request_create(batch, OQ_OP_CREDENTIALS, "POST");
		oldcxt = MemoryContextSwitchTo(req->cxt);
		sig = palloc0(sizeof(StsSigning));
		split_endpoint(sts->endpoint, &sig->host, &sig->canonical_uri);
		req->url = psprintf("%.*s%s%s",
							(int) (strstr(sts->endpoint, "://") + 3 - sts->endpoint),
							sts->endpoint, sig->host, sig->canonical_uri);

		initStringInfo(&body);
		append_param(&body, "Action", action);
		append_param(&body, "Version", OQ_STS_VERSION);
		append_param(&body, "RoleArn", sts->role_arn);
		append_param(&body, "RoleSessionName", sts->session_name);
		if (web)
			append_param(&body, "WebIdentityToken", sts->web_identity_token);
		else
		{
			if (sts->external_id)
				append_param(&body, "ExternalId", sts->external_id);
			sig->region = pstrdup(sts->region);
			sig->access_key_id = pstrdup(sts->base->access_key_id);
			sig->secret_access_key = pstrdup(sts->base->secret_access_key);
			if (sts->base->session_token)
				sig->session_token = pstrdup(sts->base->session_token);
			oq_request_secret(req, sig->secret_access_key);
			oq_request_secret(req, sig->session_token);
		}
		/* the body may hold the web identity token, the reply credentials */
		oq_request_secret(req, NULL);
		req->body = body.data;
		req->body_len = body.len;
		oq_sha256_hex(body.data, body.len, sig->payload_hash);
		req->prepare = sts_prepare;
		req->prepare_arg = sig;
		req->max_response = OQ_STS_MAX_RESPONSE;
		/* STS calls have no side effects that a retry could repeat */
		req->retry_unknown_outcome = true;
		MemoryContextSwitchTo(oldcxt);

		oq_batch_run(batch, req);
		if (!oq_request_ok(req))
			report_failure(req, source, sts);
		if (!oq_s3xml_parse_sts_credentials(req->response, req->response_len, out,
											&problem))
		{
			oq_request_free(req);
			ereport(ERROR,
					(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
					 errmsg("could not get AWS credentials from %s: %s", source,
							problem)));
		}
		oq_request_free(req);
	}
	PG_FINALLY();
	{
		/* an error may have struck while in the request's context */
		MemoryContextSwitchTo(callercxt);
		oq_batch_destroy(batch);
	}
	PG_END_TRY();
	out->source = web ? OQ_CRED_STS_WEB_IDENTITY : OQ_CRED_STS_ASSUME_ROLE;
	out->source_url = pstrdup(sts->endpoint);
	out->source_role = pstrdup(sts->role_arn);
}
