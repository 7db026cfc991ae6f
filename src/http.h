/*-------------------------------------------------------------------------
 *
 * http.h
 *		The libcurl driver: batches of concurrent requests on a pool (a
 *		multi handle and its kept-alive connections), with retries,
 *		timeouts, size caps and interruptible waits.
 *
 * It knows HTTP only.  What a request sends (URL, headers, signature) is
 * its caller's, through the prepare callback of each request; what a
 * batch's owner must decide (refresh what requests sign with, whether an
 * answer is worth retrying, what a Date header says) comes in as the
 * batch's hooks.  S3 specifics are s3client's, credentials the cred*
 * modules'.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_HTTP_H
#define OQ_HTTP_H

#include <curl/curl.h>

#include "lib/ilist.h"
#include "utils/resowner.h"

/* How a pool's requests are sent, unless a request overrides it */
typedef struct OqHttpSettings
{
	int			connect_timeout_ms; /* per attempt */
	int			request_timeout_ms; /* per attempt, transfer included */
	int			request_deadline_ms;	/* all attempts of a request */
	int			max_retries;
	char	   *ca_file;		/* NULL: the system's CA bundle */
} OqHttpSettings;

/*
 * A libcurl multi handle, whose pool keeps TCP/TLS connections alive
 * across requests, and the easy handles ready for reuse.  The owner
 * embeds it and must not release it while batches use it (nbatches).
 */
typedef struct OqHttpPool
{
	OqHttpSettings settings;
	CURLM	   *multi;			/* NULL until the first batch */
	long		max_connections;	/* kept alive by the multi handle; 0:
									 * libcurl's default */
	CURL	  **idle_easy;
	int			nidle;
	int			maxidle;
	int			nbatches;		/* batches using the pool now */
} OqHttpPool;

/*
 * Set up a pool (no network, no libcurl handle yet) in memory of cxt, which
 * must live as long as the pool; settings are copied.
 */
extern void oq_http_pool_init(OqHttpPool *pool, const OqHttpSettings *settings,
							  int maxidle, long max_connections,
							  MemoryContext cxt);

/* Close the pool's handles and connections; no batch may use it */
extern void oq_http_pool_release(OqHttpPool *pool);

/* Largest response body a request accepts unless it sets max_response */
#define OQ_MAX_RESPONSE_BYTES (64 * 1024 * 1024)

/* Kinds of requests, counted apart for EXPLAIN ANALYZE and the statistics */
typedef enum OqOp
{
	OQ_OP_GET,
	OQ_OP_PUT,
	OQ_OP_DELETE,
	OQ_OP_HEAD,
	OQ_OP_LIST,
	OQ_OP_CREDENTIALS,			/* to a credential service */
	OQ_NUM_OPS
} OqOp;

struct OqBatch;
struct OqRequest;

typedef enum OqRequestState
{
	OQ_REQ_NEW,					/* created, not submitted */
	OQ_REQ_QUEUED,				/* waiting for a slot or its retry time */
	OQ_REQ_INFLIGHT,
	OQ_REQ_DONE,				/* finished, not yet returned */
	OQ_REQ_RETURNED				/* handed to the caller (batch->returned) */
} OqRequestState;

/*
 * Builds the headers of one attempt (signing happens here) with
 * oq_request_add_header, onto req->headers, where cleanup finds them
 * whatever the callback throws.
 */
typedef void (*OqPrepareFn) (struct OqRequest *req);

/*
 * What the owner of a batch decides; any hook may be NULL.  They run in
 * the driver's loop, never inside a libcurl callback.
 */
typedef struct OqBatchHooks
{
	/*
	 * Before the batch's queued requests start (a refresh of the
	 * credentials they sign with, say).  May run requests of its own, on
	 * another pool.
	 */
	void		(*before_start) (void *arg);

	/*
	 * Whether a failed answer the driver would not retry (a 4xx) is a
	 * transient one worth retrying.
	 */
	bool		(*retryable) (const struct OqRequest *req, void *arg);

	/* An answer carried a Date header (Unix s), received at local_us */
	void		(*date_seen) (void *arg, int64 date_unix_s, int64 local_us);

	/* The batch is destroyed (after its requests): let go of arg */
	void		(*release) (void *arg);
} OqBatchHooks;

typedef struct OqRequest
{
	dlist_node	node;
	struct OqBatch *batch;
	MemoryContext cxt;			/* the request and everything it points to */

	/* what to send */
	OqOp		op;
	const char *method;
	char	   *key;			/* object key, for messages; NULL if none */
	char	   *url;
	char	   *body;			/* PUT or POST body (may be empty) */
	size_t		body_len;
	OqPrepareFn prepare;
	void	   *prepare_arg;	/* the prepare callback's data */
	bool		retry_unknown_outcome;	/* safe to resend after a 5xx? */
	size_t		max_response;
	/* overrides of the server's settings; 0 (-1 for retries): the server's */
	int			connect_timeout_ms;
	int			timeout_ms;
	int			max_retries;
	bool		no_proxy;		/* never through a proxy (link-local services) */
	bool		wipe;			/* body, response and secrets[] hold secrets */
	char	   *secrets[4];		/* strings to wipe when the request is freed */
	int			nsecrets;

	/* the caller's */
	void	   *arg;
	int64		tag;

	/* the outcome of the last attempt */
	long		status;			/* HTTP status; 0 on a transport failure */
	char	   *response;		/* body, NUL-terminated; never NULL */
	size_t		response_len;
	char	   *etag;			/* unquoted */
	char	   *version_id;
	char	   *request_id;
	char	   *last_modified;
	int64		date;			/* Date header, Unix seconds; 0 if none */
	int64		content_length; /* -1 if not sent */
	int			curl_code;		/* CURLE_OK unless the transfer failed */
	char	   *curl_error;
	bool		too_large;
	int			attempts;
	int64		elapsed_us;		/* from the first attempt's start to the end
								 * of the last (backoffs included) */
	bool		deadline_reached;	/* retries were cut short by
									 * request_deadline_ms */

	/* driver state */
	OqRequestState state;
	CURL	   *easy;
	struct curl_slist *headers;
	size_t		response_cap;
	int64		not_before_us;	/* backoff: do not start before this */
	int64		first_start_us; /* 0 until the first attempt starts */
	int64		deadline_us;	/* no attempt runs past this */
	char		errbuf[CURL_ERROR_SIZE];
} OqRequest;

typedef struct OqBatch
{
	dlist_node	node;			/* in the list of live batches */
	OqHttpPool *pool;
	const OqBatchHooks *hooks;	/* NULL: none */
	void	   *hooks_arg;
	ResourceOwner owner;
	int			max_inflight;
	int			ninflight;
	int			nqueued;
	int			ndone;
	dlist_head	queued;			/* not started, or waiting to retry */
	dlist_head	inflight;
	dlist_head	done;
	dlist_head	returned;		/* handed out, not yet freed: freed with the
								 * batch, so an error between a request's
								 * return and its oq_request_free leaks
								 * nothing */
	int64		requests[OQ_NUM_OPS];	/* attempts made, for EXPLAIN ANALYZE */
	int64		retries;
	int64		precondition_failed;	/* 412 and 409 answers */
} OqBatch;

/* A batch on pool; hooks (may be NULL) must outlive it */
extern OqBatch *oq_batch_create(OqHttpPool *pool, int max_inflight,
								const OqBatchHooks *hooks, void *hooks_arg);

/* Frees every request of the batch too, also those handed out */
extern void oq_batch_destroy(OqBatch *batch);

/* A new request in its own memory context; the caller fills "what to send" */
extern OqRequest *oq_request_create(OqBatch *batch, OqOp op, const char *method);
extern void oq_request_free(OqRequest *req);

/*
 * The request carries secrets (a token, a key, credentials in the answer):
 * when it is freed, however (an error destroying its batch too), wipe its
 * body, its response and the string s (NULL: none; at most four), which
 * must live in the request's memory context.
 */
extern void oq_request_secret(OqRequest *req, char *s);

/* Queue a request; it starts as soon as a slot is free */
extern void oq_batch_submit(OqBatch *batch, OqRequest *req);

/*
 * Hold a queued request back for delay_us from now: a caller's own backoff
 * (re-reading after a lost race) without blocking the rest of the batch.
 */
extern void oq_request_defer(OqRequest *req, int64 delay_us);

/*
 * The next finished request of the batch (after any retries), waiting for
 * one if need be; NULL when the batch has nothing queued or in flight.
 * Waits can be interrupted (cancel, statement_timeout).
 */
extern OqRequest *oq_batch_next(OqBatch *batch);

/* Wait until this request is finished; others stay in the done list */
extern void oq_batch_wait_for(OqBatch *batch, OqRequest *req);

/* Submit a new request and wait until it is finished */
extern OqRequest *oq_batch_run(OqBatch *batch, OqRequest *req);

/*
 * Why a finished request failed, in a few words and without its body:
 * "HTTP 500", "Couldn't connect to server", "response larger than N
 * bytes".  palloc'd.
 */
extern char *oq_request_failure(const OqRequest *req);

/* A 2xx answer with the whole body */
static inline bool
oq_request_ok(const OqRequest *req)
{
	return req->curl_code == 0 && !req->too_large &&
		req->status >= 200 && req->status < 300;
}

/* Requests queued or in flight, not yet returned */
static inline int
oq_batch_pending(OqBatch *batch)
{
	return batch->nqueued + batch->ninflight + batch->ndone;
}

/*
 * Append a header line built from a printf format to req->headers.  A line
 * with a control character (CR, LF, NUL, ...) is refused with an error
 * naming the header, never its value: no value from an option, an argument
 * or a response may add a header or a request of its own.  Check values
 * at their source too, for an error that says where they came from.
 */
extern void oq_request_add_header(OqRequest *req, const char *fmt,...) pg_attribute_printf(2, 3);

/* Whether s has a control character (what no header value may hold) */
extern bool oq_http_has_control_char(const char *s);

/* Called once from _PG_init */
extern void oq_http_init(void);

#endif							/* OQ_HTTP_H */
