/*-------------------------------------------------------------------------
 *
 * cred.c
 *		Resolution of the credentials a connection signs with: which source,
 *		in which order, who may use it, how long it is cached.
 *
 * A user mapping's access_key_id/secret_access_key (and session_token)
 * win.  Without them, a mapping with use_server_environment 'true' uses
 * the server's own identity, but only when the mapping belongs to a
 * superuser: the server's identity is the database server's own, and a
 * non-superuser must never be able to borrow it (the rule of
 * postgres_fdw's password_required).  It is checked when the connection
 * is set up and again whenever the identity is used.  Otherwise requests
 * go unsigned, for public buckets.
 *
 * The server's identity is found the way the AWS SDKs find it, first
 * source configured wins:
 *
 *	1. AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN);
 *	2. web identity: AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN, traded
 *	   with STS AssumeRoleWithWebIdentity (EKS IAM roles for service
 *	   accounts);
 *	3. the container credentials endpoint: AWS_CONTAINER_CREDENTIALS_
 *	   RELATIVE_URI (ECS) or _FULL_URI (EKS Pod Identity), with the token
 *	   of AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or _TOKEN;
 *	4. the EC2 instance metadata service, IMDSv2, unless
 *	   AWS_EC2_METADATA_DISABLED is true.
 *
 * A source that is configured but fails is an error naming it: falling
 * through to the next one would hide a broken setup behind a different
 * identity.  Every endpoint involved comes from the environment only
 * (AWS_ENDPOINT_URL_STS, AWS_EC2_METADATA_SERVICE_ENDPOINT, ...), never
 * from a server option: the web identity and authorization tokens are
 * bearer secrets, and a server's owner need not be a superuser.
 *
 * The server's identity is the same for every connection of a backend, so
 * it is cached once per backend; each connection keeps a copy of what it
 * signs with.  A server option assume_role_arn (with external_id) then
 * assumes a role with STS AssumeRole, signed with whatever the mapping
 * resolved to (anyone's own keys, or a superuser's server identity); the
 * result is cached per connection.
 *
 * Temporary credentials are refreshed before they expire, never after a
 * 403: at expiry minus five minutes, or minus half their lifetime when
 * that is shorter, so short-lived credentials are renewed early too.  A
 * failed refresh leaves the old credentials in place and is reported; the
 * next request tries again.  Secrets are wiped when replaced, and nothing
 * here puts a secret or token into a message or the log.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/memutils.h"

#include "clock.h"
#include "cred.h"
#include "credimds.h"
#include "credsts.h"
#include "rfc3339.h"

/* Refresh temporary credentials this long before they expire, at most */
#define OQ_REFRESH_MARGIN_US		(5 * 60 * INT64CONST(1000000))
#define USECS_PER_SEC_64			INT64CONST(1000000)

/* Token files (web identity, container authorization) are small */
#define OQ_TOKEN_FILE_MAX_BYTES		(64 * 1024)

#define DEFAULT_IMDS_ENDPOINT		"http://169.254.169.254"
#define DEFAULT_IMDS_ENDPOINT_IPV6	"http://[fd00:ec2::254]"
#define DEFAULT_CONTAINER_ENDPOINT	"http://169.254.170.2"

/*
 * Where AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is resolved.  ECS serves it
 * at 169.254.170.2 and the SDKs offer no override; this one exists so that
 * tests can serve it on loopback.
 */
#define CONTAINER_ENDPOINT_ENV		"OQ_FDW_CONTAINER_CREDENTIALS_ENDPOINT"

/* The server's identity, cached for the backend (see server_identity()) */
static OqCredentials identity;
static MemoryContext identity_cxt = NULL;

/* The step of a resolution an error context line names */
typedef enum ResolveStep
{
	STEP_NONE,
	STEP_ENVIRONMENT,
	STEP_WEB_IDENTITY,
	STEP_CONTAINER_RELATIVE,
	STEP_CONTAINER_FULL,
	STEP_IMDS,
	STEP_ASSUME_ROLE
} ResolveStep;

typedef struct ResolveContext
{
	const char *server_name;
	ResolveStep step;
	const char *role;			/* STEP_ASSUME_ROLE: the role */
	const OqCredentials *base;	/* STEP_ASSUME_ROLE: what asks STS */
} ResolveContext;

static void
resolve_error_context(void *arg)
{
	ResolveContext *rc = (ResolveContext *) arg;

	switch (rc->step)
	{
		case STEP_NONE:
			errcontext("credentials for server \"%s\"", rc->server_name);
			break;
		case STEP_ENVIRONMENT:
			errcontext("credentials for server \"%s\": the database server's environment variables",
					   rc->server_name);
			break;
		case STEP_WEB_IDENTITY:
			errcontext("credentials for server \"%s\": web identity (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN)",
					   rc->server_name);
			break;
		case STEP_CONTAINER_RELATIVE:
			errcontext("credentials for server \"%s\": the container credentials endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI)",
					   rc->server_name);
			break;
		case STEP_CONTAINER_FULL:
			errcontext("credentials for server \"%s\": the container credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI)",
					   rc->server_name);
			break;
		case STEP_IMDS:
			errcontext("credentials for server \"%s\": the EC2 instance metadata service, the last source of the chain (no AWS_ACCESS_KEY_ID, AWS_WEB_IDENTITY_TOKEN_FILE or AWS_CONTAINER_CREDENTIALS_* is set)",
					   rc->server_name);
			break;
		case STEP_ASSUME_ROLE:
			errcontext("credentials for server \"%s\": assuming role \"%s\" with credentials from %s",
					   rc->server_name, rc->role,
					   oq_cred_source_text(rc->base->source, rc->base->source_url,
										   rc->base->source_role));
			break;
	}
}

/* ---------- small helpers ---------- */

static char *
getenv_nonempty(const char *name)
{
	char	   *value = getenv(name);

	return (value == NULL || *value == '\0') ? NULL : value;
}

static bool
getenv_true(const char *name)
{
	char	   *value = getenv_nonempty(name);

	return value != NULL && pg_strcasecmp(value, "true") == 0;
}

/* Whether creds must be (re)resolved before signing at time now_us */
static bool
need_refresh(const OqCredentials *creds, int64 now_us)
{
	return !creds->resolved ||
		(creds->refresh_at_us != 0 && now_us >= creds->refresh_at_us);
}

static void
copy_credentials(OqCredentials *dst, const OqCredentials *src)
{
	*dst = *src;
	if (src->access_key_id)
		dst->access_key_id = pstrdup(src->access_key_id);
	if (src->secret_access_key)
		dst->secret_access_key = pstrdup(src->secret_access_key);
	if (src->session_token)
		dst->session_token = pstrdup(src->session_token);
}

/* Where creds came from, for messages */
static char *
source_text(const OqCredentials *creds)
{
	return oq_cred_source_text(creds->source, creds->source_url,
							   creds->source_role);
}

/* Copy the strings that say where creds came from into the current context */
static void
own_source(OqCredentials *creds)
{
	if (creds->source_url)
		creds->source_url = pstrdup(creds->source_url);
	if (creds->source_role)
		creds->source_role = pstrdup(creds->source_role);
}

static char *
format_time(int64 unix_us)
{
	char		buf[OQ_RFC3339_BUFLEN];

	oq_rfc3339_format(unix_us, buf);
	return pstrdup(buf);
}

/*
 * Set the refresh time of temporary credentials obtained at now_us: five
 * minutes before they expire, or half their lifetime before when that is
 * sooner.  Credentials that arrive expired are an error.
 */
static void
set_refresh_time(OqCredentials *creds, int64 now_us)
{
	int64		lifetime = creds->expires_at_us - now_us;

	if (lifetime <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
				 errmsg("could not get AWS credentials from %s: they expired at %s, before they arrived",
						source_text(creds), format_time(creds->expires_at_us)),
				 errhint("Check the database server's clock.")));
	creds->refresh_at_us = creds->expires_at_us - Min(OQ_REFRESH_MARGIN_US, lifetime / 2);
}

/* "http://" or "https://", a host, and nothing a URL should not carry */
static bool
endpoint_url_ok(const char *url)
{
	const char *host;

	if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else
		return false;
	if (*host == '\0' || *host == '/')
		return false;
	for (const char *p = url; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '@' || *p == '#')
			return false;
	return true;
}

/* An endpoint URL from the environment, validated, without trailing '/' */
static char *
env_endpoint(const char *name)
{
	char	   *value = getenv_nonempty(name);
	size_t		len;

	if (value == NULL)
		return NULL;
	if (!endpoint_url_ok(value))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
				 errmsg("%s in the database server's environment is not an http:// or https:// URL",
						name)));
	len = strlen(value);
	while (len > 0 && value[len - 1] == '/')
		len--;
	return pnstrdup(value, len);
}

/*
 * The whole of a small file holding a token, trimmed of surrounding white
 * space (palloc'd; the caller wipes and frees it).  Messages name the file
 * and the variable, never the contents.
 */
static char *
read_token_file(const char *path, const char *var)
{
	FILE	   *file;
	char	   *buf = palloc(OQ_TOKEN_FILE_MAX_BYTES + 1);
	char	   *token;
	size_t		len;
	size_t		start = 0;
	bool		too_large;

	file = AllocateFile(path, "r");
	if (file == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\" named by %s: %m", path, var)));
	len = fread(buf, 1, OQ_TOKEN_FILE_MAX_BYTES + 1, file);
	if (ferror(file))
	{
		int			save_errno = errno;

		FreeFile(file);
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read file \"%s\" named by %s: %m", path, var)));
	}
	FreeFile(file);
	too_large = len > OQ_TOKEN_FILE_MAX_BYTES;

	while (len > 0 && isspace((unsigned char) buf[len - 1]))
		len--;
	while (start < len && isspace((unsigned char) buf[start]))
		start++;
	buf[len] = '\0';
	if (too_large || start == len || !oq_credential_string_ok(buf + start))
	{
		explicit_bzero(buf, OQ_TOKEN_FILE_MAX_BYTES + 1);
		ereport(ERROR,
				(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
				 errmsg("file \"%s\" named by %s does not hold a token", path, var),
				 errdetail("A token is one line of printable ASCII characters, at most %d bytes.",
						   OQ_TOKEN_FILE_MAX_BYTES)));
	}
	token = pnstrdup(buf + start, len - start);
	explicit_bzero(buf, OQ_TOKEN_FILE_MAX_BYTES + 1);
	pfree(buf);
	return token;
}

/*
 * The STS endpoint the environment configures: AWS_ENDPOINT_URL_STS, else
 * AWS_ENDPOINT_URL (unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS), else
 * NULL.
 */
static char *
env_sts_endpoint(void)
{
	char	   *url;

	if (getenv_true("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"))
		return NULL;
	url = env_endpoint("AWS_ENDPOINT_URL_STS");
	if (url == NULL)
		url = env_endpoint("AWS_ENDPOINT_URL");
	return url;
}

/*
 * AWS's own STS endpoint for a region: regional, as current SDKs do,
 * unless AWS_STS_REGIONAL_ENDPOINTS is "legacy" or there is no region,
 * which gives the global endpoint (signed for us-east-1).
 */
static char *
aws_sts_endpoint(const char *region, const char **sign_region)
{
	char	   *mode = getenv_nonempty("AWS_STS_REGIONAL_ENDPOINTS");

	if (region == NULL || (mode && pg_strcasecmp(mode, "legacy") == 0))
	{
		*sign_region = "us-east-1";
		return pstrdup("https://sts.amazonaws.com");
	}
	*sign_region = region;
	return psprintf("https://sts.%s.amazonaws.com%s", region,
					strncmp(region, "cn-", 3) == 0 ? ".cn" : "");
}

/* ---------- the server's identity ---------- */

static void
identity_from_environment_keys(const char *key_id, const char *secret,
							   OqCredentials *out)
{
	const char *token = getenv_nonempty("AWS_SESSION_TOKEN");

	if (key_id == NULL || secret == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
				 errmsg("the database server's environment sets %s but not %s",
						key_id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
						key_id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID")));
	if (!oq_credential_string_ok(key_id) || !oq_credential_string_ok(secret) ||
		(token && !oq_credential_string_ok(token)))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
				 errmsg("the AWS credentials in the database server's environment are malformed"),
				 errdetail("AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN must be printable ASCII without spaces.")));
	out->access_key_id = pstrdup(key_id);
	out->secret_access_key = pstrdup(secret);
	out->session_token = token ? pstrdup(token) : NULL;
	out->expires_at_us = 0;
	out->refresh_at_us = 0;
	out->source = OQ_CRED_ENVIRONMENT;
}

static void
identity_from_web_identity(OqCredChain *chain, const char *token_file,
						   OqCredentials *out)
{
	const char *role_arn = getenv_nonempty("AWS_ROLE_ARN");
	const char *session_name = getenv_nonempty("AWS_ROLE_SESSION_NAME");
	char	   *region = getenv_nonempty("AWS_REGION");
	OqStsRequest sts;
	char	   *token;

	if (role_arn == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
				 errmsg("the database server's environment sets AWS_WEB_IDENTITY_TOKEN_FILE but not AWS_ROLE_ARN")));
	if (region == NULL)
		region = getenv_nonempty("AWS_DEFAULT_REGION");

	memset(&sts, 0, sizeof(sts));
	sts.endpoint = env_sts_endpoint();
	if (sts.endpoint)
		sts.region = region ? region : "us-east-1";
	else
		sts.endpoint = aws_sts_endpoint(region, &sts.region);
	sts.role_arn = role_arn;
	sts.session_name = session_name ? session_name : "oq_fdw";

	/* read every time: EKS rotates the projected token file */
	token = read_token_file(token_file, "AWS_WEB_IDENTITY_TOKEN_FILE");
	sts.web_identity_token = token;
	PG_TRY();
	{
		oq_sts_assume_role(&chain->http, &sts, out);
	}
	PG_FINALLY();
	{
		explicit_bzero(token, strlen(token));
	}
	PG_END_TRY();
	pfree(token);
	set_refresh_time(out, oq_local_now_us());
}

/* The host part of a URL: "h", "1.2.3.4", "[::1]" */
static char *
url_host(const char *url)
{
	const char *host = strstr(url, "://");
	size_t		len;

	host = host ? host + 3 : url;
	if (*host == '[')
		len = strcspn(host, "]") + 1;
	else
		len = strcspn(host, ":/?#");
	return pnstrdup(host, Min(len, strlen(host)));
}

/*
 * The AWS SDKs accept a full container credentials URI over plain http
 * only on loopback and the ECS and EKS link-local addresses; https may go
 * anywhere.
 */
static bool
container_uri_allowed(const char *url)
{
	char	   *host;

	if (strncmp(url, "https://", 8) == 0)
		return true;
	host = url_host(url);
	return strncmp(host, "127.", 4) == 0 || strcmp(host, "localhost") == 0 ||
		strcmp(host, "[::1]") == 0 || strcmp(host, "169.254.170.2") == 0 ||
		strcmp(host, "169.254.170.23") == 0 ||
		pg_strcasecmp(host, "[fd00:ec2::23]") == 0;
}

/* AWS_METADATA_SERVICE_TIMEOUT (seconds) and _NUM_ATTEMPTS, as the SDKs */
static void
metadata_options(OqMetadataOptions *mo)
{
	const char *timeout = getenv_nonempty("AWS_METADATA_SERVICE_TIMEOUT");
	const char *attempts = getenv_nonempty("AWS_METADATA_SERVICE_NUM_ATTEMPTS");
	char	   *end;

	mo->timeout_ms = 1000;
	mo->attempts = 1;
	if (timeout)
	{
		double		seconds = strtod(timeout, &end);

		if (*end != '\0' || !(seconds > 0 && seconds <= 3600))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("AWS_METADATA_SERVICE_TIMEOUT in the database server's environment must be a number of seconds")));
		mo->timeout_ms = Max((int) (seconds * 1000), 1);
	}
	if (attempts)
	{
		long		n = strtol(attempts, &end, 10);

		if (*end != '\0' || n < 1 || n > 100)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("AWS_METADATA_SERVICE_NUM_ATTEMPTS in the database server's environment must be an integer from 1 to 100")));
		mo->attempts = (int) n;
	}
}

/*
 * The container endpoint's authorization token: the file of
 * AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (EKS Pod Identity, rotated: read
 * every time), else AWS_CONTAINER_AUTHORIZATION_TOKEN, else NULL.
 */
static char *
container_authorization_token(void)
{
	const char *token_file = getenv_nonempty("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *value = getenv_nonempty("AWS_CONTAINER_AUTHORIZATION_TOKEN");

	if (token_file)
		return read_token_file(token_file, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	if (value == NULL)
		return NULL;
	for (const char *p = value; *p; p++)
		if ((unsigned char) *p < 0x20 || *p == 0x7f)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
					 errmsg("AWS_CONTAINER_AUTHORIZATION_TOKEN in the database server's environment holds control characters")));
	return pstrdup(value);
}

/* oq_container_fetch, wiping the token whatever happens */
static pg_noinline void
container_fetch(OqCredChain *chain, const char *url, char *token,
				const OqMetadataOptions *mo, OqCredentials *out)
{
	PG_TRY();
	{
		oq_container_fetch(&chain->http, url, token, mo, out);
	}
	PG_FINALLY();
	{
		if (token)
			explicit_bzero(token, strlen(token));
	}
	PG_END_TRY();
}

static void
identity_from_container(OqCredChain *chain, const char *relative_uri,
						const char *full_uri, OqCredentials *out)
{
	char	   *token;
	char	   *url;
	OqMetadataOptions mo;

	if (relative_uri)
	{
		char	   *base = env_endpoint(CONTAINER_ENDPOINT_ENV);

		if (relative_uri[0] != '/')
			ereport(ERROR,
					(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
					 errmsg("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI in the database server's environment does not start with \"/\"")));
		url = psprintf("%s%s", base ? base : DEFAULT_CONTAINER_ENDPOINT, relative_uri);
	}
	else
	{
		if (!endpoint_url_ok(full_uri))
			ereport(ERROR,
					(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
					 errmsg("AWS_CONTAINER_CREDENTIALS_FULL_URI in the database server's environment is not an http:// or https:// URL")));
		if (!container_uri_allowed(full_uri))
			ereport(ERROR,
					(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
					 errmsg("AWS_CONTAINER_CREDENTIALS_FULL_URI in the database server's environment names host %s, which is not allowed over http",
							url_host(full_uri)),
					 errdetail("Plain http is allowed to loopback addresses and to the ECS and EKS container credential addresses (169.254.170.2, 169.254.170.23, fd00:ec2::23) only; use https elsewhere.")));
		url = pstrdup(full_uri);
	}

	metadata_options(&mo);
	token = container_authorization_token();
	container_fetch(chain, url, token, &mo, out);
	if (token)
		pfree(token);
	set_refresh_time(out, oq_local_now_us());
}

static void
identity_from_imds(OqCredChain *chain, OqCredentials *out)
{
	char	   *endpoint = env_endpoint("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	char	   *mode = getenv_nonempty("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
	OqMetadataOptions mo;

	if (endpoint == NULL)
		endpoint = (mode && pg_strcasecmp(mode, "IPv6") == 0) ?
			DEFAULT_IMDS_ENDPOINT_IPV6 : DEFAULT_IMDS_ENDPOINT;
	metadata_options(&mo);
	oq_imds_fetch(&chain->http, endpoint, &mo, out);
	set_refresh_time(out, oq_local_now_us());
}

/* The chain, in the SDKs' order; the first source configured is used */
static void
fetch_server_identity(OqCredChain *chain, ResolveContext *rc, OqCredentials *out)
{
	const char *key_id = getenv_nonempty("AWS_ACCESS_KEY_ID");
	const char *secret = getenv_nonempty("AWS_SECRET_ACCESS_KEY");
	const char *token_file = getenv_nonempty("AWS_WEB_IDENTITY_TOKEN_FILE");
	const char *relative_uri = getenv_nonempty("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full_uri = getenv_nonempty("AWS_CONTAINER_CREDENTIALS_FULL_URI");

	if (key_id || secret)
	{
		rc->step = STEP_ENVIRONMENT;
		identity_from_environment_keys(key_id, secret, out);
	}
	else if (token_file)
	{
		rc->step = STEP_WEB_IDENTITY;
		identity_from_web_identity(chain, token_file, out);
	}
	else if (relative_uri || full_uri)
	{
		rc->step = relative_uri ? STEP_CONTAINER_RELATIVE : STEP_CONTAINER_FULL;
		identity_from_container(chain, relative_uri, full_uri, out);
	}
	else if (getenv_true("AWS_EC2_METADATA_DISABLED"))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
				 errmsg("no AWS credentials found in the database server's environment"),
				 errdetail("None of AWS_ACCESS_KEY_ID, AWS_WEB_IDENTITY_TOKEN_FILE, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI is set, and AWS_EC2_METADATA_DISABLED turns the EC2 instance metadata service off.")));
	else
	{
		rc->step = STEP_IMDS;
		identity_from_imds(chain, out);
	}
	rc->step = STEP_NONE;
}

/*
 * The server's identity, from the backend's cache, fetched first when it
 * is not there yet or due for a refresh.  The result stays valid until the
 * next call.
 */
static const OqCredentials *
server_identity(OqCredChain *chain, ResolveContext *rc)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	MemoryContext cxt;
	OqCredentials fresh;

	if (!need_refresh(&identity, oq_local_now_us()))
		return &identity;

	cxt = AllocSetContextCreate(TopMemoryContext, "oq_fdw server identity",
								ALLOCSET_SMALL_SIZES);
	memset(&fresh, 0, sizeof(fresh));
	PG_TRY();
	{
		MemoryContextSwitchTo(cxt);
		fetch_server_identity(chain, rc, &fresh);
		own_source(&fresh);
		fresh.resolved = true;
		MemoryContextSwitchTo(oldcxt);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();

	oq_cred_wipe(&identity);
	if (identity_cxt)
		MemoryContextDelete(identity_cxt);
	identity = fresh;
	identity_cxt = cxt;

	if (identity.expires_at_us)
		elog(DEBUG1, "server identity from %s, expires at %s, refresh at %s",
			 source_text(&identity), format_time(identity.expires_at_us),
			 format_time(identity.refresh_at_us));
	else
		elog(DEBUG1, "server identity from %s", source_text(&identity));
	return &identity;
}

/* ---------- per connection ---------- */

static void
check_may_use_server_identity(OqCredChain *chain)
{
	if (!superuser_arg(chain->userid))
	{
		char	   *role = GetUserNameFromId(chain->userid, true);

		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("user mapping for server \"%s\" may not use the server's environment",
						chain->server_name),
				 errdetail("Role \"%s\" is not a superuser, and only superusers may use the database server's own identity.",
						   role ? role : "?"),
				 errhint("Give this role a user mapping of its own with \"access_key_id\" and \"secret_access_key\".")));
	}
}

void
oq_cred_check_use(OqCredChain *chain)
{
	const OqUserOptions *uo = chain->user_opts;

	if (uo->access_key_id == NULL && uo->use_server_environment)
		check_may_use_server_identity(chain);
}

/* The STS endpoint and signing region for a server's assume_role_arn */
static void
assume_role_endpoint(OqCredChain *chain, OqStsRequest *sts)
{
	const OqServerOptions *o = chain->opts;

	sts->region = o->region;
	if (o->sts_endpoint)
		sts->endpoint = o->sts_endpoint;
	else if ((sts->endpoint = env_sts_endpoint()) == NULL)
		sts->endpoint = aws_sts_endpoint(o->region, &sts->region);
}

/* Resolve what chain signs with into 'out', in CurrentMemoryContext */
static void
resolve(OqCredChain *chain, ResolveContext *rc, OqCredentials *out)
{
	const OqUserOptions *uo = chain->user_opts;
	const OqServerOptions *o = chain->opts;
	OqCredentials mapping_keys;
	const OqCredentials *base;

	memset(&mapping_keys, 0, sizeof(mapping_keys));
	if (uo->access_key_id)
	{
		mapping_keys.access_key_id = uo->access_key_id;
		mapping_keys.secret_access_key = uo->secret_access_key;
		mapping_keys.session_token = uo->session_token;
		mapping_keys.source = OQ_CRED_USER_MAPPING;
		base = &mapping_keys;
	}
	else
	{
		Assert(uo->use_server_environment);
		check_may_use_server_identity(chain);
		base = server_identity(chain, rc);
	}

	if (o->assume_role_arn)
	{
		OqStsRequest sts;

		memset(&sts, 0, sizeof(sts));
		assume_role_endpoint(chain, &sts);
		sts.role_arn = o->assume_role_arn;
		sts.session_name = o->role_session_name ? o->role_session_name : "oq_fdw";
		sts.external_id = o->external_id;
		sts.base = base;
		rc->step = STEP_ASSUME_ROLE;
		rc->role = o->assume_role_arn;
		rc->base = base;
		oq_sts_assume_role(&chain->http, &sts, out);
		set_refresh_time(out, oq_local_now_us());
		rc->step = STEP_NONE;
	}
	else
		copy_credentials(out, base);
}

void
oq_cred_init(OqCredChain *chain, const char *server_name, Oid userid, Oid umid,
			 const OqServerOptions *opts, const OqUserOptions *user_opts,
			 const OqHttpSettings *http, MemoryContext cxt)
{
	const OqUserOptions *uo = user_opts;
	const OqServerOptions *o = opts;
	OqCredentials *creds = &chain->creds;
	MemoryContext oldcxt;

	memset(chain, 0, sizeof(*chain));
	chain->server_name = server_name;
	chain->userid = userid;
	chain->umid = umid;
	chain->opts = opts;
	chain->user_opts = user_opts;
	chain->cxt = cxt;
	chain->creds_cxt = AllocSetContextCreate(cxt, "oq_fdw credentials",
											 ALLOCSET_SMALL_SIZES);

	/*
	 * The credential services' requests go through a pool of their own: a
	 * refresh may then run whenever S3 requests wait to start, whatever the
	 * S3 pool's multi handle is doing.
	 */
	oq_http_pool_init(&chain->http, http, 1, 0, cxt);

	if (uo->access_key_id || uo->secret_access_key)
	{
		if (!uo->access_key_id || !uo->secret_access_key)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
					 errmsg("user mapping for server \"%s\" needs both \"access_key_id\" and \"secret_access_key\"",
							chain->server_name),
					 errhint("Add the missing option with ALTER USER MAPPING.")));
	}
	else if (uo->use_server_environment)
		check_may_use_server_identity(chain);
	else if (o->assume_role_arn && !OidIsValid(chain->umid))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("server \"%s\" assumes role \"%s\", but there is no user mapping with credentials to ask AWS STS with",
						chain->server_name, o->assume_role_arn),
				 errhint("Create a user mapping for server \"%s\" with \"access_key_id\" and \"secret_access_key\".",
						 chain->server_name)));
	else if (o->assume_role_arn)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("server \"%s\" assumes role \"%s\", but the user mapping has no credentials to ask AWS STS with",
						chain->server_name, o->assume_role_arn),
				 errhint("Give the user mapping \"access_key_id\" and \"secret_access_key\" (or, for a superuser, \"use_server_environment\" 'true').")));
	else
	{
		creds->source = OQ_CRED_UNSIGNED;
		creds->resolved = true;
		return;
	}

	/* a user mapping's own keys are ready now; everything else is fetched */
	if (uo->access_key_id && !o->assume_role_arn)
	{
		oldcxt = MemoryContextSwitchTo(chain->creds_cxt);
		creds->access_key_id = pstrdup(uo->access_key_id);
		creds->secret_access_key = pstrdup(uo->secret_access_key);
		if (uo->session_token)
			creds->session_token = pstrdup(uo->session_token);
		MemoryContextSwitchTo(oldcxt);
		creds->source = OQ_CRED_USER_MAPPING;
		creds->resolved = true;
	}
}

const OqCredentials *
oq_cred_current(OqCredChain *chain)
{
	/* every use of the server's identity is checked, not only the first */
	oq_cred_check_use(chain);
	if (need_refresh(&chain->creds, oq_local_now_us()))
		oq_cred_refresh(chain);
	return &chain->creds;
}

void
oq_cred_refresh(OqCredChain *chain)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	MemoryContext cxt;
	OqCredentials fresh;
	ResolveContext rc;
	ErrorContextCallback errcallback;

	cxt = AllocSetContextCreate(chain->cxt, "oq_fdw credentials", ALLOCSET_SMALL_SIZES);
	memset(&fresh, 0, sizeof(fresh));
	memset(&rc, 0, sizeof(rc));
	rc.server_name = chain->server_name;
	errcallback.callback = resolve_error_context;
	errcallback.arg = &rc;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;
	PG_TRY();
	{
		MemoryContextSwitchTo(cxt);
		resolve(chain, &rc, &fresh);
		own_source(&fresh);
		fresh.resolved = true;
		MemoryContextSwitchTo(oldcxt);
	}
	PG_CATCH();
	{
		error_context_stack = errcallback.previous;
		MemoryContextSwitchTo(oldcxt);
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	error_context_stack = errcallback.previous;

	/* the old credentials are replaced: wipe them */
	oq_cred_wipe(&chain->creds);
	if (chain->creds_cxt)
		MemoryContextDelete(chain->creds_cxt);
	chain->creds = fresh;
	chain->creds_cxt = cxt;

	if (fresh.expires_at_us)
		elog(DEBUG1, "credentials for server \"%s\" from %s, expire at %s, refresh at %s",
			 chain->server_name, source_text(&fresh), format_time(fresh.expires_at_us),
			 format_time(fresh.refresh_at_us));
	else
		elog(DEBUG1, "credentials for server \"%s\" from %s",
			 chain->server_name, source_text(&fresh));
}

void
oq_cred_release(OqCredChain *chain)
{
	oq_cred_wipe(&chain->creds);
	memset(&chain->creds, 0, sizeof(chain->creds));
	if (chain->creds_cxt)
		MemoryContextDelete(chain->creds_cxt);
	chain->creds_cxt = NULL;
	oq_http_pool_release(&chain->http);
}
