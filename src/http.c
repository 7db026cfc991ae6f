/*-------------------------------------------------------------------------
 *
 * http.c
 *		The libcurl driver: many requests in flight on one multi handle, with
 *		retries and interruptible waits, and nothing that can longjmp
 *		through libcurl.
 *
 * A batch is the set of requests one caller (a scan, a function call)
 * waits on.  Batches of the same pool share its multi handle and so its
 * kept-alive connections; a request that finishes while another batch is
 * waiting is simply parked on its own batch's done list.  Who owns a pool
 * (an S3 connection, a credential chain) is no concern of this file: what
 * the owner must decide comes in through the batch's hooks (http.h).
 *
 * Waits are at most 100 ms long and each is followed by
 * CHECK_FOR_INTERRUPTS(), so a cancel or statement_timeout ends even a
 * stalled transfer promptly; the signal itself also cuts poll() short.
 * libcurl callbacks never ereport: they record what went wrong (a body
 * over the size cap, no memory) and return, and the problem is reported
 * after curl returns.  Batches are tied to the resource owner that was
 * current when they were created, so an error anywhere releases their
 * handles and memory (see oq_release_callback).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/pg_prng.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/pmsignal.h"
#include "utils/memutils.h"

#include "clock.h"
#include "http.h"
#include "stats.h"

/* Longest single wait before checking for interrupts again */
#define OQ_MAX_WAIT_MS			100
/* Backoff before retry n is random in [0, min(CAP, BASE * 2^(n-1))] */
#define OQ_BACKOFF_BASE_US		(100 * INT64CONST(1000))
#define OQ_BACKOFF_CAP_US		(10 * INT64CONST(1000000))
/* A retry needs at least this much time left before the request's deadline */
#define OQ_MIN_ATTEMPT_US		(100 * INT64CONST(1000))

static MemoryContext http_cxt = NULL;
static dlist_head live_batches = DLIST_STATIC_INIT(live_batches);

static const OqStat op_stat[OQ_NUM_OPS] = {
	[OQ_OP_GET] = OQ_STAT_REQUESTS_GET,
	[OQ_OP_PUT] = OQ_STAT_REQUESTS_PUT,
	[OQ_OP_DELETE] = OQ_STAT_REQUESTS_DELETE,
	[OQ_OP_HEAD] = OQ_STAT_REQUESTS_HEAD,
	[OQ_OP_LIST] = OQ_STAT_REQUESTS_LIST,
	[OQ_OP_CREDENTIALS] = OQ_STAT_REQUESTS_CREDENTIALS,
};

/*
 * Transaction or subtransaction abort (or a leak at commit): release the
 * batches of the resource owner going away.  Their memory lives under
 * TopMemoryContext, so it is still valid whatever else abort has freed.
 */
static void
oq_release_callback(ResourceReleasePhase phase, bool isCommit,
					bool isTopLevel, void *arg)
{
	dlist_mutable_iter iter;

	if (phase != RESOURCE_RELEASE_BEFORE_LOCKS)
		return;

	dlist_foreach_modify(iter, &live_batches)
	{
		OqBatch    *batch = dlist_container(OqBatch, node, iter.cur);

		if (batch->owner != CurrentResourceOwner)
			continue;
		if (isCommit)
			elog(WARNING, "request batch was not closed before commit");
		oq_batch_destroy(batch);
	}
}

void
oq_http_init(void)
{
	RegisterResourceReleaseCallback(oq_release_callback, NULL);
}

void
oq_http_pool_init(OqHttpPool *pool, const OqHttpSettings *settings,
				  int maxidle, long max_connections, MemoryContext cxt)
{
	memset(pool, 0, sizeof(*pool));
	pool->settings = *settings;
	if (settings->ca_file)
		pool->settings.ca_file = MemoryContextStrdup(cxt, settings->ca_file);
	pool->max_connections = max_connections;
	pool->maxidle = Max(maxidle, 1);
	pool->idle_easy = MemoryContextAllocZero(cxt, sizeof(CURL *) * pool->maxidle);
}

/* The multi handle, made on first use: a pool that never sends costs nothing */
static void
pool_start(OqHttpPool *pool)
{
	static bool curl_ready = false;

	if (pool->multi)
		return;
	if (!curl_ready)
	{
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("could not initialize libcurl")));
		curl_ready = true;
	}
	pool->multi = curl_multi_init();
	if (pool->multi == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OUT_OF_MEMORY),
				 errmsg("could not create a libcurl multi handle")));
	if (pool->max_connections > 0)
		curl_multi_setopt(pool->multi, CURLMOPT_MAXCONNECTS, pool->max_connections);
}

void
oq_http_pool_release(OqHttpPool *pool)
{
	Assert(pool->nbatches == 0);
	for (int i = 0; i < pool->nidle; i++)
		curl_easy_cleanup(pool->idle_easy[i]);
	pool->nidle = 0;
	pool->maxidle = 0;			/* handles still out are cleaned up on return */
	if (pool->multi)
		curl_multi_cleanup(pool->multi);
	pool->multi = NULL;
}

static CURL *
pool_take_easy(OqHttpPool *pool)
{
	CURL	   *easy;

	if (pool->nidle > 0)
		return pool->idle_easy[--pool->nidle];

	easy = curl_easy_init();
	if (easy == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OUT_OF_MEMORY),
				 errmsg("could not create a libcurl handle")));
	return easy;
}

static void
pool_return_easy(OqHttpPool *pool, CURL *easy)
{
	if (pool->nidle < pool->maxidle)
	{
		curl_easy_reset(easy);
		pool->idle_easy[pool->nidle++] = easy;
	}
	else
		curl_easy_cleanup(easy);
}

OqBatch *
oq_batch_create(OqHttpPool *pool, int max_inflight, const OqBatchHooks *hooks,
				void *hooks_arg)
{
	OqBatch    *batch;

	if (http_cxt == NULL)
		http_cxt = AllocSetContextCreate(TopMemoryContext, "oq_fdw requests",
										 ALLOCSET_DEFAULT_SIZES);

	pool_start(pool);
	batch = MemoryContextAllocZero(http_cxt, sizeof(OqBatch));
	batch->pool = pool;
	batch->hooks = hooks;
	batch->hooks_arg = hooks_arg;
	batch->owner = CurrentResourceOwner;
	batch->max_inflight = Max(max_inflight, 1);
	dlist_init(&batch->queued);
	dlist_init(&batch->inflight);
	dlist_init(&batch->done);
	dlist_init(&batch->returned);
	dlist_push_tail(&live_batches, &batch->node);
	pool->nbatches++;
	return batch;
}

static void
release_transfer(OqRequest *req)
{
	OqHttpPool *pool = req->batch->pool;

	if (req->easy)
	{
		curl_multi_remove_handle(pool->multi, req->easy);
		pool_return_easy(pool, req->easy);
		req->easy = NULL;
	}
	if (req->headers)
	{
		curl_slist_free_all(req->headers);
		req->headers = NULL;
	}
}

void
oq_request_secret(OqRequest *req, char *s)
{
	req->wipe = true;
	if (s == NULL)
		return;
	Assert(req->nsecrets < lengthof(req->secrets));
	req->secrets[req->nsecrets++] = s;
}

static void
wipe_request(OqRequest *req)
{
	if (req->body)
		explicit_bzero(req->body, req->body_len);
	if (req->response_cap > 0)
		explicit_bzero(req->response, req->response_cap);
	for (int i = 0; i < req->nsecrets; i++)
		explicit_bzero(req->secrets[i], strlen(req->secrets[i]));
}

void
oq_request_free(OqRequest *req)
{
	OqBatch    *batch = req->batch;

	switch (req->state)
	{
		case OQ_REQ_QUEUED:
			dlist_delete(&req->node);
			batch->nqueued--;
			break;
		case OQ_REQ_INFLIGHT:
			dlist_delete(&req->node);
			batch->ninflight--;
			release_transfer(req);
			break;
		case OQ_REQ_DONE:
			dlist_delete(&req->node);
			batch->ndone--;
			break;
		case OQ_REQ_RETURNED:
			dlist_delete(&req->node);
			break;
		case OQ_REQ_NEW:
			break;
	}
	if (req->wipe)
		wipe_request(req);
	MemoryContextDelete(req->cxt);
}

static void
free_request_list(dlist_head *list)
{
	dlist_mutable_iter iter;

	dlist_foreach_modify(iter, list)
		oq_request_free(dlist_container(OqRequest, node, iter.cur));
}

void
oq_batch_destroy(OqBatch *batch)
{
	free_request_list(&batch->inflight);
	free_request_list(&batch->queued);
	free_request_list(&batch->done);
	free_request_list(&batch->returned);
	dlist_delete(&batch->node);
	batch->pool->nbatches--;
	/* last: the owner may free the pool when it lets go */
	if (batch->hooks && batch->hooks->release)
		batch->hooks->release(batch->hooks_arg);
	pfree(batch);
}

OqRequest *
oq_request_create(OqBatch *batch, OqOp op, const char *method)
{
	MemoryContext cxt;
	OqRequest  *req;

	cxt = AllocSetContextCreate(http_cxt, "oq_fdw request", ALLOCSET_SMALL_SIZES);
	req = MemoryContextAllocZero(cxt, sizeof(OqRequest));
	req->cxt = cxt;
	req->batch = batch;
	req->op = op;
	req->method = method;
	req->retry_unknown_outcome = true;
	req->max_response = OQ_MAX_RESPONSE_BYTES;
	req->max_retries = -1;
	req->response = "";
	req->content_length = -1;
	req->state = OQ_REQ_NEW;
	return req;
}

void
oq_batch_submit(OqBatch *batch, OqRequest *req)
{
	Assert(req->batch == batch && req->state == OQ_REQ_NEW);
	req->state = OQ_REQ_QUEUED;
	dlist_push_tail(&batch->queued, &req->node);
	batch->nqueued++;
}

void
oq_request_defer(OqRequest *req, int64 delay_us)
{
	Assert(req->state == OQ_REQ_QUEUED);
	req->not_before_us = oq_local_now_us() + Max(delay_us, 0);
}

bool
oq_http_has_control_char(const char *s)
{
	for (; *s; s++)
		if ((unsigned char) *s < 0x20 || (unsigned char) *s == 0x7f)
			return true;
	return false;
}

void
oq_request_add_header(OqRequest *req, const char *fmt,...)
{
	StringInfoData buf;
	va_list		args;
	struct curl_slist *grown;
	bool		bad;

	initStringInfo(&buf);
	for (;;)
	{
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&buf, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}

	/* a NUL inside a value would cut the line short: count it as bad too */
	bad = oq_http_has_control_char(buf.data) || strlen(buf.data) != (size_t) buf.len;
	grown = bad ? NULL : curl_slist_append(req->headers, buf.data);
	if (bad)
	{
		/* name the header (the part before the colon), never the value */
		char		name[64];
		size_t		n = strcspn(buf.data, ":");

		n = Min(n, sizeof(name) - 1);
		memcpy(name, buf.data, n);
		name[n] = '\0';
		if (oq_http_has_control_char(name) || n == 0)
			strlcpy(name, "?", sizeof(name));
		explicit_bzero(buf.data, buf.len);
		pfree(buf.data);
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("could not send a request with header \"%s\"", name),
				 errdetail("The header's value holds a control character."),
				 req->key ? errcontext("request for object \"%s\"", req->key) : 0));
	}
	/* the line may carry a secret (a token, a signature): wipe our copy */
	explicit_bzero(buf.data, buf.len);
	pfree(buf.data);
	if (grown == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	req->headers = grown;
}

/*
 * libcurl callbacks: record, never ereport.
 */

/* A copy of len bytes in the request's context, or NULL without memory */
static char *
request_strndup(OqRequest *req, const char *s, size_t len)
{
	char	   *copy = MemoryContextAllocExtended(req->cxt, len + 1, MCXT_ALLOC_NO_OOM);

	if (copy)
	{
		memcpy(copy, s, len);
		copy[len] = '\0';
	}
	return copy;
}

static size_t
write_callback(char *data, size_t size, size_t nmemb, void *userdata)
{
	OqRequest  *req = (OqRequest *) userdata;
	size_t		n = size * nmemb;

	if (n > req->max_response - req->response_len)
	{
		req->too_large = true;
		return 0;				/* aborts the transfer */
	}
	if (req->response_len + n + 1 > req->response_cap)
	{
		size_t		cap = Max(req->response_cap * 2, req->response_len + n + 1);
		char	   *grown;

		cap = Max(cap, 8192);
		cap = Min(cap, req->max_response + 1);
		grown = MemoryContextAllocExtended(req->cxt, cap,
										   MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
		if (grown == NULL)
			return 0;
		memcpy(grown, req->response, req->response_len);
		if (req->response_cap > 0)
		{
			if (req->wipe)
				explicit_bzero(req->response, req->response_len);
			pfree(req->response);
		}
		req->response = grown;
		req->response_cap = cap;
	}
	memcpy(req->response + req->response_len, data, n);
	req->response_len += n;
	req->response[req->response_len] = '\0';
	return n;
}

static bool
header_is(const char *line, size_t len, const char *name, const char **value,
		  size_t *value_len)
{
	size_t		nlen = strlen(name);

	if (len <= nlen || line[nlen] != ':' || pg_strncasecmp(line, name, nlen) != 0)
		return false;
	line += nlen + 1;
	len -= nlen + 1;
	while (len > 0 && (*line == ' ' || *line == '\t'))
		line++, len--;
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n' ||
					   line[len - 1] == ' '))
		len--;
	*value = line;
	*value_len = len;
	return true;
}

static size_t
header_callback(char *line, size_t size, size_t nitems, void *userdata)
{
	OqRequest  *req = (OqRequest *) userdata;
	size_t		len = size * nitems;
	const char *v;
	size_t		vlen;

	/* A new status line starts a new response (after 100 Continue, say) */
	if (len >= 5 && strncmp(line, "HTTP/", 5) == 0)
	{
		req->etag = req->version_id = req->request_id = req->last_modified = NULL;
		req->date = 0;
		req->content_length = -1;
	}
	else if (header_is(line, len, "etag", &v, &vlen))
	{
		if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"')
			v++, vlen -= 2;
		req->etag = request_strndup(req, v, vlen);
	}
	else if (header_is(line, len, "x-amz-version-id", &v, &vlen))
		req->version_id = request_strndup(req, v, vlen);
	else if (header_is(line, len, "x-amz-request-id", &v, &vlen))
		req->request_id = request_strndup(req, v, vlen);
	else if (header_is(line, len, "last-modified", &v, &vlen))
		req->last_modified = request_strndup(req, v, vlen);
	else if (header_is(line, len, "date", &v, &vlen))
	{
		char	   *date = request_strndup(req, v, vlen);

		if (date)
		{
			time_t		t = curl_getdate(date, NULL);

			req->date = t > 0 ? (int64) t : 0;
		}
	}
	else if (header_is(line, len, "content-length", &v, &vlen))
	{
		char	   *cl = request_strndup(req, v, vlen);

		if (cl)
			req->content_length = strtoll(cl, NULL, 10);
	}
	return len;
}

/*
 * Starting and finishing attempts.
 */

static void
start_attempt(OqRequest *req)
{
	OqBatch    *batch = req->batch;
	OqHttpPool *pool = batch->pool;
	const OqHttpSettings *o = &pool->settings;
	CURL	   *easy;
	CURLMcode	mc;
	int64		now;
	int64		remaining_ms;
	int64		connect_ms;
	int64		timeout_ms;

	/* Forget what an earlier attempt received */
	if (req->response_cap > 0)
	{
		if (req->wipe)
			explicit_bzero(req->response, req->response_len);
		pfree(req->response);
	}
	req->response = "";
	req->response_len = req->response_cap = 0;
	req->status = 0;
	req->curl_code = CURLE_OK;
	req->curl_error = NULL;
	req->too_large = false;
	req->deadline_reached = false;
	req->errbuf[0] = '\0';

	/*
	 * The deadline runs from the first attempt's start (not from submission:
	 * a scan queues thousands of requests), and every attempt, retries
	 * included, ends by then.
	 */
	now = oq_local_now_us();
	if (req->first_start_us == 0)
	{
		req->first_start_us = now;
		req->deadline_us = now + (int64) o->request_deadline_ms * 1000;
	}
	remaining_ms = Max((req->deadline_us - now) / 1000, 1);
	connect_ms = req->connect_timeout_ms > 0 ? req->connect_timeout_ms : o->connect_timeout_ms;
	timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : o->request_timeout_ms;

	/* the header list grows on req->headers, where cleanup finds it */
	Assert(req->headers == NULL && req->easy == NULL);
	req->prepare(req);
	req->easy = easy = pool_take_easy(pool);

	curl_easy_setopt(easy, CURLOPT_URL, req->url);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, req);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	/* keys may hold "./" or "../": send the path exactly as signed */
	curl_easy_setopt(easy, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, req->headers);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
					 (long) Min(connect_ms, remaining_ms));
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long) Min(timeout_ms, remaining_ms));
	if (req->no_proxy)
		curl_easy_setopt(easy, CURLOPT_PROXY, "");
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, req->errbuf);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, write_callback);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, req);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, header_callback);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, req);
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
	if (o->ca_file)
		curl_easy_setopt(easy, CURLOPT_CAINFO, o->ca_file);

	/* GET and DELETE send no body; PUT and POST one (possibly empty) */
	if (strcmp(req->method, "HEAD") == 0)
		curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
	else if (strcmp(req->method, "GET") != 0)
	{
		if (strcmp(req->method, "POST") != 0)
			curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, req->method);
		if (strcmp(req->method, "DELETE") != 0)
		{
			curl_easy_setopt(easy, CURLOPT_POSTFIELDS, req->body ? req->body : "");
			curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
							 (curl_off_t) req->body_len);
		}
	}

	mc = curl_multi_add_handle(pool->multi, easy);
	if (mc != CURLM_OK)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("could not start an HTTP request: %s", curl_multi_strerror(mc))));

	req->attempts++;
	batch->requests[req->op]++;
	oq_stat_inc(op_stat[req->op]);
	oq_stat_add(OQ_STAT_BYTES_SENT, req->body_len);
}

/* Failures that are safe and worth trying again */
static bool
is_retryable(OqBatch *batch, OqRequest *req)
{
	CURLcode	code = (CURLcode) req->curl_code;

	if (req->too_large)
		return false;

	if (code != CURLE_OK)
	{
		switch (code)
		{
				/* nothing reached the server: always safe */
			case CURLE_COULDNT_RESOLVE_HOST:
			case CURLE_COULDNT_CONNECT:
				return true;
				/* the request may have been applied: only if idempotent */
			case CURLE_OPERATION_TIMEDOUT:
			case CURLE_SEND_ERROR:
			case CURLE_RECV_ERROR:
			case CURLE_GOT_NOTHING:
			case CURLE_PARTIAL_FILE:
			case CURLE_SSL_CONNECT_ERROR:
			case CURLE_HTTP2:
			case CURLE_HTTP2_STREAM:
				return req->retry_unknown_outcome;
			default:
				return false;
		}
	}

	switch (req->status)
	{
		case 500:
		case 502:
		case 503:				/* includes SlowDown */
		case 504:
			return req->retry_unknown_outcome;
		case 429:
			return true;
		default:
			/* the owner knows which of its service's errors are transient */
			return req->status >= 400 && req->status < 500 &&
				batch->hooks && batch->hooks->retryable &&
				batch->hooks->retryable(req, batch->hooks_arg);
	}
}

static int64
backoff_us(int attempt)
{
	int64		ceiling = OQ_BACKOFF_BASE_US << Min(attempt - 1, 20);

	ceiling = Min(ceiling, OQ_BACKOFF_CAP_US);
	return (int64) (pg_prng_double(&pg_global_prng_state) * ceiling);
}

/* The request is over: hand it to the batch's done list */
static void
finish_request(OqRequest *req, int64 now)
{
	OqBatch    *batch = req->batch;

	req->elapsed_us = req->first_start_us > 0 ? now - req->first_start_us : 0;
	req->state = OQ_REQ_DONE;
	dlist_push_tail(&batch->done, &req->node);
	batch->ndone++;
}

static void
finish_attempt(OqRequest *req, CURLcode code, int64 now)
{
	OqBatch    *batch = req->batch;

	curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &req->status);
	release_transfer(req);
	dlist_delete(&req->node);
	batch->ninflight--;

	req->curl_code = code;
	if (code != CURLE_OK)
	{
		req->status = 0;
		req->curl_error = MemoryContextStrdup(req->cxt, req->errbuf[0] ?
											  req->errbuf : curl_easy_strerror(code));
	}
	oq_stat_add(OQ_STAT_BYTES_RECEIVED, req->response_len);
	if (req->date > 0 && batch->hooks && batch->hooks->date_seen)
		batch->hooks->date_seen(batch->hooks_arg, req->date, now);
	if (req->status == 412 || req->status == 409)
	{
		oq_stat_inc(OQ_STAT_PRECONDITION_FAILED);
		batch->precondition_failed++;
	}

	if (is_retryable(batch, req) &&
		req->attempts <= (req->max_retries >= 0 ? req->max_retries :
						  batch->pool->settings.max_retries))
	{
		/*
		 * Retry only if a useful attempt still fits before the deadline; the
		 * backoff is cut so that the last attempt gets what time is left.
		 */
		int64		latest = req->deadline_us - OQ_MIN_ATTEMPT_US;

		if (now < latest)
		{
			req->not_before_us = Min(now + backoff_us(req->attempts), latest);
			req->state = OQ_REQ_QUEUED;
			dlist_push_tail(&batch->queued, &req->node);
			batch->nqueued++;
			batch->retries++;
			oq_stat_inc(OQ_STAT_RETRIES);
			return;
		}
		req->deadline_reached = true;
	}

	finish_request(req, now);
}

/* Start what the batch may start now; returns the earliest deferred start */
static int64
start_queued(OqBatch *batch, int64 now)
{
	dlist_mutable_iter iter;
	int64		next = PG_INT64_MAX;

	dlist_foreach_modify(iter, &batch->queued)
	{
		OqRequest  *req = dlist_container(OqRequest, node, iter.cur);

		if (batch->ninflight >= batch->max_inflight)
			break;
		if (req->not_before_us > now)
		{
			next = Min(next, req->not_before_us);
			continue;
		}

		/*
		 * A retry that waited for a slot until its deadline is not started:
		 * the request ends with its last attempt's outcome.
		 */
		if (req->attempts > 0 && now >= req->deadline_us)
		{
			dlist_delete(&req->node);
			batch->nqueued--;
			req->deadline_reached = true;
			finish_request(req, now);
			continue;
		}

		/*
		 * In flight before it starts: if signing, taking a handle or adding
		 * it throws, the request, its header list and its handle are on the
		 * list that oq_batch_destroy walks, and nothing is left behind.
		 */
		dlist_delete(&req->node);
		batch->nqueued--;
		req->state = OQ_REQ_INFLIGHT;
		dlist_push_tail(&batch->inflight, &req->node);
		batch->ninflight++;
		start_attempt(req);
	}
	return next;
}

/* Let libcurl move every transfer of the pool along */
static void
perform(OqHttpPool *pool)
{
	int			running;
	int			left;
	CURLMcode	mc;
	CURLMsg    *msg;
	int64		now;

	mc = curl_multi_perform(pool->multi, &running);
	if (mc != CURLM_OK)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("could not run HTTP transfers: %s", curl_multi_strerror(mc))));

	now = oq_local_now_us();
	while ((msg = curl_multi_info_read(pool->multi, &left)) != NULL)
	{
		OqRequest  *req;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &req);
		finish_attempt(req, msg->data.result, now);
	}
}

/*
 * What pg_stat_activity shows while a backend waits on a request:
 * wait_event_type Extension, and from PostgreSQL 17 on the event
 * OqS3Request (registered in shared memory on first use; named for the
 * S3 requests that are nearly all of them), so a DBA sees what the
 * backend waits for.
 */
static uint32
request_wait_event(void)
{
#if PG_VERSION_NUM >= 170000
	static uint32 wait_event = 0;

	if (wait_event == 0)
		wait_event = WaitEventExtensionNew("OqS3Request");
	return wait_event;
#else
	return PG_WAIT_EXTENSION;
#endif
}

/*
 * One round: start, perform, and wait a little unless what the caller waits
 * for (the request 'target', or any request of the batch) has finished.
 */
static void
batch_step(OqBatch *batch, OqRequest *target)
{
	OqHttpPool *pool = batch->pool;
	int64		now = oq_local_now_us();
	int64		next_start;
	long		timeout_ms = OQ_MAX_WAIT_MS;

	/* what the requests about to start sign with may need a refresh */
	if (batch->nqueued > 0 && batch->hooks && batch->hooks->before_start)
	{
		batch->hooks->before_start(batch->hooks_arg);
		now = oq_local_now_us();
	}

	next_start = start_queued(batch, now);
	perform(pool);
	next_start = Min(next_start, start_queued(batch, oq_local_now_us()));

	if (target ? target->state != OQ_REQ_DONE : batch->ndone == 0)
	{
		if (next_start != PG_INT64_MAX)
			timeout_ms = Min(timeout_ms, Max((next_start - now) / 1000, 1));

		if (batch->ninflight == 0)
		{
			/* only backoffs pending: sleep on the latch */
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 timeout_ms, request_wait_event());
			ResetLatch(MyLatch);
		}
		else
		{
			long		curl_ms;

			if (curl_multi_timeout(pool->multi, &curl_ms) == CURLM_OK && curl_ms >= 0)
				timeout_ms = Min(timeout_ms, curl_ms);
			if (timeout_ms > 0)
			{
				pgstat_report_wait_start(request_wait_event());
				curl_multi_poll(pool->multi, NULL, 0, (int) timeout_ms, NULL);
				pgstat_report_wait_end();
			}
			if (!PostmasterIsAlive())
				proc_exit(1);
		}
	}
	CHECK_FOR_INTERRUPTS();
}

OqRequest *
oq_batch_next(OqBatch *batch)
{
	for (;;)
	{
		if (!dlist_is_empty(&batch->done))
		{
			OqRequest  *req = dlist_container(OqRequest, node,
											  dlist_pop_head_node(&batch->done));

			batch->ndone--;
			req->state = OQ_REQ_RETURNED;
			dlist_push_tail(&batch->returned, &req->node);
			return req;
		}
		if (batch->ninflight == 0 && batch->nqueued == 0)
			return NULL;
		batch_step(batch, NULL);
	}
}

void
oq_batch_wait_for(OqBatch *batch, OqRequest *req)
{
	Assert(req->batch == batch && req->state != OQ_REQ_NEW);

	while (req->state != OQ_REQ_DONE && req->state != OQ_REQ_RETURNED)
		batch_step(batch, req);
	if (req->state == OQ_REQ_DONE)
	{
		dlist_delete(&req->node);
		batch->ndone--;
		req->state = OQ_REQ_RETURNED;
		dlist_push_tail(&batch->returned, &req->node);
	}
}

OqRequest *
oq_batch_run(OqBatch *batch, OqRequest *req)
{
	oq_batch_submit(batch, req);
	oq_batch_wait_for(batch, req);
	return req;
}

char *
oq_request_failure(const OqRequest *req)
{
	if (req->too_large)
		return psprintf("response larger than %zu bytes", req->max_response);
	if (req->curl_code != CURLE_OK)
		return pstrdup(req->curl_error ? req->curl_error :
					   curl_easy_strerror((CURLcode) req->curl_code));
	return psprintf("HTTP %ld", req->status);
}
