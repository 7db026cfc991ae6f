/*-------------------------------------------------------------------------
 *
 * tagmarker.c
 *		The marker object that says a bucket's tag index is kept complete.
 *
 * An index scan is exact only if every task has its entries.  oq_fdw's own
 * writes always put a task's entries before the task, but other producers
 * may keep no index at all, and nothing in a listing of tags/ tells a
 * complete index from a partial one.  So the bucket says it: the rebuild
 * writes tags/_complete once the index matches every task, and scans with
 * tag_index 'auto' use the index only while it is there.  Deleting it
 * (when a producer that keeps no index starts writing) turns them back to
 * full listings.
 *
 * Planning asks S3 whether the marker is there, so that the cost model and
 * EXPLAIN describe the path that runs; execution asks again before it
 * trusts the index, since a plan can outlive its statement.  One statement
 * shares one answer (HEAD); one that runs longer than half a minute (a
 * long PL/pgSQL function) asks again, so that its later scans see a marker
 * deleted meanwhile.  The bound is far above the time from planning to
 * execution, even under valgrind, where a second was too short.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"

#include "s3client.h"
#include "tagmarker.h"

/* What the marker holds: only its existence counts; this is for people */
#define OQ_TAG_INDEX_MARKER_BODY \
	"{\"tag_index\":\"complete\",\"contract\":\"every producer writes a task's tags/{key}/{value}/{id} entries before the task; delete this object when one does not\"}"

/* How long one statement may trust an answer */
#define OQ_MARKER_MAX_AGE_US	(30 * INT64CONST(1000000))

/* Bumped whenever this backend writes or deletes the marker */
static uint64 marker_epoch = 0;

typedef struct MarkerContext
{
	OqConnection *conn;
} MarkerContext;

static void
marker_error_context(void *arg)
{
	MarkerContext *mc = (MarkerContext *) arg;

	/* naming tag_index 'auto', which makes the check, shows how to avoid it */
	errcontext("checking whether bucket \"%s\" keeps its tag index (object \"%s\") for tag_index 'auto' of server \"%s\"",
			   mc->conn->opts.bucket, OQ_TAG_INDEX_MARKER_KEY,
			   mc->conn->server_name);
}

bool
oq_tag_index_kept(OqConnection *conn)
{
	int64		statement = (int64) GetCurrentStatementStartTimestamp();
	int64		now = oq_local_now_us();
	OqBatch    *batch;
	OqRequest  *req;

	if (conn->marker_known && conn->marker_epoch == marker_epoch &&
		conn->marker_statement == statement &&
		now - conn->marker_checked_us >= 0 &&
		now - conn->marker_checked_us < OQ_MARKER_MAX_AGE_US)
		return conn->marker_present;

	batch = oq_s3_batch_create(conn, 1);
	req = oq_s3_run(batch, oq_s3_head(batch, OQ_TAG_INDEX_MARKER_KEY));
	if (req->curl_code == 0 && req->status == 404)
		conn->marker_present = false;
	else if (oq_s3_ok(req))
		conn->marker_present = true;
	else
	{
		ErrorContextCallback errcb;
		MarkerContext mc = {conn};

		errcb.callback = marker_error_context;
		errcb.arg = &mc;
		errcb.previous = error_context_stack;
		error_context_stack = &errcb;
		/* a HEAD's answer has no body: a listing says why, if it can */
		oq_s3_report_head(req, ERROR);
		error_context_stack = errcb.previous;
	}
	oq_request_free(req);
	oq_batch_destroy(batch);

	conn->marker_known = true;
	conn->marker_epoch = marker_epoch;
	conn->marker_statement = statement;
	conn->marker_checked_us = now;
	return conn->marker_present;
}

void
oq_tag_index_mark(OqBatch *batch)
{
	OqRequest  *req;

	oq_tag_index_marker_forget();
	req = oq_s3_run(batch, oq_s3_put(batch, OQ_TAG_INDEX_MARKER_KEY,
									 OQ_TAG_INDEX_MARKER_BODY,
									 strlen(OQ_TAG_INDEX_MARKER_BODY),
									 "application/json", NULL, false));
	if (!oq_s3_ok(req))
		oq_s3_report(req, ERROR);
	oq_request_free(req);
}

bool
oq_is_tag_index_marker(const char *key)
{
	return strcmp(key, OQ_TAG_INDEX_MARKER_KEY) == 0;
}

void
oq_tag_index_marker_forget(void)
{
	marker_epoch++;
}
