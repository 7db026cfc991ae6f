/*-------------------------------------------------------------------------
 *
 * s3client.c
 *		S3 operations: building URLs, signing each attempt with SigV4, and
 *		turning S3's answers into results or PostgreSQL errors.
 *
 * The signer (s3sign.c) is ours rather than libcurl's CURLOPT_AWS_SIGV4,
 * which in libcurl 7.88 signs the query string as given instead of in
 * canonical form: real S3 rejects such signatures for paginated listings.
 * Here the query string sent is the canonical one the signer signs, so
 * the two cannot disagree.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/memutils.h"

#include "s3client.h"
#include "s3sign.h"

/* What each attempt of a request needs to sign itself */
typedef struct OqS3Signing
{
	char	   *canonical_uri;
	OqQueryParam *query;
	int			nquery;
	char	   *payload_hash;
	const char *content_type;
	char	   *if_match;
	bool		if_none_match;
} OqS3Signing;

static const char *const op_names[OQ_NUM_OPS] = {
	[OQ_OP_GET] = "GET",
	[OQ_OP_PUT] = "PUT",
	[OQ_OP_DELETE] = "DELETE",
	[OQ_OP_HEAD] = "HEAD",
	[OQ_OP_LIST] = "LIST",
	[OQ_OP_CREDENTIALS] = "credentials",
};

/*
 * The request driver's questions about S3 batches (http.h), answered for
 * the connection a batch serves.
 */

/* Requests sign with the connection's credentials: refresh them first */
static void
s3_before_start(void *arg)
{
	OqConnection *conn = (OqConnection *) arg;

	(void) oq_cred_current(&conn->cred);
}

/* S3 answers 400 RequestTimeout for a stalled upload: worth another try */
static bool
s3_retryable(const OqRequest *req, void *arg)
{
	OqS3Error	err;

	return req->status == 400 &&
		oq_s3xml_parse_error(req->response, req->response_len, &err) &&
		err.code && strcmp(err.code, "RequestTimeout") == 0;
}

/* Every Date header of S3's answers tells the S3 server's clock */
static void
s3_date_seen(void *arg, int64 date_unix_s, int64 local_us)
{
	OqConnection *conn = (OqConnection *) arg;

	oq_clock_sample(&conn->clock, date_unix_s, local_us);
}

static void
s3_release(void *arg)
{
	oq_connection_unpin((OqConnection *) arg);
}

static const OqBatchHooks s3_hooks = {
	.before_start = s3_before_start,
	.retryable = s3_retryable,
	.date_seen = s3_date_seen,
	.release = s3_release,
};

OqBatch *
oq_s3_batch_create(OqConnection *conn, int max_inflight)
{
	OqBatch    *batch = oq_batch_create(&conn->http, max_inflight, &s3_hooks, conn);

	/* held until the batch goes (s3_release) */
	oq_connection_pin(conn);
	return batch;
}

OqConnection *
oq_s3_batch_connection(const OqBatch *batch)
{
	Assert(batch->hooks == &s3_hooks);
	return (OqConnection *) batch->hooks_arg;
}

/*
 * Build the headers of one attempt.  Signing happens per attempt so a
 * retry carries a fresh x-amz-date; the date follows the server's clock
 * when it is known, which keeps a skewed database host inside S3's
 * fifteen-minute window.
 *
 * The credentials are the connection's as they are: the batch's
 * before_start hook refreshed them before the driver started this attempt.
 */
static void
s3_prepare(OqRequest *req)
{
	OqS3Signing *sig = (OqS3Signing *) req->prepare_arg;
	OqConnection *conn = oq_s3_batch_connection(req->batch);
	const OqCredentials *creds = &conn->cred.creds;
	MemoryContext oldcxt = MemoryContextSwitchTo(req->cxt);
	char		amz_date[17];
	int64		now_us;

	if (!oq_clock_now_us(&conn->clock, &now_us))
		now_us = oq_local_now_us();
	oq_format_amz_date(now_us / 1000000, amz_date);

	oq_request_add_header(req, "Host: %s", conn->host_header);
	oq_request_add_header(req, "x-amz-content-sha256: %s", sig->payload_hash);
	oq_request_add_header(req, "x-amz-date: %s", amz_date);
	if (creds->session_token)
		oq_request_add_header(req, "x-amz-security-token: %s", creds->session_token);

	if (creds->access_key_id)
	{
		OqHeader	headers[4];
		int			nheaders = 0;
		OqSigV4Input in;
		OqSigV4Result out;

		headers[nheaders++] = (OqHeader) {"host", conn->host_header};
		headers[nheaders++] = (OqHeader) {"x-amz-content-sha256", sig->payload_hash};
		headers[nheaders++] = (OqHeader) {"x-amz-date", amz_date};
		if (creds->session_token)
			headers[nheaders++] = (OqHeader) {"x-amz-security-token", creds->session_token};

		memset(&in, 0, sizeof(in));
		in.method = req->method;
		in.canonical_uri = sig->canonical_uri;
		in.query = sig->query;
		in.nquery = sig->nquery;
		in.headers = headers;
		in.nheaders = nheaders;
		in.payload_hash = sig->payload_hash;
		in.amz_date = amz_date;
		in.region = conn->opts.region;
		in.service = "s3";
		in.access_key_id = creds->access_key_id;
		in.secret_access_key = creds->secret_access_key;
		in.key_cache = &conn->sigkey;
		oq_sigv4_sign(&in, &out);
		oq_request_add_header(req, "Authorization: %s", out.authorization);
	}

	if (sig->if_match)
		oq_request_add_header(req, "If-Match: %s", sig->if_match);
	if (sig->if_none_match)
		oq_request_add_header(req, "If-None-Match: *");
	if (req->op == OQ_OP_PUT)
	{
		oq_request_add_header(req, "Content-Type: %s",
							 sig->content_type ? sig->content_type : "application/octet-stream");
		/* no 100-continue round trip: our bodies are small */
		oq_request_add_header(req, "Expect:");
	}

	MemoryContextSwitchTo(oldcxt);
}

/*
 * A request for 'key' (NULL: the bucket itself) with query parameters.
 */
static OqRequest *
s3_request(OqBatch *batch, OqOp op, const char *method, const char *key,
		   const OqQueryParam *query, int nquery)
{
	OqConnection *conn = oq_s3_batch_connection(batch);
	OqRequest  *req = oq_request_create(batch, op, method);
	MemoryContext oldcxt = MemoryContextSwitchTo(req->cxt);
	OqS3Signing *sig = palloc0(sizeof(OqS3Signing));
	StringInfoData path;
	StringInfoData url;
	int			i;

	initStringInfo(&path);
	appendStringInfoString(&path, conn->base_path);
	if (key)
	{
		appendStringInfoChar(&path, '/');
		oq_uri_encode(&path, key, strlen(key), true);
		req->key = pstrdup(key);
	}
	else if (path.len == 0)
		appendStringInfoChar(&path, '/');
	sig->canonical_uri = path.data;

	sig->query = palloc(sizeof(OqQueryParam) * Max(nquery, 1));
	for (i = 0; i < nquery; i++)
	{
		sig->query[i].name = pstrdup(query[i].name);
		sig->query[i].value = pstrdup(query[i].value);
	}
	sig->nquery = nquery;
	sig->payload_hash = OQ_EMPTY_SHA256_HEX;

	initStringInfo(&url);
	appendStringInfo(&url, "%s%s", conn->origin, path.data);
	if (nquery > 0)
		appendStringInfo(&url, "?%s", oq_sigv4_canonical_query(sig->query, nquery));
	req->url = url.data;
	req->prepare = s3_prepare;
	req->prepare_arg = sig;

	MemoryContextSwitchTo(oldcxt);
	return req;
}

OqRequest *
oq_s3_get(OqBatch *batch, const char *key)
{
	OqRequest  *req = s3_request(batch, OQ_OP_GET, "GET", key, NULL, 0);

	oq_batch_submit(batch, req);
	return req;
}

OqRequest *
oq_s3_get_version(OqBatch *batch, const char *key, const char *version_id)
{
	OqQueryParam query[1] = {{"versionId", version_id}};
	OqRequest  *req = s3_request(batch, OQ_OP_GET, "GET", key, query, 1);

	oq_batch_submit(batch, req);
	return req;
}

OqRequest *
oq_s3_head(OqBatch *batch, const char *key)
{
	OqRequest  *req = s3_request(batch, OQ_OP_HEAD, "HEAD", key, NULL, 0);

	oq_batch_submit(batch, req);
	return req;
}

OqRequest *
oq_s3_head_bucket(OqBatch *batch)
{
	OqRequest  *req = s3_request(batch, OQ_OP_HEAD, "HEAD", NULL, NULL, 0);

	oq_batch_submit(batch, req);
	return req;
}

OqRequest *
oq_s3_delete(OqBatch *batch, const char *key)
{
	OqRequest  *req = s3_request(batch, OQ_OP_DELETE, "DELETE", key, NULL, 0);

	oq_batch_submit(batch, req);
	return req;
}

OqRequest *
oq_s3_put(OqBatch *batch, const char *key, const char *body, size_t len,
		  const char *content_type, const char *if_match, bool if_none_match)
{
	OqRequest  *req = s3_request(batch, OQ_OP_PUT, "PUT", key, NULL, 0);
	OqS3Signing *sig = (OqS3Signing *) req->prepare_arg;
	MemoryContext oldcxt = MemoryContextSwitchTo(req->cxt);

	req->body = palloc(len + 1);
	memcpy(req->body, body, len);
	req->body[len] = '\0';
	req->body_len = len;
	sig->payload_hash = palloc(65);
	oq_sha256_hex(body, len, sig->payload_hash);
	sig->content_type = content_type;
	if (if_match)
		sig->if_match = pstrdup(if_match);
	sig->if_none_match = if_none_match;
	req->retry_unknown_outcome = (if_match == NULL && !if_none_match);

	MemoryContextSwitchTo(oldcxt);
	oq_batch_submit(batch, req);
	return req;
}

/* Add a query parameter unless its value is NULL (or empty, for prefix) */
static int
add_param(OqQueryParam *query, int n, const char *name, const char *value)
{
	if (value == NULL || (strcmp(name, "prefix") == 0 && *value == '\0'))
		return n;
	query[n].name = name;
	query[n].value = value;
	return n + 1;
}

/* A listing of the bucket (ListObjectsV2 or ListObjectVersions) */
static OqRequest *
submit_listing(OqBatch *batch, OqQueryParam *query, int n, int max_keys)
{
	char		max_keys_str[16];
	OqRequest  *req;

	n = add_param(query, n, "encoding-type", "url");
	if (max_keys > 0)
	{
		snprintf(max_keys_str, sizeof(max_keys_str), "%d", max_keys);
		n = add_param(query, n, "max-keys", max_keys_str);
	}
	req = s3_request(batch, OQ_OP_LIST, "GET", NULL, query, n);
	oq_batch_submit(batch, req);
	return req;
}

OqRequest *
oq_s3_list(OqBatch *batch, const char *prefix, const char *delimiter,
		   const char *start_after, const char *continuation_token, int max_keys)
{
	OqQueryParam query[7];
	int			n = 0;

	n = add_param(query, n, "list-type", "2");
	n = add_param(query, n, "prefix", prefix);
	n = add_param(query, n, "delimiter", delimiter);
	n = add_param(query, n, "start-after", start_after);
	n = add_param(query, n, "continuation-token", continuation_token);
	return submit_listing(batch, query, n, max_keys);
}

OqRequest *
oq_s3_list_versions(OqBatch *batch, const char *prefix, const char *key_marker,
					const char *version_id_marker, int max_keys)
{
	OqQueryParam query[6];
	int			n = 0;

	n = add_param(query, n, "versions", "");
	n = add_param(query, n, "prefix", prefix);
	n = add_param(query, n, "key-marker", key_marker);
	n = add_param(query, n, "version-id-marker", version_id_marker);
	return submit_listing(batch, query, n, max_keys);
}

OqRequest *
oq_s3_run(OqBatch *batch, OqRequest *req)
{
	oq_batch_wait_for(batch, req);
	return req;
}

static bool
error_code_is(const OqRequest *req, const char *code)
{
	OqS3Error	err;

	return oq_s3xml_parse_error(req->response, req->response_len, &err) &&
		err.code != NULL && strcmp(err.code, code) == 0;
}

bool
oq_s3_precondition_failed(const OqRequest *req)
{
	if (req->curl_code != 0)
		return false;
	return req->status == 412 ||
		(req->status == 409 && error_code_is(req, "ConditionalRequestConflict"));
}

bool
oq_s3_outcome_unknown(const OqRequest *req)
{
	if (req->curl_code != 0)
		return req->curl_code != CURLE_COULDNT_CONNECT &&
			req->curl_code != CURLE_COULDNT_RESOLVE_HOST;
	return req->status >= 500;
}

bool
oq_s3_put_stored(const OqRequest *put, const OqRequest *get)
{
	return oq_s3_ok(get) && get->response_len == put->body_len &&
		memcmp(get->response, put->body, put->body_len) == 0;
}

/*
 * Only a missing key means "no such object".  A 404 also answers a GET in
 * a bucket that does not exist (NoSuchBucket): that is a configuration
 * error to report, never an absent task.  A 404 without a code (HEAD has
 * no body; RGW may send none) is taken as a missing key.
 */
bool
oq_s3_not_found(const OqRequest *req)
{
	OqS3Error	err;

	if (req->curl_code != 0 || req->too_large || req->status != 404 ||
		req->key == NULL)
		return false;
	if (!oq_s3xml_parse_error(req->response, req->response_len, &err) ||
		err.code == NULL)
		return true;
	return strcmp(err.code, "NoSuchKey") == 0;
}

/*
 * NoSuchBucket, or a 404 without a code to a request on the bucket itself
 * (HeadBucket has no body to say so, a listing may have none)
 */
static bool
is_no_such_bucket(const OqRequest *req, const OqS3Error *err)
{
	if (req->curl_code != 0)
		return false;
	if (err->code)
		return strcmp(err->code, "NoSuchBucket") == 0;
	return req->status == 404 && req->key == NULL &&
		(req->op == OQ_OP_HEAD || req->op == OQ_OP_LIST);
}

/* The request reached a server that serves the bucket from another region */
static bool
is_wrong_region(const OqRequest *req, const OqS3Error *err)
{
	if (req->curl_code == 0 && req->status == 301)
		return true;			/* S3's answer to a HEAD in another region */
	return req->curl_code == 0 && err->code &&
		(strcmp(err->code, "PermanentRedirect") == 0 ||
		 strcmp(err->code, "AuthorizationHeaderMalformed") == 0 ||
		 strcmp(err->code, "IllegalLocationConstraintException") == 0);
}

/* The SQLSTATE for an S3 failure: the HV000 class, as the contract says */
static int
error_sqlstate(const OqRequest *req, const OqS3Error *err)
{
	if (req->too_large)
		return ERRCODE_PROGRAM_LIMIT_EXCEEDED;
	if (req->curl_code != 0)
		return ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION;
	if (is_no_such_bucket(req, err))
		return ERRCODE_FDW_TABLE_NOT_FOUND;
	if (is_wrong_region(req, err))
		return ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION;
	if (req->status == 401 || req->status == 403)
		return ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION;
	return ERRCODE_FDW_ERROR;
}

/* "HTTP 412 PreconditionFailed", "Couldn't connect to server", ... */
static char *
failure_summary(const OqRequest *req, const OqS3Error *err)
{
	if (req->too_large)
		return psprintf("response larger than %zu bytes", req->max_response);
	if (req->curl_code != 0)
		return pstrdup(curl_easy_strerror((CURLcode) req->curl_code));
	if (err->code)
		return psprintf("HTTP %ld %s", req->status, err->code);
	return psprintf("HTTP %ld", req->status);
}

/* The value of a query parameter a listing sent; NULL if it sent none */
static const char *
list_param(const OqRequest *req, const char *name)
{
	const OqS3Signing *sig;

	if (req->op != OQ_OP_LIST || req->prepare != s3_prepare)
		return NULL;
	sig = (const OqS3Signing *) req->prepare_arg;
	for (int i = 0; i < sig->nquery; i++)
	{
		if (strcmp(sig->query[i].name, name) == 0)
			return sig->query[i].value;
	}
	return NULL;
}

/* The prefix a listing asked for, to name it in messages; NULL if none */
static const char *
list_prefix(const OqRequest *req)
{
	return list_param(req, "prefix");
}

static bool
same_marker(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/*
 * A truncated page whose marker for the next page is the one this request
 * sent would be followed by the same page forever: a broken S3 server (or
 * something in between) must end the listing with an error, not keep the
 * backend asking -- and collecting the same keys -- until it is cancelled.
 */
static void
check_listing_advances(const OqRequest *req, bool same)
{
	OqConnection *conn = oq_s3_batch_connection(req->batch);

	if (!same)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_FDW_ERROR),
			 list_prefix(req) ?
			 errmsg("S3 listing of prefix \"%s\" in bucket \"%s\" does not advance",
					list_prefix(req), conn->opts.bucket) :
			 errmsg("S3 listing of bucket \"%s\" does not advance",
					conn->opts.bucket),
			 errdetail("The reply says there is more, and that the next page starts where this one did."),
			 errcontext("server \"%s\" at %s", conn->server_name,
						conn->opts.endpoint)));
}

/*
 * errdetail(): what varies (the network error, or S3's message, and S3's
 * request id), then, when S3 did not answer or was asked again, how many
 * attempts were made and how long they took in all: what a DBA needs to
 * tell a hung server from a slow one.  said is what libcurl or S3 said, a
 * sentence of theirs ("" if nothing); request_id may be NULL.
 */
static int
report_detail(const OqRequest *req, const char *said, const char *request_id)
{
	const char *sep = said[0] ? " " : "";
	int			n = req->attempts;
	double		seconds = req->elapsed_us / 1000000.0;
	int			deadline_ms = oq_s3_batch_connection(req->batch)->opts.request_deadline_ms;

	if (req->deadline_reached && request_id)
		return errdetail_plural("%s%sRequest id %s. %d attempt was made in %.1f s, until the request deadline (request_deadline_ms %d) left no time for another.",
								"%s%sRequest id %s. %d attempts were made in %.1f s, until the request deadline (request_deadline_ms %d) left no time for another.",
								n, said, sep, request_id, n, seconds, deadline_ms);
	if (req->deadline_reached)
		return errdetail_plural("%s%s%d attempt was made in %.1f s, until the request deadline (request_deadline_ms %d) left no time for another.",
								"%s%s%d attempts were made in %.1f s, until the request deadline (request_deadline_ms %d) left no time for another.",
								n, said, sep, n, seconds, deadline_ms);
	if ((req->curl_code != 0 || n > 1) && request_id)
		return errdetail_plural("%s%sRequest id %s. %d attempt was made in %.1f s.",
								"%s%sRequest id %s. %d attempts were made in %.1f s.",
								n, said, sep, request_id, n, seconds);
	if (req->curl_code != 0 || n > 1)
		return errdetail_plural("%s%s%d attempt was made in %.1f s.",
								"%s%s%d attempts were made in %.1f s.",
								n, said, sep, n, seconds);
	if (request_id)
		return errdetail("%s%sRequest id %s.", said, sep, request_id);
	if (said[0])
		return errdetail_internal("%s", said);
	return 0;
}

/*
 * errhint() for a certificate the endpoint's CA bundle does not vouch for,
 * or for a server that did not answer in time
 */
static int
tls_hint(const OqRequest *req)
{
	if (req->curl_code == CURLE_OPERATION_TIMEDOUT)
		return errhint("If the S3 server is slow rather than down, raise the server options request_timeout_ms (each attempt) and request_deadline_ms (all attempts).");
	if (req->curl_code != CURLE_PEER_FAILED_VERIFICATION)
		return 0;
	return errhint("If the endpoint's certificate is signed by a private CA, set the server option ca_file to that CA's bundle.");
}

/*
 * errhint() for a refused request: what to check, by where the credentials
 * came from and what S3 said of them
 */
static int
access_hint(const OqConnection *conn, const OqS3Error *err)
{
	const OqCredentials *creds = &conn->cred.creds;
	bool		mapping = creds->source == OQ_CRED_USER_MAPPING;

	if (creds->access_key_id == NULL && !OidIsValid(conn->umid))
		return errhint("Requests to server \"%s\" are unsigned because there is no user mapping for this user: create one with \"access_key_id\" and \"secret_access_key\".",
					   conn->server_name);
	if (creds->access_key_id == NULL)
		return errhint("Requests to server \"%s\" are unsigned: give its user mapping \"access_key_id\" and \"secret_access_key\".",
					   conn->server_name);
	if (err->code && strcmp(err->code, "AccessDenied") == 0)
		return errhint("Allow the credentials from %s to use bucket \"%s\" (in the IAM or bucket policy).",
					   oq_cred_source_text(creds->source, creds->source_url,
										   creds->source_role),
					   conn->opts.bucket);
	if (mapping && err->code && strcmp(err->code, "InvalidAccessKeyId") == 0)
		return errhint("Check the user mapping's access_key_id for server \"%s\".",
					   conn->server_name);
	if (mapping && err->code && strcmp(err->code, "SignatureDoesNotMatch") == 0)
		return errhint("Check the user mapping's secret_access_key for server \"%s\".",
					   conn->server_name);
	if (mapping)
		return errhint("Check the user mapping's access_key_id and secret_access_key for server \"%s\".",
					   conn->server_name);
	return errhint("The credentials for server \"%s\" came from %s.",
				   conn->server_name,
				   oq_cred_source_text(creds->source, creds->source_url,
									   creds->source_role));
}

void
oq_s3_report(const OqRequest *req, int elevel)
{
	OqConnection *conn = oq_s3_batch_connection(req->batch);
	const char *bucket = conn->opts.bucket;
	const char *what = op_names[req->op];
	OqS3Error	err;
	const char *said = "";
	const char *request_id = NULL;
	char	   *summary;

	memset(&err, 0, sizeof(err));
	if (req->curl_code == 0)
		(void) oq_s3xml_parse_error(req->response, req->response_len, &err);
	summary = failure_summary(req, &err);

	/* what libcurl or S3 said, as a sentence; S3's request id */
	if (req->curl_code != 0 && req->curl_error)
		said = psprintf("%s.", req->curl_error);
	else if (req->curl_code == 0 && err.message)
	{
		size_t		mlen = strlen(err.message);

		said = psprintf("%s%s", err.message,
						mlen > 0 && err.message[mlen - 1] == '.' ? "" : ".");
	}
	if (req->curl_code == 0)
		request_id = err.request_id ? err.request_id : req->request_id;

	if (is_no_such_bucket(req, &err))
		ereport(elevel,
				(errcode(ERRCODE_FDW_TABLE_NOT_FOUND),
				 errmsg("bucket \"%s\" does not exist", bucket),
				 report_detail(req, said, request_id),
				 errhint("Check the option bucket of server \"%s\".",
						 conn->server_name),
				 errcontext("S3 %s at %s (server \"%s\")", what,
							conn->opts.endpoint, conn->server_name)));
	else if (is_wrong_region(req, &err))
		ereport(elevel,
				(errcode(error_sqlstate(req, &err)),
				 errmsg("S3 says bucket \"%s\" is not in region \"%s\": %s",
						bucket, conn->opts.region, summary),
				 report_detail(req, said, request_id),
				 errhint("Set the option region of server \"%s\" to the bucket's region.",
						 conn->server_name),
				 errcontext("S3 %s at %s", what, conn->opts.endpoint)));
	else if (req->curl_code == 0 && (req->status == 401 || req->status == 403))
		ereport(elevel,
				(errcode(error_sqlstate(req, &err)),
				 errmsg("S3 refused access to bucket \"%s\": %s", bucket, summary),
				 report_detail(req, said, request_id),
				 access_hint(conn, &err),
				 req->key ?
				 errcontext("S3 %s of key \"%s\" at %s", what, req->key,
							conn->opts.endpoint) :
				 errcontext("S3 %s at %s", what, conn->opts.endpoint)));
	else if (req->key)
		ereport(elevel,
				(errcode(error_sqlstate(req, &err)),
				 errmsg("could not %s key \"%s\" in bucket \"%s\": %s", what,
						req->key, bucket, summary),
				 report_detail(req, said, request_id),
				 tls_hint(req),
				 errcontext("server \"%s\" at %s", conn->server_name,
							conn->opts.endpoint)));
	else if (list_prefix(req))
		ereport(elevel,
				(errcode(error_sqlstate(req, &err)),
				 errmsg("could not %s prefix \"%s\" in bucket \"%s\": %s", what,
						list_prefix(req), bucket, summary),
				 report_detail(req, said, request_id),
				 tls_hint(req),
				 errcontext("server \"%s\" at %s", conn->server_name,
							conn->opts.endpoint)));
	else
		ereport(elevel,
				(errcode(error_sqlstate(req, &err)),
				 errmsg("could not %s bucket \"%s\": %s", what, bucket, summary),
				 report_detail(req, said, request_id),
				 tls_hint(req),
				 errcontext("server \"%s\" at %s", conn->server_name,
							conn->opts.endpoint)));
}

void
oq_s3_report_head(const OqRequest *req, int elevel)
{
	if (req->op == OQ_OP_HEAD && req->curl_code == 0 && !req->too_large &&
		req->status >= 300)
	{
		OqRequest  *list = oq_s3_run(req->batch,
									 oq_s3_list(req->batch, NULL, NULL, NULL, NULL, 1));

		if (!oq_s3_ok(list))
			oq_s3_report(list, elevel);
		oq_request_free(list);
	}
	oq_s3_report(req, elevel);
}

void
oq_s3_parse_list(const OqRequest *req, OqS3ListPage *page)
{
	const char *bucket = oq_s3_batch_connection(req->batch)->opts.bucket;
	char	   *problem;

	if (!oq_s3xml_parse_list(req->response, req->response_len, true, page, &problem))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 list_prefix(req) ?
				 errmsg("could not parse the S3 listing of prefix \"%s\" in bucket \"%s\": %s",
						list_prefix(req), bucket, problem) :
				 errmsg("could not parse the S3 listing of bucket \"%s\": %s",
						bucket, problem)));
	check_listing_advances(req, page->is_truncated &&
						   same_marker(page->next_continuation_token,
									   list_param(req, "continuation-token")));
}

void
oq_s3_parse_versions(const OqRequest *req, OqS3VersionPage *page)
{
	const char *bucket = oq_s3_batch_connection(req->batch)->opts.bucket;
	char	   *problem;

	if (!oq_s3xml_parse_versions(req->response, req->response_len, true, page, &problem))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 list_prefix(req) ?
				 errmsg("could not parse the S3 version listing of prefix \"%s\" in bucket \"%s\": %s",
						list_prefix(req), bucket, problem) :
				 errmsg("could not parse the S3 version listing of bucket \"%s\": %s",
						bucket, problem)));
	check_listing_advances(req, page->is_truncated &&
						   same_marker(page->next_key_marker, list_param(req, "key-marker")) &&
						   (same_marker(page->next_version_id_marker,
										list_param(req, "version-id-marker")) ||
							(page->next_version_id_marker == NULL &&
							 list_param(req, "version-id-marker") == NULL)));
}

int64
oq_s3_server_now(OqBatch *batch)
{
	return oq_s3_server_now_at(batch, NULL);
}

int64
oq_s3_server_now_at(OqBatch *batch, const char *probe_key)
{
	OqConnection *conn = oq_s3_batch_connection(batch);
	int64		now;
	OqRequest  *req;

	if (oq_clock_now_us(&conn->clock, &now))
		return now;

	if (probe_key)
	{
		/*
		 * Only the Date matters: a 403 or 404 that carries one serves as
		 * well as a 200.  Any other answer (a redirect to another region, a
		 * 5xx after the retries, a refusal without a Date) is an error whose
		 * cause the caller must see.
		 */
		req = oq_s3_run(batch, oq_s3_head(batch, probe_key));
		if (req->curl_code != 0 ||
			(req->status != 200 && req->status != 403 && req->status != 404) ||
			(!oq_s3_ok(req) && !oq_clock_now_us(&conn->clock, &now)))
			oq_s3_report_head(req, ERROR);
	}
	else
	{
		req = oq_s3_run(batch, oq_s3_head_bucket(batch));
		if (!oq_s3_ok(req))
			oq_s3_report_head(req, ERROR);
	}
	oq_request_free(req);
	if (!oq_clock_now_us(&conn->clock, &now))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("S3 endpoint %s sent no Date header", conn->opts.endpoint),
				 errdetail("oq_fdw takes task timestamps from the S3 server's clock.")));
	return now;
}
