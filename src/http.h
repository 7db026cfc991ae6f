/*-------------------------------------------------------------------------
 *
 * http.h
 *		The libcurl driver: batches of concurrent requests on a connection's
 *		multi handle, with retries, timeouts, size caps and interruptible
 *		waits.  S3 specifics (URLs, signing, error bodies) are s3client's.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_HTTP_H
#define OQ_HTTP_H

#include "lib/ilist.h"
#include "utils/resowner.h"

#include "connection.h"

typedef enum OqOp
{
	OQ_OP_GET,
	OQ_OP_PUT,
	OQ_OP_DELETE,
	OQ_OP_HEAD,
	OQ_OP_LIST,
	OQ_OP_CREDENTIALS,			/* STS, instance metadata, container endpoint */
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

	/* driver state */
	OqRequestState state;
	CURL	   *easy;
	struct curl_slist *headers;
	size_t		response_cap;
	int64		not_before_us;	/* backoff: do not start before this */
	char		errbuf[CURL_ERROR_SIZE];
} OqRequest;

typedef struct OqBatch
{
	dlist_node	node;			/* in the list of live batches */
	OqConnection *conn;
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

	/*
	 * Refresh the connection's credentials before starting requests (they
	 * sign with them).  Off for the batches that fetch those credentials.
	 */
	bool		refresh_credentials;
} OqBatch;

extern OqBatch *oq_batch_create(OqConnection *conn, int max_inflight);

/* Frees every request of the batch too, also those handed out */
extern void oq_batch_destroy(OqBatch *batch);

/* A new request in its own memory context; the caller fills "what to send" */
extern OqRequest *oq_request_create(OqBatch *batch, OqOp op, const char *method);
extern void oq_request_free(OqRequest *req);

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
