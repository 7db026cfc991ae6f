/*-------------------------------------------------------------------------
 *
 * taskwrite.h
 *		Writing one task the way the queue's own producers do: submit a new
 *		task, or change the tags of a pending one with If-Match, keeping the
 *		tag index in step.
 *
 * A write is a small state machine on an OqBatch, driven by the requests
 * it submits, so that many writes can run on one batch at once (a bulk
 * INSERT or UPDATE keeps dozens in flight); oq_task_write_run() drives a
 * single one to its end.  Nothing in here calls back into the caller.
 *
 * The loop of a caller with many writes in flight:
 *
 *		while ((req = oq_batch_next(batch)) != NULL)
 *		{
 *			OqTaskWrite *w = oq_task_write_of(req);
 *
 *			oq_task_write_handle(w, req);
 *			if (oq_task_write_done(w))
 *			{
 *				oq_task_write_report(w);	-- ERROR unless it succeeded
 *				... use w->id, w->tags, w->etag ...
 *				oq_task_write_free(w);
 *				... begin the next write, if any ...
 *			}
 *		}
 *
 * A write may also end inside its begin function (nothing to change, an
 * error found at once): check oq_task_write_done() after beginning.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_TASKWRITE_H
#define OQ_TASKWRITE_H

#include "keys.h"
#include "s3client.h"
#include "tags.h"

/* Conditional PUTs of one task before a persistent conflict is an error */
#define OQ_WRITE_MAX_ATTEMPTS	5

/* The bucket format's defaults, as the queue's producers write them */
#define OQ_DEFAULT_TIMEOUT_SECONDS	300
#define OQ_DEFAULT_MAX_RETRIES		3

/* A new task; oq_submit_spec_init() sets the defaults */
typedef struct OqSubmitSpec
{
	const char *id;				/* canonical UUID; NULL: a new random one */
	const char *task_type;		/* non-empty */
	const char *input_json;		/* the exact JSON text of input; NULL: null */
	const OqTag *tags;			/* checked (oq_tags_from_jsonb), distinct keys */
	int			ntags;
	bool		scheduled;		/* available_at_us given; else now */
	int64		available_at_us;	/* Unix us, within the RFC 3339 range */
	int64		timeout_seconds;	/* >= 0 */
	int64		max_retries;	/* >= 0 */
} OqSubmitSpec;

/*
 * A change of tags: the result is 'set' when replace is true, else the
 * current tags without the keys in 'remove', then 'set' merged in
 * (existing keys keep their place, new ones are appended).  'set' must be
 * checked (oq_tags_from_jsonb); 'remove' keys are taken verbatim, absent
 * ones ignored.  A change that leaves the tags as they are writes nothing.
 */
typedef struct OqTagChange
{
	const OqTag *set;
	int			nset;
	const char *const *remove;
	int			nremove;
	bool		replace;
} OqTagChange;

typedef enum OqWriteKind
{
	OQ_WRITE_SUBMIT,
	OQ_WRITE_TAGS
} OqWriteKind;

typedef enum OqWriteState
{
	OQ_WS_READ,					/* GET of the task in flight (or backing off) */
	OQ_WS_INDEX,				/* index entries of added tags being written */
	OQ_WS_PUT,					/* the task PUT in flight */
	OQ_WS_VERIFY,				/* GET after a PUT of unknown outcome */
	OQ_WS_AFTER,				/* best-effort follow-ups: the ready entry,
								 * deleting entries of removed tags */
	OQ_WS_DONE
} OqWriteState;

typedef enum OqWriteOutcome
{
	OQ_WRITE_PENDING,			/* not done yet */
	OQ_WRITE_OK,				/* written, or there was nothing to change */
	OQ_WRITE_NOT_FOUND,			/* no such task (P0002) */
	OQ_WRITE_NOT_PENDING,		/* tags of a task that is not pending (55000) */
	OQ_WRITE_CONFLICT,			/* still losing races after the attempts (40001) */
	OQ_WRITE_TOO_MANY_TAGS,		/* the merged tags break the limit (22023) */
	OQ_WRITE_BAD_OBJECT,		/* the stored object is not a valid task */
	OQ_WRITE_EXISTS,			/* submit: the id is taken (23505) */
	OQ_WRITE_CHANGED,			/* guarded: the task is not the version the
								 * change was decided on; see current_* */
	OQ_WRITE_S3_ERROR			/* a request failed: see 'failed' */
} OqWriteOutcome;

typedef struct OqTaskWrite
{
	/* Read-only for callers */
	OqWriteKind kind;
	OqWriteState state;
	OqWriteOutcome outcome;
	char		id[OQ_UUID_LEN + 1];
	char	   *key;			/* tasks/{shard}/{id}.json */
	int			lens_tried;		/* tag changes: mask of the shard lengths
								 * whose key was found missing */
	OqTag	   *tags;			/* once OK: the task's tags now */
	int			ntags;
	char	   *etag;			/* once OK: the stored object's ETag */
	char	   *body;			/* once OK: the stored object (NULL if not
								 * known: nothing was changed) */
	size_t		body_len;
	bool		changed;		/* once OK: our PUT is what is stored */
	int			attempts;		/* task PUTs made */
	char	   *status;			/* NOT_PENDING: the task's status */
	char	   *problem;		/* TOO_MANY_TAGS, BAD_OBJECT: why (a
								 * translated message clause) */
	char	   *current_body;	/* CHANGED: the task as stored now */
	size_t		current_len;
	char	   *current_etag;

	/* Private */
	OqBatch    *batch;
	MemoryContext cxt;			/* the write and everything it holds */
	OqTagChange change;			/* OQ_WRITE_TAGS, copied */
	int64		available_at_us;	/* OQ_WRITE_SUBMIT: for the ready key */
	char	   *guard_etag;		/* guarded: the only version to change */
	char	   *if_match;		/* ETag the next PUT expects */
	char	   *next_body;		/* what the next PUT sends */
	size_t		next_len;
	List	   *inflight;		/* OqRequest * submitted, not yet handled */
	OqRequest  *put;			/* the last task PUT, to compare with a read-back */
	OqRequest  *failed;			/* S3_ERROR: the request to report */
	List	   *written;		/* index keys written so far (char *) */
	List	   *to_delete;		/* index keys to delete once our PUT is in */
} OqTaskWrite;

/* Sets the defaults of every field */
extern void oq_submit_spec_init(OqSubmitSpec *spec);

/*
 * Begin a submit: index entries of the tags, then PUT the task with
 * If-None-Match: *, then its ready entry.  Takes the time from the S3
 * server's clock (a HEAD request the first time, see oq_s3_server_now).
 */
extern OqTaskWrite *oq_task_submit_begin(OqBatch *batch, const OqSubmitSpec *spec);

/*
 * Begin a change of a task's tags.  body/len/etag: the task object as the
 * caller last read it (a scan), used for the first attempt instead of a
 * GET; NULL: read it first.
 */
extern OqTaskWrite *oq_task_tags_begin(OqBatch *batch, const char *task_id,
									   const OqTagChange *change,
									   const char *body, size_t len,
									   const char *etag);

/*
 * The same, but the change applies only to the version with ETag 'etag'
 * (the one the caller decided on, an UPDATE's scanned row).  When the task
 * turns out to have changed since -- at the first read, or after a lost
 * race -- the write ends with OQ_WRITE_CHANGED and the current version in
 * current_body/current_etag, for the caller to decide again, as
 * PostgreSQL re-evaluates an UPDATE on a concurrently updated row.
 */
extern OqTaskWrite *oq_task_tags_begin_guarded(OqBatch *batch, const char *task_id,
											   const OqTagChange *change,
											   const char *body, size_t len,
											   const char *etag);

/* The write a request returned by oq_batch_next() belongs to, or NULL */
extern OqTaskWrite *oq_task_write_of(const OqRequest *req);

/* Advance a write by one of its finished requests (which it then owns) */
extern void oq_task_write_handle(OqTaskWrite *w, OqRequest *req);

static inline bool
oq_task_write_done(const OqTaskWrite *w)
{
	return w->state == OQ_WS_DONE;
}

/* ereport(ERROR) the outcome of a finished write, unless it is OK */
extern void oq_task_write_report(OqTaskWrite *w);

/* Drive one write to its end on its batch, then report it */
extern void oq_task_write_run(OqTaskWrite *w);

/* Free a write, cancelling whatever it still has in flight; before its batch */
extern void oq_task_write_free(OqTaskWrite *w);

#endif							/* OQ_TASKWRITE_H */
