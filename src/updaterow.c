/*-------------------------------------------------------------------------
 *
 * updaterow.c
 *		Deciding and writing the rows of an UPDATE: the guarded write of a
 *		row's new tags, and what follows when the task changed since it was
 *		read.  The ordinary path (modify.c) and the direct one
 *		(directmodify.c) make the same decisions with these functions.
 *
 * A row's change is written with If-Match on the ETag the scan read,
 * through a guarded write (taskwrite.h): if the task changed since, the new
 * version is read, the UPDATE's WHERE clause is evaluated on it again and,
 * if it still holds, its SET expression too -- what PostgreSQL does for a
 * row updated concurrently under READ COMMITTED.  Where that cannot be done
 * here (the WHERE or SET refers to other tables), a concurrent change is a
 * serialization failure (40001).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/executor.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/uuid.h"

#include "modify.h"
#include "modifystate.h"
#include "tagsql.h"
#include "taskcache.h"
#include "taskwrite.h"

static OqTaskWrite *begin_update(OqModifyState *st, const char *id, const char *etag,
								 Datum tags, bool isnull, const char *body,
								 size_t len);

/*
 * UPDATE: the WHERE clause and the SET expression, to evaluate them again
 * on a version of a task that changed concurrently (and, on the direct
 * path, on the scanned row in the first place).
 */
void
oq_update_init(OqModifyState *st, EState *estate, List *fdw_private)
{
	st->can_recheck = boolVal(list_nth(fdw_private, OQ_MPRIV_RECHECK));
	if (st->can_recheck)
	{
		st->where = ExecInitQual((List *) list_nth(fdw_private, OQ_MPRIV_WHERE), NULL);
		st->set_tags = ExecInitExpr((Expr *) list_nth(fdw_private, OQ_MPRIV_SET), NULL);
		st->econtext = CreateExprContext(estate);
		st->recheck_slot = MakeSingleTupleTableSlot(RelationGetDescr(st->rel),
													&TTSOpsVirtual);
	}
}

OqModifyState *
oq_update_state_create(EState *estate, ResultRelInfo *rinfo, Oid userid,
					   List *fdw_private)
{
	OqModifyState *st = oq_modify_state_create(estate, rinfo, CMD_UPDATE, userid, true);

	st->tags_attno = (AttrNumber) linitial_int((List *) list_nth(fdw_private,
															 OQ_MPRIV_ATTNOS));
	st->id_attno = oq_column_of_field(st->rel, "id");
	st->etag_attno = oq_column_of_field(st->rel, "etag");
	oq_update_init(st, estate, fdw_private);
	if (!st->can_recheck)
		elog(ERROR, "a direct UPDATE needs its WHERE clause and SET expression");
	return st;
}

int
oq_update_max_inflight(OqModifyState *st)
{
	return st->max_inflight;
}

static char *
junk_string(TupleTableSlot *planSlot, AttrNumber attno, bool uuid)
{
	bool		isnull;
	Datum		d = ExecGetJunkAttribute(planSlot, attno, &isnull);

	if (isnull)
		elog(ERROR, "the scanned row has no %s", uuid ? "id" : "etag");
	return uuid ? DatumGetCString(DirectFunctionCall1(uuid_out, d)) : TextDatumGetCString(d);
}

static OqTagChange
replace_tags(Datum tags, bool isnull)
{
	OqTagChange change;

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("tags cannot be set to NULL"),
				 errhint("Set them to '{}' to remove every tag.")));
	memset(&change, 0, sizeof(change));
	change.set = oq_tags_from_jsonb(DatumGetJsonbP(tags), &change.nset);
	change.replace = true;
	return change;
}

/*
 * Decide on a version of a task, in a slot with every column: if the
 * UPDATE's WHERE clause holds, evaluate its SET expression and begin the
 * guarded write of the new tags, else NULL.
 */
static OqTaskWrite *
decide(OqModifyState *st, TupleTableSlot *row, const char *id,
	   const char *body, size_t len, const char *etag)
{
	bool		isnull;
	Datum		tags;

	st->econtext->ecxt_scantuple = row;
	if (!ExecQual(st->where, st->econtext))
		return NULL;
	tags = ExecEvalExpr(st->set_tags, st->econtext, &isnull);
	return begin_update(st, id, etag, tags, isnull, body, len);
}

/*
 * Begin the guarded write of a row's new tags.  body/len: the version the
 * row was read from, or NULL to look for it in the task cache (where the
 * scan put it) and else read it.  The write lives until it is freed.
 */
static OqTaskWrite *
begin_update(OqModifyState *st, const char *id, const char *etag,
			 Datum tags, bool isnull, const char *body, size_t len)
{
	OqTagChange change = replace_tags(tags, isnull);
	MemoryContext oldcxt;
	OqTaskWrite *w;
	char	   *cached = NULL;

	/* the scan put the version it read in the task cache: no GET then */
	if (body == NULL)
		body = cached = oq_cache_get(st->conn,
									 oq_task_key(id, st->conn->opts.shard_prefix_len),
									 etag, &len);
	oldcxt = MemoryContextSwitchTo(st->query_cxt);
	w = oq_task_tags_begin_guarded(st->batch, id, &change, body, len, etag);
	MemoryContextSwitchTo(oldcxt);
	if (cached)
		pfree(cached);			/* the write took a copy */
	return w;
}

/*
 * A guarded write ended.  Returns the write to go on with (the row was
 * changed concurrently and still qualifies), or NULL; *updated says
 * whether the row counts as updated.
 */
OqTaskWrite *
oq_update_finished(OqModifyState *st, OqTaskWrite *w, bool *updated)
{
	*updated = false;
	switch (w->outcome)
	{
		case OQ_WRITE_OK:
			*updated = true;
			return NULL;
		case OQ_WRITE_NOT_FOUND:
			/* deleted since the scan read it: like a concurrently deleted row */
			return NULL;
		case OQ_WRITE_CHANGED:
			break;
		default:
			oq_task_write_report(w);
			return NULL;
	}

	if (!st->can_recheck)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not update task \"%s\"", w->id),
				 errdetail("The task changed since it was read, and the UPDATE refers to other tables, so its conditions cannot be evaluated again on the new version."),
				 errhint("Retry the transaction.")));

	/* what PostgreSQL does for a concurrently updated row: evaluate again */
	oq_modify_store_task(st, st->recheck_slot, st->temp_cxt, w->key, w->current_body, w->current_len,
			   w->current_etag);
	return decide(st, st->recheck_slot, w->id, w->current_body, w->current_len,
				  w->current_etag);
}

/*
 * Direct path: begin the write of a scanned row (every column), or NULL
 * when the UPDATE's WHERE clause does not hold for it.
 */
OqTaskWrite *
oq_update_row(OqModifyState *st, TupleTableSlot *row)
{
	bool		isnull;
	Datum		d;
	char	   *id;
	char	   *etag;
	MemoryContext oldcxt;
	OqTaskWrite *w;

	/* what the previous row's decision needed; the write has its own */
	ResetExprContext(st->econtext);
	MemoryContextReset(st->temp_cxt);
	oldcxt = MemoryContextSwitchTo(st->econtext->ecxt_per_tuple_memory);

	d = slot_getattr(row, st->id_attno, &isnull);
	if (isnull)
		elog(ERROR, "the scanned row has no id");
	id = DatumGetCString(DirectFunctionCall1(uuid_out, d));
	d = slot_getattr(row, st->etag_attno, &isnull);
	if (isnull)
		elog(ERROR, "the scanned row has no etag");
	etag = TextDatumGetCString(d);
	w = decide(st, row, id, NULL, 0, etag);
	MemoryContextSwitchTo(oldcxt);
	return w;
}

/* Handle the next finished request of the writes; returns its write */
OqTaskWrite *
oq_update_wait(OqModifyState *st)
{
	OqRequest  *req = oq_batch_next(st->batch);
	OqTaskWrite *w;

	if (req == NULL)
		elog(ERROR, "task writes stalled with no request in flight");
	w = oq_task_write_of(req);
	oq_task_write_handle(w, req);
	return w;
}

/* The task a write stored (RETURNING), its values in 'cxt' */
void
oq_update_store_row(OqModifyState *st, TupleTableSlot *slot, MemoryContext cxt,
					const OqTaskWrite *w)
{
	oq_modify_store_task(st, slot, cxt, w->key, w->body, w->body_len, w->etag);
}

/*
 * A pipelined write is done: settle it (and whatever it leads to when the
 * row changed concurrently) as far as can be done without waiting.
 */
static void
settle_update(OqModifyState *st, OqTaskWrite *w)
{
	while (w && oq_task_write_done(w))
	{
		bool		updated;
		OqTaskWrite *next = oq_update_finished(st, w, &updated);

		if (!updated && next == NULL)
			st->skipped++;
		st->inflight = list_delete_ptr(st->inflight, w);
		oq_task_write_free(w);
		if (next)
			st->inflight = lappend(st->inflight, next);
		w = next;
	}
	MemoryContextReset(st->temp_cxt);
}

/* Handle finished requests until at most 'limit' pipelined writes remain */
void
oq_update_drain(OqModifyState *st, int limit)
{
	while (list_length(st->inflight) > limit)
		settle_update(st, oq_update_wait(st));
}

TupleTableSlot *
oqExecForeignUpdate(EState *estate, ResultRelInfo *rinfo, TupleTableSlot *slot,
					TupleTableSlot *planSlot)
{
	OqModifyState *st = (OqModifyState *) rinfo->ri_FdwState;
	char	   *id = junk_string(planSlot, st->junk_id, true);
	char	   *etag = junk_string(planSlot, st->junk_etag, false);
	bool		isnull;
	Datum		tags = slot_getattr(slot, st->tags_attno, &isnull);
	OqTaskWrite *w;

	/* the previous row's RETURNING values are no longer needed */
	MemoryContextReset(st->temp_cxt);

	w = begin_update(st, id, etag, tags, isnull, NULL, 0);

	if (!st->returning)
	{
		/* many rows' writes in flight; errors surface when the statement ends */
		st->inflight = lappend(st->inflight, w);
		settle_update(st, w);	/* it may be decided already (from the cache) */
		oq_update_drain(st, st->max_inflight - 1);
		return slot;
	}

	/*
	 * RETURNING on this path (the direct one, directmodify.c, could not be
	 * taken): one row at a time.
	 */
	for (;;)
	{
		OqTaskWrite *next;
		bool		updated;

		while (!oq_task_write_done(w))
			(void) oq_update_wait(st);
		next = oq_update_finished(st, w, &updated);
		if (next == NULL)
		{
			/* the slot's values stay in temp_cxt until the next row */
			if (updated)
				oq_modify_store_task(st, slot, st->temp_cxt, w->key, w->body, w->body_len, w->etag);
			oq_task_write_free(w);
			return updated ? slot : NULL;
		}
		oq_task_write_free(w);
		w = next;
	}
}

