/*-------------------------------------------------------------------------
 *
 * taskwrite.c
 *		Writing one task as the queue's producers do: submit, and change
 *		the tags of a pending task, with the tag index kept in step.
 *
 * Submit.  The task's index entries are written first (concurrently),
 * then the task with If-None-Match: * (never overwrite a task), then its
 * ready entry, best effort as in the reference producer (workers also find
 * pending tasks by listing).  A 412 or an answer of unknown outcome (5xx,
 * timeout) is resolved by reading the key back: if the stored bytes are
 * those we sent, the task is ours and stored (not the ETag: with SSE-KMS or
 * SSE-C encryption it is not the MD5 of the body); if nothing is there, we
 * PUT again; anything else means the id is taken.
 *
 * Tag change.  Read the task and its ETag, refuse unless it is pending,
 * work out the new tags, splice them and a new updated_at into the body
 * (taskbuild.c: every other byte stays), write the index entries of added
 * tags, and PUT with If-Match.  A 412 (or 409 ConditionalRequestConflict,
 * or a 404 when the task vanished) means another writer came first: read
 * again, after a short random pause, and decide again from what is stored
 * now -- the task may have been claimed meanwhile (then 55000), or have
 * gained other tags (both changes survive).  After OQ_WRITE_MAX_ATTEMPTS
 * lost races the write gives up with 40001.  An answer of unknown outcome
 * is resolved by reading back as above; the read also serves as the next
 * decision's input when the write did not land.  Only after the PUT
 * succeeded are the entries of removed or changed tags deleted, best
 * effort: a failure there is counted and logged, and leaves a stale entry
 * that scans skip (they recheck every hit) and oq_rebuild_tag_index()
 * removes.  Writing entries before the task and deleting them only after
 * is what keeps a task this extension stored from lacking its entries
 * (README.md, "The tag index", has the one interleaving of two writers
 * that can still lose one, which the rebuild repairs).
 *
 * Every write keeps the index, whatever the server option tag_index says:
 * another server or session may rely on it (the bucket's marker says it
 * is complete, see tagmarker.h), and a rebuild in progress must not miss
 * a task written meanwhile.
 *
 * Every write is a state machine on a request batch (see taskwrite.h), so
 * a bulk operation can keep many in flight; each write's own requests
 * (index entries) also go out together.  Times come from the S3 server's
 * clock.  The write keeps its state in its own memory context, so a bulk
 * operation's memory stays bounded by the writes in flight.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/pg_prng.h"
#include "utils/memutils.h"

#include "rfc3339.h"
#include "s3client.h"
#include "s3sign.h"
#include "scan.h"
#include "stats.h"
#include "strlist.h"
#include "tagindex.h"
#include "taskjson.h"
#include "taskwrite.h"

/* req->tag of every request a write submits ("oqwrite!") */
#define OQ_TASKWRITE_REQ_TAG	INT64CONST(0x6f71777269746521)

/* Pause before re-reading after lost race n: random in [base/2, base] */
#define OQ_REREAD_BACKOFF_US	(5 * INT64CONST(1000))

/* ----------------------------------------------------------------
 * Requests of a write
 * ----------------------------------------------------------------
 */

static void
track(OqTaskWrite *w, OqRequest *req)
{
	req->arg = w;
	req->tag = OQ_TASKWRITE_REQ_TAG;
	w->inflight = lappend(w->inflight, req);
}

static void
cancel_inflight(OqTaskWrite *w)
{
	ListCell   *lc;

	foreach(lc, w->inflight)
	{
		OqRequest  *req = (OqRequest *) lfirst(lc);

		if (req == w->put)
			w->put = NULL;
		oq_request_free(req);
	}
	list_free(w->inflight);
	w->inflight = NIL;
}

static void
finish(OqTaskWrite *w, OqWriteOutcome outcome)
{
	cancel_inflight(w);
	w->outcome = outcome;
	w->state = OQ_WS_DONE;
}

/* A request failed for good: keep it to report, stop everything else */
static void
fail(OqTaskWrite *w, OqRequest *req)
{
	if (req == w->put)
		w->put = NULL;
	w->failed = req;
	finish(w, OQ_WRITE_S3_ERROR);
}

static int64
reread_delay_us(int attempts)
{
	int64		base = OQ_REREAD_BACKOFF_US << Min(Max(attempts, 1) - 1, 10);

	return base / 2 + (int64) (pg_prng_double(&pg_global_prng_state) * (base / 2));
}

static void
read_task(OqTaskWrite *w, bool backoff)
{
	OqRequest  *req = oq_s3_get(w->batch, w->key);

	if (backoff)
		oq_request_defer(req, reread_delay_us(w->attempts));
	track(w, req);
	w->state = OQ_WS_READ;
}

static void
write_entries(OqTaskWrite *w, List *keys)
{
	ListCell   *lc;

	foreach(lc, keys)
		track(w, oq_s3_put(w->batch, (const char *) lfirst(lc), "", 0, NULL,
						   NULL, false));
	w->state = OQ_WS_INDEX;
}

static void
put_task(OqTaskWrite *w, bool backoff)
{
	if (w->put)
		oq_request_free(w->put);
	w->put = oq_s3_put(w->batch, w->key, w->next_body, w->next_len,
					   "application/json",
					   w->kind == OQ_WRITE_TAGS ? w->if_match : NULL,
					   w->kind == OQ_WRITE_SUBMIT);
	if (backoff)
		oq_request_defer(w->put, reread_delay_us(w->attempts));
	track(w, w->put);
	w->attempts++;
	w->state = OQ_WS_PUT;
}

/* Our PUT is stored (its ETag is 'etag'): the follow-ups, best effort */
static void
succeeded(OqTaskWrite *w, const char *etag)
{
	ListCell   *lc;

	/* first the copy: etag may point into the PUT's or a GET's answer */
	w->etag = pstrdup(etag);
	if (w->put)
	{
		oq_request_free(w->put);
		w->put = NULL;
	}
	w->changed = true;
	w->body = w->next_body;
	w->body_len = w->next_len;
	w->outcome = OQ_WRITE_OK;

	if (w->kind == OQ_WRITE_SUBMIT)
	{
		char	   *ready;

		oq_stat_inc(OQ_STAT_TASKS_SUBMITTED);
		oq_task_count_add(oq_s3_batch_connection(w->batch)->serverid, 1);
		ready = oq_ready_key(w->id, oq_s3_batch_connection(w->batch)->opts.shard_prefix_len,
							 oq_unix_floor_seconds(w->available_at_us));
		track(w, oq_s3_put(w->batch, ready, "", 0, NULL, NULL, false));
	}
	else
	{
		oq_stat_inc(OQ_STAT_TAG_UPDATES);
		foreach(lc, w->to_delete)
			track(w, oq_s3_delete(w->batch, (const char *) lfirst(lc)));
	}
	w->state = w->inflight != NIL ? OQ_WS_AFTER : OQ_WS_DONE;
}

/* ----------------------------------------------------------------
 * Deciding a change of tags
 * ----------------------------------------------------------------
 */

/* The tags after the change; points into 'current' and the change */
static OqTag *
apply_change(const OqTag *current, int ncurrent, const OqTagChange *change,
			 int *nresult)
{
	OqTag	   *result = palloc(sizeof(OqTag) * (ncurrent + change->nset + 1));
	int			n = 0;

	if (!change->replace)
	{
		for (int i = 0; i < ncurrent; i++)
		{
			bool		removed = false;

			for (int j = 0; j < change->nremove && !removed; j++)
				removed = strcmp(current[i].key, change->remove[j]) == 0;
			if (!removed)
				result[n++] = current[i];
		}
	}
	for (int i = 0; i < change->nset; i++)
	{
		int			at = oq_tag_find(result, n, change->set[i].key);

		if (at >= 0)
		{
			result[at].value = change->set[i].value;
			result[at].json = NULL;
		}
		else
			result[n++] = change->set[i];
	}
	*nresult = n;
	return result;
}

static OqTag *
copy_tags(const OqTag *tags, int ntags)
{
	OqTag	   *copy = palloc(sizeof(OqTag) * Max(ntags, 1));

	for (int i = 0; i < ntags; i++)
	{
		copy[i].key = pstrdup(tags[i].key);
		copy[i].value = tags[i].value ? pstrdup(tags[i].value) : NULL;
		copy[i].json = tags[i].json ? pstrdup(tags[i].json) : NULL;
	}
	return copy;
}

/* Why a task's tags cannot be rewritten: a message clause, translated */
static char *
tags_problem(const char *why)
{
	if (why == OQ_WHY_NUL)
		return pstrdup(_("task field \"tags\" holds \\u0000, which PostgreSQL text and jsonb cannot hold"));
	return pstrdup(_("task field \"tags\" holds an unpaired UTF-16 surrogate escape"));
}

/*
 * Decide what to write from the task as stored now (body, with its ETag):
 * refuse, finish without writing, or start writing.
 */
static void
decide(OqTaskWrite *w, const char *body, size_t len, const char *etag)
{
	OqTaskDoc	doc;
	char	   *problem;
	const OqJsonMember *m;
	OqTag	   *result;
	int			nresult;
	char	   *tags_json;
	char		now[OQ_RFC3339_BUFLEN];
	List	   *wanted;
	List	   *add = NIL;
	List	   *remove = NIL;
	ListCell   *lc;

	if (!oq_task_decode(body, len, &doc, &problem))
	{
		w->problem = problem;
		finish(w, OQ_WRITE_BAD_OBJECT);
		return;
	}
	m = doc.field[OQ_F_ID];
	if (strcmp(m->str, w->id) != 0)
	{
		w->problem = psprintf(_("task field \"id\" is \"%s\", which does not match the key"),
							  m->str);
		finish(w, OQ_WRITE_BAD_OBJECT);
		return;
	}

	/* the tagging specification: tags change only while a task is pending */
	m = doc.field[OQ_F_STATUS];
	if (m != NULL && (m->str == NULL || strcmp(m->str, "pending") != 0))
	{
		/* a status holding \u0000 is shown escaped, as stored */
		w->status = m->str ? pstrdup(m->str) : pnstrdup(m->raw + 1, m->raw_len - 2);
		finish(w, OQ_WRITE_NOT_PENDING);
		return;
	}

	/* a tag that text cannot hold would be lost by the rewrite */
	if (doc.tags_why)
	{
		w->problem = tags_problem(doc.tags_why);
		finish(w, OQ_WRITE_BAD_OBJECT);
		return;
	}

	result = apply_change(doc.tags, doc.ntags, &w->change, &nresult);
	if (oq_tags_equal(doc.tags, doc.ntags, result, nresult))
	{
		/* nothing to change: no PUT, no new version, updated_at stays */
		w->tags = copy_tags(doc.tags, doc.ntags);
		w->ntags = doc.ntags;
		w->etag = pstrdup(etag);
		w->body = pnstrdup(body, len);
		w->body_len = len;
		w->changed = false;
		finish(w, OQ_WRITE_OK);
		return;
	}

	/*
	 * The limit applies to the merged result.  Removing alone never adds,
	 * so it stays possible on a task another producer overloaded.
	 */
	if ((w->change.nset > 0 || w->change.replace) &&
		!oq_tag_check_count(nresult, &problem))
	{
		w->problem = problem;
		w->ntags = doc.ntags;
		finish(w, OQ_WRITE_TOO_MANY_TAGS);
		return;
	}

	tags_json = oq_tags_to_json(result, nresult);
	if (tags_json == NULL)
		elog(ERROR, "tags of task \"%s\" are not valid UTF-8", w->id);
	oq_rfc3339_format(oq_s3_server_now_at(w->batch, w->key), now);
	if (w->next_body)
		pfree(w->next_body);
	w->next_body = oq_task_rewrite_tags(&doc, tags_json, now, &w->next_len);
	if (w->if_match)
		pfree(w->if_match);
	w->if_match = pstrdup(etag);
	w->tags = copy_tags(result, nresult);
	w->ntags = nresult;

	/*
	 * The entries to delete are those of the object this PUT replaces;
	 * entries written by an earlier attempt are not written again.
	 */
	list_free_deep(w->to_delete);
	oq_tag_index_diff(w->id, doc.tags, doc.ntags, result, nresult,
					  &wanted, &remove);
	foreach(lc, wanted)
	{
		if (!oq_string_list_member(w->written, lfirst(lc)))
			add = lappend(add, lfirst(lc));
	}
	w->to_delete = remove;

	if (add != NIL)
		write_entries(w, add);
	else
		put_task(w, false);
}

/*
 * Decide from the task as stored now -- unless the write is guarded and
 * this is not the version the change was decided on: then the caller
 * decides again.
 */
static void
consider(OqTaskWrite *w, const char *body, size_t len, const char *etag)
{
	if (w->guard_etag && strcmp(etag, w->guard_etag) != 0)
	{
		w->current_body = pnstrdup(body, len);
		w->current_len = len;
		w->current_etag = pstrdup(etag);
		finish(w, OQ_WRITE_CHANGED);
		return;
	}
	decide(w, body, len, etag);
}

/* ----------------------------------------------------------------
 * Handling finished requests, per state
 * ----------------------------------------------------------------
 */

/* NoSuchKey only: a missing bucket is an error to report, not an absent task */
static bool
is_not_found(const OqRequest *req)
{
	return oq_s3_not_found(req);
}

/*
 * A tag change of a task missing under the server's shard length: while
 * the queue changes its shard_prefix_len the task may be under another,
 * and is changed where it is (moving it is the migration's business).
 * False when every length was tried.
 */
static bool
read_other_length(OqTaskWrite *w)
{
	int			shard_len = (int) (strchr(w->key + strlen(OQ_TASKS_PREFIX), '/') -
								   (w->key + strlen(OQ_TASKS_PREFIX)));

	int			len;
	MemoryContext oldcxt;

	w->lens_tried |= 1 << shard_len;
	for (len = 1; len <= OQ_MAX_SHARD_PREFIX_LEN; len++)
	{
		if ((w->lens_tried & (1 << len)) == 0)
			break;
	}
	/* the next length to try; none left: name the server's key in errors */
	oldcxt = MemoryContextSwitchTo(w->cxt);
	w->key = oq_task_key(w->id, len <= OQ_MAX_SHARD_PREFIX_LEN ? len :
						 oq_s3_batch_connection(w->batch)->opts.shard_prefix_len);
	MemoryContextSwitchTo(oldcxt);
	if (len > OQ_MAX_SHARD_PREFIX_LEN)
		return false;
	read_task(w, false);
	return true;
}

static void
on_read(OqTaskWrite *w, OqRequest *req)
{
	if (is_not_found(req) && w->kind == OQ_WRITE_TAGS && read_other_length(w))
		;
	else if (is_not_found(req))
		finish(w, OQ_WRITE_NOT_FOUND);
	else if (!oq_s3_ok(req))
	{
		fail(w, req);
		return;
	}
	else if (req->etag == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("S3 sent no ETag for key \"%s\" in bucket \"%s\"",
						w->key, oq_s3_batch_connection(w->batch)->opts.bucket),
				 errdetail("Tags are changed with a conditional write (If-Match), which needs the ETag.")));
	else
		consider(w, req->response, req->response_len, req->etag);
	oq_request_free(req);
}

static void
on_index_written(OqTaskWrite *w, OqRequest *req)
{
	if (!oq_s3_ok(req))
	{
		/* without its entry the task must not be written: scans would miss it */
		fail(w, req);
		return;
	}
	oq_stat_inc(OQ_STAT_TAG_INDEX_WRITES);
	oq_tag_stat_entry(req->key, OQ_TAG_STAT_WRITES);
	w->written = lappend(w->written, pstrdup(req->key));
	oq_request_free(req);
	if (w->inflight == NIL)
		put_task(w, false);
}

static void
on_put(OqTaskWrite *w, OqRequest *req)
{
	Assert(req == w->put);

	if (oq_s3_ok(req))
	{
		char		md5[33];

		if (req->etag == NULL)
			oq_md5_hex(req->body, req->body_len, md5);
		succeeded(w, req->etag ? req->etag : md5);
	}
	else if (w->kind == OQ_WRITE_TAGS &&
			 (oq_s3_precondition_failed(req) || is_not_found(req)))
	{
		/* someone else wrote first (or removed the task): read, decide again */
		oq_request_free(req);
		w->put = NULL;
		if (w->attempts >= OQ_WRITE_MAX_ATTEMPTS)
			finish(w, OQ_WRITE_CONFLICT);
		else
			read_task(w, true);
	}
	else if (oq_s3_outcome_unknown(req) ||
			 (w->kind == OQ_WRITE_SUBMIT && oq_s3_precondition_failed(req)))
	{
		/*
		 * Did it land?  Read back and compare.  (A submit's 412 means the
		 * key exists: most likely an earlier attempt of ours that landed
		 * after all.)  The PUT is kept: its body is compared with what
		 * is read back.
		 */
		track(w, oq_s3_get(w->batch, w->key));
		w->state = OQ_WS_VERIFY;
	}
	else
		fail(w, req);
}

static void
on_verify(OqTaskWrite *w, OqRequest *req)
{
	if (is_not_found(req))
	{
		if (w->kind == OQ_WRITE_TAGS)
			finish(w, OQ_WRITE_NOT_FOUND);
		else if (w->attempts >= OQ_WRITE_MAX_ATTEMPTS)
			fail(w, w->put);	/* report why the last PUT failed */
		else
			put_task(w, true);	/* it did not land: again */
	}
	else if (!oq_s3_ok(req))
	{
		fail(w, req);
		return;
	}
	else if (oq_s3_put_stored(w->put, req))
	{
		char		md5[33];

		if (req->etag == NULL)
			oq_md5_hex(req->response, req->response_len, md5);
		succeeded(w, req->etag ? req->etag : md5);
	}
	else if (w->kind == OQ_WRITE_SUBMIT)
		finish(w, OQ_WRITE_EXISTS);
	else if (w->attempts >= OQ_WRITE_MAX_ATTEMPTS)
	{
		/* unchanged: S3 kept failing; changed: we kept losing */
		if (req->etag && strcmp(req->etag, w->if_match) == 0)
			fail(w, w->put);
		else
			finish(w, OQ_WRITE_CONFLICT);
	}
	else if (req->etag == NULL)
		fail(w, req);
	else
		consider(w, req->response, req->response_len, req->etag);

	if (w->failed != req)
		oq_request_free(req);
}

/* Best-effort follow-ups: their failures are logged, never raised */
typedef struct FollowupContext
{
	OqTaskWrite *w;
	OqRequest  *req;
} FollowupContext;

static void
followup_error_context(void *arg)
{
	FollowupContext *fc = (FollowupContext *) arg;

	/*
	 * The warning, its detail and hint are oq_s3_report()'s; the context
	 * says what was being done.  Both failures are harmless: every scan
	 * rechecks a stale index entry and oq_rebuild_tag_index() removes it,
	 * and workers also find pending tasks by listing them.
	 */
	if (fc->req->op == OQ_OP_DELETE)
		errcontext("removing stale tag index entry of task \"%s\", which oq_rebuild_tag_index() also removes",
				   fc->w->id);
	else
		errcontext("writing ready entry of task \"%s\"", fc->w->id);
}

static void
on_followup(OqTaskWrite *w, OqRequest *req)
{
	if (oq_s3_ok(req))
	{
		if (req->op == OQ_OP_DELETE)
		{
			oq_stat_inc(OQ_STAT_TAG_INDEX_DELETES);
			oq_tag_stat_entry(req->key, OQ_TAG_STAT_DELETES);
		}
	}
	else
	{
		ErrorContextCallback errcb;
		FollowupContext fc = {w, req};

		oq_stat_inc(req->op == OQ_OP_DELETE ? OQ_STAT_TAG_INDEX_ERRORS :
					OQ_STAT_READY_INDEX_ERRORS);
		errcb.callback = followup_error_context;
		errcb.arg = &fc;
		errcb.previous = error_context_stack;
		error_context_stack = &errcb;
		oq_s3_report(req, WARNING);
		error_context_stack = errcb.previous;
	}
	oq_request_free(req);
	if (w->inflight == NIL)
		w->state = OQ_WS_DONE;
}

/* ----------------------------------------------------------------
 * The interface
 * ----------------------------------------------------------------
 */

void
oq_submit_spec_init(OqSubmitSpec *spec)
{
	memset(spec, 0, sizeof(OqSubmitSpec));
	spec->timeout_seconds = OQ_DEFAULT_TIMEOUT_SECONDS;
	spec->max_retries = OQ_DEFAULT_MAX_RETRIES;
}

static OqTaskWrite *
write_create(OqBatch *batch, OqWriteKind kind)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext,
											  "oq_fdw task write",
											  ALLOCSET_SMALL_SIZES);
	OqTaskWrite *w = MemoryContextAllocZero(cxt, sizeof(OqTaskWrite));

	w->cxt = cxt;
	w->batch = batch;
	w->kind = kind;
	w->outcome = OQ_WRITE_PENDING;
	return w;
}

/* A random (version 4) UUID, lowercase and hyphenated, as the producers' */
static void
random_uuid(char *out)
{
	uint8		b[16];
	char	   *p = out;

	if (!pg_strong_random(b, sizeof(b)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random task id")));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	for (int i = 0; i < 16; i++)
	{
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		p += sprintf(p, "%02x", b[i]);
	}
	*p = '\0';
}

OqTaskWrite *
oq_task_submit_begin(OqBatch *batch, const OqSubmitSpec *spec)
{
	OqTaskWrite *w = write_create(batch, OQ_WRITE_SUBMIT);
	MemoryContext oldcxt = MemoryContextSwitchTo(w->cxt);
	int			prefix_len = oq_s3_batch_connection(batch)->opts.shard_prefix_len;
	char		shard[OQ_MAX_SHARD_PREFIX_LEN + 1];
	OqNewTask	nt;
	int64		now;

	if (spec->id)
	{
		if (!oq_uuid_is_canonical(spec->id, strlen(spec->id)))
			elog(ERROR, "task id \"%s\" is not a canonical UUID", spec->id);
		strlcpy(w->id, spec->id, sizeof(w->id));
	}
	else
		random_uuid(w->id);
	w->key = oq_task_key(w->id, prefix_len);
	oq_task_shard(w->id, prefix_len, shard);
	w->tags = copy_tags(spec->tags, spec->ntags);
	w->ntags = spec->ntags;

	now = oq_s3_server_now_at(batch, w->key);
	w->available_at_us = spec->scheduled ? spec->available_at_us : now;

	memset(&nt, 0, sizeof(nt));
	nt.id = w->id;
	nt.shard = shard;
	nt.task_type = spec->task_type;
	nt.input_json = spec->input_json;
	nt.tags = w->tags;
	nt.ntags = w->ntags;
	nt.now_us = now;
	nt.available_at_us = w->available_at_us;
	nt.timeout_seconds = spec->timeout_seconds;
	nt.max_retries = spec->max_retries;
	w->next_body = oq_task_build(&nt, &w->next_len);
	if (w->next_body == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not build task object"),
				 errdetail("The input is not valid JSON, or a string in it is not valid UTF-8.")));
	if (w->next_len > OQ_MAX_RESPONSE_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("task object would be %zu bytes, more than the %d bytes oq_fdw reads back",
						w->next_len, OQ_MAX_RESPONSE_BYTES),
				 errhint("Store a large input elsewhere and pass a reference to it.")));

	if (w->ntags > 0)
		write_entries(w, oq_tag_index_entries(w->id, w->tags, w->ntags));
	if (w->inflight == NIL)
		put_task(w, false);

	MemoryContextSwitchTo(oldcxt);
	return w;
}

static OqTaskWrite *
tags_begin(OqBatch *batch, const char *task_id, const OqTagChange *change,
		   const char *body, size_t len, const char *etag, bool guarded)
{
	OqTaskWrite *w = write_create(batch, OQ_WRITE_TAGS);
	MemoryContext oldcxt = MemoryContextSwitchTo(w->cxt);
	char	  **remove;

	/* the id names the key: nothing but a canonical UUID may get there */
	if (!oq_uuid_is_canonical(task_id, strlen(task_id)))
		elog(ERROR, "task id \"%s\" is not a canonical UUID", task_id);
	strlcpy(w->id, task_id, sizeof(w->id));
	w->key = oq_task_key(w->id, oq_s3_batch_connection(batch)->opts.shard_prefix_len);

	w->change.set = copy_tags(change->set, change->nset);
	w->change.nset = change->nset;
	remove = palloc(sizeof(char *) * Max(change->nremove, 1));
	for (int i = 0; i < change->nremove; i++)
		remove[i] = pstrdup(change->remove[i]);
	w->change.remove = (const char *const *) remove;
	w->change.nremove = change->nremove;
	w->change.replace = change->replace;
	if (guarded)
		w->guard_etag = pstrdup(etag);

	if (body != NULL && etag != NULL)
	{
		char	   *copy = palloc(len + 1);

		memcpy(copy, body, len);
		copy[len] = '\0';
		decide(w, copy, len, etag);
	}
	else
		read_task(w, false);

	MemoryContextSwitchTo(oldcxt);
	return w;
}

OqTaskWrite *
oq_task_tags_begin(OqBatch *batch, const char *task_id,
				   const OqTagChange *change, const char *body, size_t len,
				   const char *etag)
{
	return tags_begin(batch, task_id, change, body, len, etag, false);
}

OqTaskWrite *
oq_task_tags_begin_guarded(OqBatch *batch, const char *task_id,
						   const OqTagChange *change, const char *body,
						   size_t len, const char *etag)
{
	Assert(etag != NULL);
	return tags_begin(batch, task_id, change, body, len, etag, true);
}

OqTaskWrite *
oq_task_write_of(const OqRequest *req)
{
	return req->tag == OQ_TASKWRITE_REQ_TAG ? (OqTaskWrite *) req->arg : NULL;
}

void
oq_task_write_handle(OqTaskWrite *w, OqRequest *req)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(w->cxt);

	Assert(req->arg == w && w->state != OQ_WS_DONE);
	w->inflight = list_delete_ptr(w->inflight, req);

	switch (w->state)
	{
		case OQ_WS_READ:
			on_read(w, req);
			break;
		case OQ_WS_INDEX:
			on_index_written(w, req);
			break;
		case OQ_WS_PUT:
			on_put(w, req);
			break;
		case OQ_WS_VERIFY:
			on_verify(w, req);
			break;
		case OQ_WS_AFTER:
			on_followup(w, req);
			break;
		case OQ_WS_DONE:
			break;
	}
	MemoryContextSwitchTo(oldcxt);
}

void
oq_task_write_run(OqTaskWrite *w)
{
	while (!oq_task_write_done(w))
	{
		OqRequest  *req = oq_batch_next(w->batch);
		OqTaskWrite *owner;

		if (req == NULL)
			elog(ERROR, "write of task \"%s\" stalled with no request in flight",
				 w->id);
		owner = oq_task_write_of(req);
		if (owner == NULL)
			elog(ERROR, "a batch running task writes returned another request");
		oq_task_write_handle(owner, req);
	}
	oq_task_write_report(w);
}

void
oq_task_write_report(OqTaskWrite *w)
{
	const char *bucket = oq_s3_batch_connection(w->batch)->opts.bucket;

	Assert(oq_task_write_done(w));
	switch (w->outcome)
	{
		case OQ_WRITE_PENDING:
		case OQ_WRITE_OK:
			break;
		case OQ_WRITE_NOT_FOUND:
			ereport(ERROR,
					(errcode(ERRCODE_NO_DATA_FOUND),
					 errmsg("task \"%s\" does not exist", w->id),
					 errdetail("There is no object \"%s\" in bucket \"%s\".",
							   w->key, bucket)));
			break;
		case OQ_WRITE_NOT_PENDING:
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cannot change the tags of task \"%s\"", w->id),
					 errdetail("Its status is \"%s\"; tags can be changed only while a task is pending.",
							   w->status)));
			break;
		case OQ_WRITE_CONFLICT:
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not change the tags of task \"%s\"", w->id),
					 errdetail_plural("The task kept changing concurrently: %d conditional write (If-Match) found it changed by another writer.",
									  "The task kept changing concurrently: each of %d conditional writes (If-Match) found it changed by another writer.",
									  w->attempts, w->attempts),
					 errhint("Retry the transaction.")));
			break;
		case OQ_WRITE_TOO_MANY_TAGS:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg_internal("%s", w->problem),
					 errdetail_plural("Task \"%s\" has %d tag now.",
									  "Task \"%s\" has %d tags now.",
									  w->ntags, w->id, w->ntags)));
			break;
		case OQ_WRITE_BAD_OBJECT:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
					 errmsg("could not read task object \"%s\" in bucket \"%s\"",
							w->key, bucket),
					 errdetail_internal("%s", w->problem)));
			break;
		case OQ_WRITE_EXISTS:
			ereport(ERROR,
					(errcode(ERRCODE_UNIQUE_VIOLATION),
					 errmsg("task \"%s\" already exists", w->id),
					 errdetail("Object \"%s\" in bucket \"%s\" holds another task.",
							   w->key, bucket)));
			break;
		case OQ_WRITE_CHANGED:
			/* the caller of a guarded write decides again; never an error */
			elog(ERROR, "guarded write of task \"%s\" reported as an error", w->id);
			break;
		case OQ_WRITE_S3_ERROR:
			oq_s3_report(w->failed, ERROR);
			break;
	}
}

void
oq_task_write_free(OqTaskWrite *w)
{
	cancel_inflight(w);
	if (w->put)
		oq_request_free(w->put);
	if (w->failed && w->failed != w->put)
		oq_request_free(w->failed);
	MemoryContextDelete(w->cxt);
}
