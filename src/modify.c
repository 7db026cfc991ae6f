/*-------------------------------------------------------------------------
 *
 * modify.c
 *		INSERT and UPDATE on the foreign table: a submit per inserted row,
 *		a guarded tag change per updated row, many in flight at once.
 *
 * INSERT.  Each row becomes a task exactly as oq_submit() builds it; only
 * the columns a submit takes may be given (task_type, input, tags,
 * available_at, max_retries, timeout_seconds, and id for callers that
 * choose their ids).  PostgreSQL hands rows over in batches of batch_size
 * (the table's or the server's option, as postgres_fdw's), and a batch's
 * submits run concurrently.  With RETURNING, rows go one at a time.
 * Rows that PostgreSQL routes to the table (an INSERT or COPY into a
 * partitioned parent) or that COPY brings come through BeginForeignInsert:
 * every column is handed over then, so the columns a submit does not take
 * must be NULL.  A row is checked before any of its batch is written.
 *
 * Each task is durable on its own, so a bulk INSERT or COPY cut short (an
 * error in a row, a cancel, statement_timeout) has stored some: its error
 * says how many tasks the statement stored, the last of them, and how many
 * writes were in flight with an unknown outcome (errdetail).  Within a
 * batch, rows are written concurrently; a failed write lets the others of
 * its batch finish first, so that only a cancel leaves outcomes unknown.
 *
 * UPDATE.  Only tags may be assigned.  The table may be a partition or an
 * inheritance child of the UPDATE's target: the target list is translated
 * to its columns (as postgres_fdw does).  Each row's change is written with
 * If-Match on the ETag the scan read, and evaluated again on a task
 * changed concurrently (updaterow.c).  Without RETURNING, the writes of many rows are in flight at once; their
 * errors are raised when the statement ends, and rows that a concurrent
 * change took out of the WHERE clause are reported in a NOTICE (they were
 * counted as updated when handed over).  With RETURNING, a row must be
 * written before it is handed back: directmodify.c then runs the whole
 * UPDATE in the scan's node, many writes in flight, with the same
 * functions (updaterow.c); where it cannot, rows go one at a time here.
 *
 * DELETE is refused: a task object is the queue's own record.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/appendinfo.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/restrictinfo.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "compat.h"
#include "modify.h"
#include "modifystate.h"
#include "option.h"
#include "scanexec.h"
#include "submitargs.h"
#include "tagsql.h"
#include "taskcache.h"
#include "taskrow.h"
#include "taskwrite.h"

static const struct
{
	const char *field;
	Oid			types[3];		/* accepted column types, InvalidOid-ended */
}			insert_fields[OQ_NUM_INSERT_FIELDS] = {
	[OQ_INS_TASK_TYPE] = {"task_type", {TEXTOID, VARCHAROID}},
	[OQ_INS_INPUT] = {"input", {JSONBOID}},
	[OQ_INS_TAGS] = {"tags", {JSONBOID}},
	[OQ_INS_AVAILABLE_AT] = {"available_at", {TIMESTAMPTZOID}},
	[OQ_INS_MAX_RETRIES] = {"max_retries", {INT4OID, INT8OID, INT2OID}},
	[OQ_INS_TIMEOUT_SECONDS] = {"timeout_seconds", {INT8OID, INT4OID, INT2OID}},
	[OQ_INS_ID] = {"id", {UUIDOID}},
};

/* ----------------------------------------------------------------
 * Planning
 * ----------------------------------------------------------------
 */

AttrNumber
oq_column_of_field(Relation rel, const char *field)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);

	for (int i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		if (!att->attisdropped &&
			strcmp(oq_column_field(RelationGetRelid(rel), att->attnum), field) == 0)
			return att->attnum;
	}
	return InvalidAttrNumber;
}

static void
refuse_delete(Relation rel)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("cannot delete from foreign table \"%s\"", RelationGetRelationName(rel)),
			 errdetail("A task object is the queue's own record of the task; oq_fdw changes tasks' tags but never removes tasks."),
			 errhint("Tasks leave the queue through its own lifecycle (completion, cancellation, expiry).")));
}

/* The name of a row identity column, the same in planning and execution */
static const char *
junk_name(const char *what, AttrNumber attno)
{
	return psprintf("%s_%d", what, (int) attno);
}

void
oqAddForeignUpdateTargets(PlannerInfo *root, Index rtindex,
						  RangeTblEntry *target_rte,
						  Relation target_relation)
{
	AttrNumber	id = oq_column_of_field(target_relation, "id");
	AttrNumber	etag = oq_column_of_field(target_relation, "etag");

	if (root->parse->commandType == CMD_DELETE)
		refuse_delete(target_relation);

	if (id == InvalidAttrNumber || etag == InvalidAttrNumber ||
		TupleDescAttr(RelationGetDescr(target_relation), id - 1)->atttypid != UUIDOID ||
		TupleDescAttr(RelationGetDescr(target_relation), etag - 1)->atttypid != TEXTOID)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot update foreign table \"%s\"",
						RelationGetRelationName(target_relation)),
				 errdetail("An UPDATE needs the columns id (uuid) and etag (text): a row is written back with If-Match on the ETag its scan read.")));

	/*
	 * The row's identity: which task, and which version of it was read.
	 * Partitions of one UPDATE share a junk column of a name only if its
	 * Var is the same, column number included: the name says the number.
	 */
	add_row_identity_var(root, makeVar(rtindex, id, UUIDOID, -1, InvalidOid, 0),
						 rtindex, junk_name("oq_id", id));
	add_row_identity_var(root, makeVar(rtindex, etag, TEXTOID, -1, DEFAULT_COLLATION_OID, 0),
						 rtindex, junk_name("oq_etag", etag));
}

static List *
plan_insert(PlannerInfo *root, Relation rel, RangeTblEntry *rte)
{
	List	   *attnos = NIL;
	Bitmapset  *inserted = oq_inserted_cols(root, rte);
	int			col = -1;

	/* refuse what a submit does not set, naming the column */
	while ((col = bms_next_member(inserted, col)) >= 0)
	{
		AttrNumber	attno = col + FirstLowInvalidHeapAttributeNumber;
		char	   *field = oq_column_field(RelationGetRelid(rel), attno);
		Oid			type = TupleDescAttr(RelationGetDescr(rel), attno - 1)->atttypid;
		int			f;
		bool		type_ok = false;

		for (f = 0; f < OQ_NUM_INSERT_FIELDS; f++)
			if (strcmp(insert_fields[f].field, field) == 0)
				break;
		if (f == OQ_NUM_INSERT_FIELDS)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot set column \"%s\" in an INSERT into foreign table \"%s\"",
							get_attname(RelationGetRelid(rel), attno, false),
							RelationGetRelationName(rel)),
					 errdetail("An INSERT submits new pending tasks: only task_type, input, tags, available_at, max_retries, timeout_seconds and id can be given.")));
		for (int t = 0; t < 3 && OidIsValid(insert_fields[f].types[t]); t++)
			type_ok |= insert_fields[f].types[t] == type;
		if (!type_ok)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("cannot submit column \"%s\" of foreign table \"%s\" as task field \"%s\"",
							get_attname(RelationGetRelid(rel), attno, false),
							RelationGetRelationName(rel), field),
					 errdetail("The column has type %s.", format_type_be(type)),
					 errhint("Declare it as %s.", format_type_be(insert_fields[f].types[0]))));
	}

	for (int f = 0; f < OQ_NUM_INSERT_FIELDS; f++)
	{
		AttrNumber	attno = oq_column_of_field(rel, insert_fields[f].field);

		/* only columns the INSERT gives: the others read as the defaults */
		if (attno != InvalidAttrNumber &&
			!bms_is_member(attno - FirstLowInvalidHeapAttributeNumber, inserted))
			attno = InvalidAttrNumber;
		attnos = lappend_int(attnos, attno);
	}
	return list_make1(attnos);	/* the caller appends RETURNING */
}

/* Only Vars of the target relation, no sublinks, no outer parameters */
static bool
recheckable(Node *expr, Index resultRelation, PlannerInfo *root)
{
	Relids		varnos;

	if (expr == NULL)
		return true;
	varnos = pull_varnos(root, expr);
	if (!bms_is_empty(varnos) && !bms_equal(varnos, bms_make_singleton(resultRelation)))
		return false;
	return !contain_subplans(expr) && !contain_exec_param(expr, NIL);
}

static List *
plan_update(PlannerInfo *root, Relation rel, RangeTblEntry *rte, Index resultRelation)
{
	AttrNumber	tags = oq_column_of_field(rel, "tags");
	RelOptInfo *baserel = find_base_rel(root, resultRelation);
	List	   *where;
	Expr	   *set = NULL;
	bool		can_recheck;
	int			col = -1;
	List	   *tlist;
	List	   *colnos;
	ListCell   *lc;
	ListCell   *lt;

	while ((col = bms_next_member(oq_updated_cols(root, rte, baserel), col)) >= 0)
	{
		AttrNumber	attno = col + FirstLowInvalidHeapAttributeNumber;

		if (attno != tags ||
			TupleDescAttr(RelationGetDescr(rel), attno - 1)->atttypid != JSONBOID)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot update column \"%s\" of foreign table \"%s\"",
							get_attname(RelationGetRelid(rel), attno, false),
							RelationGetRelationName(rel)),
					 errdetail("Only tags can be changed; the rest of a task belongs to the queue's workers.")));
	}

	/*
	 * The expression assigned to tags: processed_tlist follows
	 * update_colnos.  Both are the statement's target's; when this table is
	 * a partition or inheritance child of it, they are translated to this
	 * table's columns (their numbers and order may differ).
	 */
	get_translated_update_targetlist(root, resultRelation, &tlist, &colnos);
	forboth(lc, colnos, lt, tlist)
	{
		if (lfirst_int(lc) == tags)
			set = ((TargetEntry *) lfirst(lt))->expr;
	}

	where = extract_actual_clauses(baserel->baserestrictinfo, false);

	/*
	 * The WHERE of the target alone is all of it only when no other
	 * relation takes part (UPDATE ... FROM joins need their rows too).
	 */
	can_recheck = set != NULL &&
		bms_membership(root->all_baserels) == BMS_SINGLETON &&
		baserel->joininfo == NIL &&
		recheckable((Node *) where, resultRelation, root) &&
		recheckable((Node *) set, resultRelation, root);

	return list_make4(list_make1_int(tags), makeBoolean(can_recheck),
					  can_recheck ? (Node *) where : NULL,
					  can_recheck ? (Node *) set : NULL);	/* RETURNING goes second */
}

List *
oqPlanForeignModify(PlannerInfo *root, ModifyTable *plan, Index resultRelation,
					int subplan_index)
{
	CmdType		operation = plan->operation;
	RangeTblEntry *rte = planner_rt_fetch(resultRelation, root);
	Relation	rel = table_open(rte->relid, NoLock);
	List	   *result = NIL;

	if (plan->onConflictAction != ONCONFLICT_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("ON CONFLICT is not supported on foreign table \"%s\"",
						RelationGetRelationName(rel))));

	switch (operation)
	{
		case CMD_INSERT:
			result = plan_insert(root, rel, rte);
			break;
		case CMD_UPDATE:
			result = plan_update(root, rel, rte, resultRelation);
			break;
		case CMD_DELETE:
			refuse_delete(rel);
			break;
		default:
			elog(ERROR, "unexpected operation %d", (int) operation);
	}
	table_close(rel, NoLock);

	/* decided here: ri_projectReturning is set only after BeginForeignModify */
	result = list_insert_nth(result, OQ_MPRIV_RETURNING,
							 makeBoolean(plan->returningLists != NIL &&
										 list_nth(plan->returningLists, subplan_index) != NIL));

	/* UPDATE ... RETURNING here: why the direct path could not be taken */
	if (operation == CMD_UPDATE && boolVal(list_nth(result, OQ_MPRIV_RETURNING)))
	{
		const char *why = oq_direct_update_refusal(root, plan, resultRelation,
												   subplan_index, result, NULL);

		result = lappend(result, makeString(pstrdup(why ? why :
													"PostgreSQL does not offer a direct update for this statement")));
	}
	return result;
}

int
oqIsForeignRelUpdatable(Relation rel)
{
	/* DELETE too, so that it is refused with our reason, not a generic one */
	return (1 << CMD_INSERT) | (1 << CMD_UPDATE) | (1 << CMD_DELETE);
}

/* ----------------------------------------------------------------
 * Execution
 * ----------------------------------------------------------------
 */

/*
 * What an INSERT or COPY has stored so far, shared by the foreign
 * partitions it routes rows to (one per executor state).
 */
typedef struct OqInsertProgress
{
	EState	   *estate;
	int64		rows;			/* rows handed to a write so far */
	int64		stored;			/* tasks stored */
	int64		last_row;		/* the row of last_id, from 1, in the order given */
	char		last_id[OQ_UUID_LEN + 1];
} OqInsertProgress;

static OqInsertProgress *current_progress = NULL;

static void
progress_forget(void *arg)
{
	if (current_progress == arg)
		current_progress = NULL;
}

static OqInsertProgress *
progress_of(EState *estate)
{
	OqInsertProgress *p;
	MemoryContextCallback *cb;

	if (current_progress && current_progress->estate == estate)
		return current_progress;
	p = MemoryContextAllocZero(estate->es_query_cxt, sizeof(OqInsertProgress));
	p->estate = estate;
	cb = MemoryContextAlloc(estate->es_query_cxt, sizeof(MemoryContextCallback));
	cb->func = progress_forget;
	cb->arg = p;
	MemoryContextRegisterResetCallback(estate->es_query_cxt, cb);
	current_progress = p;
	return p;
}

static int
modify_batch_size(Relation rel, OqConnection *conn)
{
	OqTableOptions topts;

	oq_table_options(RelationGetRelid(rel), &topts);
	return topts.batch_size > 0 ? topts.batch_size : conn->opts.batch_size;
}

OqModifyState *
oq_modify_state_create(EState *estate, ResultRelInfo *rinfo, CmdType operation,
					   Oid userid, bool returning)
{
	Relation	rel = rinfo->ri_RelationDesc;
	TupleDesc	tupdesc = RelationGetDescr(rel);
	OqModifyState *st;

	st = palloc0(sizeof(OqModifyState));
	st->rel = rel;
	st->query_cxt = estate->es_query_cxt;
	st->operation = operation;
	st->conn = oq_get_connection(GetForeignTable(RelationGetRelid(rel))->serverid, userid);
	st->max_inflight = st->conn->opts.max_concurrency;
	st->batch = oq_s3_batch_create(st->conn, st->max_inflight);
	st->returning = returning;
	st->batch_size = modify_batch_size(rel, st->conn);
	oq_row_builder_init(&st->rb, rel, true, NIL);
	st->values = palloc(sizeof(Datum) * Max(tupdesc->natts, 1));
	st->nulls = palloc(sizeof(bool) * Max(tupdesc->natts, 1));
	st->temp_cxt = AllocSetContextCreate(estate->es_query_cxt, "oq_fdw modify row",
										 ALLOCSET_DEFAULT_SIZES);
	if (operation == CMD_INSERT)
		st->progress = progress_of(estate);
	return st;
}

void
oqBeginForeignModify(ModifyTableState *mtstate, ResultRelInfo *rinfo,
					 List *fdw_private, int subplan_index, int eflags)
{
	EState	   *estate = mtstate->ps.state;
	Relation	rel = rinfo->ri_RelationDesc;
	Oid			userid = oq_modify_user(rinfo, estate);
	OqModifyState *st;
	List	   *attnos;

	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;

	st = oq_modify_state_create(estate, rinfo, mtstate->operation, userid,
					  boolVal(list_nth(fdw_private, OQ_MPRIV_RETURNING)));
	rinfo->ri_FdwState = st;
	attnos = (List *) list_nth(fdw_private, OQ_MPRIV_ATTNOS);
	if (st->operation == CMD_INSERT)
	{
		for (int f = 0; f < OQ_NUM_INSERT_FIELDS; f++)
			st->attnos[f] = (AttrNumber) list_nth_int(attnos, f);
	}
	else
	{
		Plan	   *subplan = outerPlanState(mtstate)->plan;

		st->tags_attno = (AttrNumber) linitial_int(attnos);
		st->junk_id = ExecFindJunkAttributeInTlist(subplan->targetlist,
												   junk_name("oq_id", oq_column_of_field(rel, "id")));
		st->junk_etag = ExecFindJunkAttributeInTlist(subplan->targetlist,
													 junk_name("oq_etag", oq_column_of_field(rel, "etag")));
		if (!AttributeNumberIsValid(st->junk_id) || !AttributeNumberIsValid(st->junk_etag))
			elog(ERROR, "the row identity columns are missing from the UPDATE's plan");
		oq_update_init(st, estate, fdw_private);
	}
}

/*
 * Rows routed to the table (INSERT or COPY into a partitioned parent) or
 * copied into it: no plan says which columns the statement gives, so
 * every column comes, and those a submit does not take must be NULL.
 */
void
oqBeginForeignInsert(ModifyTableState *mtstate, ResultRelInfo *rinfo)
{
	EState	   *estate = mtstate->ps.state;
	Relation	rel = rinfo->ri_RelationDesc;
	TupleDesc	tupdesc = RelationGetDescr(rel);
	OqModifyState *st;

	/* an UPDATE moving a row here would delete it elsewhere: a new task? */
	if (mtstate->operation != CMD_INSERT)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot move a row into foreign table \"%s\"",
						RelationGetRelationName(rel)),
				 errdetail("An UPDATE that changes a row's partition would submit a new task; INSERT it instead.")));
	if (mtstate->ps.plan &&
		castNode(ModifyTable, mtstate->ps.plan)->onConflictAction != ONCONFLICT_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("ON CONFLICT is not supported on foreign table \"%s\"",
						RelationGetRelationName(rel))));
	if (rinfo->ri_FdwState != NULL)
		elog(ERROR, "foreign table \"%s\" already has a modify state",
			 RelationGetRelationName(rel));

	st = oq_modify_state_create(estate, rinfo, CMD_INSERT, oq_modify_user(rinfo, estate),
					  rinfo->ri_projectReturning != NULL ||
					  rinfo->ri_returningList != NIL);
	rinfo->ri_FdwState = st;
	for (int i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		const char *field;
		int			f;
		bool		type_ok = false;

		if (att->attisdropped)
			continue;
		field = oq_column_field(RelationGetRelid(rel), att->attnum);
		for (f = 0; f < OQ_NUM_INSERT_FIELDS; f++)
			if (strcmp(insert_fields[f].field, field) == 0)
				break;
		if (f < OQ_NUM_INSERT_FIELDS)
			for (int t = 0; t < 3 && OidIsValid(insert_fields[f].types[t]); t++)
				type_ok |= insert_fields[f].types[t] == att->atttypid;
		if (type_ok)
			st->attnos[f] = att->attnum;
		else
			st->null_attnos = lappend_int(st->null_attnos, att->attnum);
	}

	/*
	 * Before PostgreSQL 16, COPY (no plan) hands foreign rows over one at a
	 * time (16 batches them through ExecForeignBatchInsert).  Nothing needs
	 * a row written before the next comes, unless row triggers or RETURNING
	 * look at it: so the rows wait here and are written a batch at a time.
	 */
#if PG_VERSION_NUM < 160000
	if (mtstate->ps.plan == NULL && st->batch_size > 1 && !st->returning &&
		!(rinfo->ri_TrigDesc &&
		  (rinfo->ri_TrigDesc->trig_insert_before_row ||
		   rinfo->ri_TrigDesc->trig_insert_after_row)))
	{
		st->buffer_cxt = AllocSetContextCreate(estate->es_query_cxt,
											   "oq_fdw copied rows",
											   ALLOCSET_DEFAULT_SIZES);
		st->buffered = MemoryContextAlloc(estate->es_query_cxt,
										  sizeof(OqSubmitSpec) * st->batch_size);
	}
#endif
}

/* Put a stored task object into a slot (RETURNING, rechecks), its values in 'cxt' */
void
oq_modify_store_task(OqModifyState *st, TupleTableSlot *slot, MemoryContext cxt,
					 const char *key, const char *body, size_t len, const char *etag)
{
	OqTaskDoc	doc;
	char	   *problem;
	MemoryContext oldcxt = MemoryContextSwitchTo(cxt);

	if (!oq_task_decode(body, len, &doc, &problem))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
				 errmsg("could not read task object \"%s\" in bucket \"%s\"",
						key, st->conn->opts.bucket),
				 errdetail_internal("%s", problem)));
	ExecClearTuple(slot);
	oq_row_build(&st->rb, &doc, key, etag, slot->tts_values, slot->tts_isnull);
	MemoryContextSwitchTo(oldcxt);
	ExecStoreVirtualTuple(slot);
}

/* ---- INSERT ---- */

/* Check a row and make its submit; writes nothing */
static void
row_spec(OqModifyState *st, TupleTableSlot *slot, OqSubmitSpec *specp)
{
	OqSubmitSpec spec;
	Datum		v;
	bool		isnull;
	ListCell   *lc;

	oq_submit_spec_init(&spec);
	slot_getallattrs(slot);

	foreach(lc, st->null_attnos)
	{
		AttrNumber	attno = (AttrNumber) lfirst_int(lc);

		if (!slot->tts_isnull[attno - 1])
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot set column \"%s\" in an INSERT into foreign table \"%s\"",
							NameStr(TupleDescAttr(RelationGetDescr(st->rel), attno - 1)->attname),
							RelationGetRelationName(st->rel)),
					 errdetail("An INSERT submits new pending tasks: only task_type, input, tags, available_at, max_retries, timeout_seconds and id can be given; rows routed or copied into the table must have NULL in its other columns.")));
	}

#define INSERT_VALUE(f) \
	(st->attnos[f] != InvalidAttrNumber && \
	 (v = slot->tts_values[st->attnos[f] - 1], !(isnull = slot->tts_isnull[st->attnos[f] - 1])))

	if (!INSERT_VALUE(OQ_INS_TASK_TYPE))
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("an INSERT into foreign table \"%s\" needs a task_type",
						RelationGetRelationName(st->rel))));
	oq_submit_set_task_type(&spec, DatumGetTextPP(v));
	if (INSERT_VALUE(OQ_INS_INPUT))
		oq_submit_set_input(&spec, DatumGetJsonbP(v));
	else
		spec.input_json = "{}";	/* oq_submit's default */
	if (INSERT_VALUE(OQ_INS_TAGS))
		oq_submit_set_tags(&spec, DatumGetJsonbP(v));
	if (INSERT_VALUE(OQ_INS_AVAILABLE_AT))
		oq_submit_set_available_at(&spec, DatumGetTimestampTz(v), "available_at");
	if (INSERT_VALUE(OQ_INS_MAX_RETRIES))
		oq_submit_set_max_retries(&spec, TupleDescAttr(RelationGetDescr(st->rel),
													   st->attnos[OQ_INS_MAX_RETRIES] - 1)->atttypid == INT8OID ?
								  DatumGetInt64(v) : DatumGetInt32(v));
	if (INSERT_VALUE(OQ_INS_TIMEOUT_SECONDS))
		oq_submit_set_timeout_seconds(&spec, TupleDescAttr(RelationGetDescr(st->rel),
														   st->attnos[OQ_INS_TIMEOUT_SECONDS] - 1)->atttypid == INT8OID ?
									  DatumGetInt64(v) : DatumGetInt32(v));
	if (INSERT_VALUE(OQ_INS_ID))
		spec.id = DatumGetCString(DirectFunctionCall1(uuid_out, v));
#undef INSERT_VALUE

	*specp = spec;
}

/* A write of the batch ended: note a stored task (row counts from 1) */
static void
note_write(OqModifyState *st, OqTaskWrite *w, int64 row)
{
	if (w->outcome == OQ_WRITE_OK && row > st->progress->last_row)
	{
		st->progress->last_row = row;
		strlcpy(st->progress->last_id, w->id, sizeof(st->progress->last_id));
	}
	if (w->outcome == OQ_WRITE_OK)
		st->progress->stored++;
}

static int
write_index(List *writes, OqTaskWrite *w)
{
	ListCell   *lc;

	foreach(lc, writes)
	{
		if (lfirst(lc) == w)
			return foreach_current_index(lc);
	}
	return -1;
}

/*
 * Drive every write of the batch to its end, then ERROR with the first
 * failure.  The others finish first: what they stored is then known.
 */
static void
run_writes(OqModifyState *st, List *writes, int64 first_row)
{
	int			pending = 0;
	ListCell   *lc;

	foreach(lc, writes)
	{
		OqTaskWrite *w = (OqTaskWrite *) lfirst(lc);

		if (oq_task_write_done(w))
			note_write(st, w, first_row + foreach_current_index(lc) + 1);
		else
			pending++;
	}
	while (pending > 0)
	{
		OqRequest  *req = oq_batch_next(st->batch);
		OqTaskWrite *w;

		if (req == NULL)
			elog(ERROR, "task writes stalled with no request in flight");
		w = oq_task_write_of(req);
		oq_task_write_handle(w, req);
		if (oq_task_write_done(w))
		{
			note_write(st, w, first_row + write_index(writes, w) + 1);
			pending--;
		}
	}
	foreach(lc, writes)
		oq_task_write_report((OqTaskWrite *) lfirst(lc));
}

/*
 * An error cut the statement short: add what it stored to the detail, so
 * that a user can resume without duplicates.
 */
static void
rethrow_with_progress(OqModifyState *st, MemoryContext cxt)
{
	ErrorData  *edata;
	OqInsertProgress *p = st->progress;
	int			unknown = 0;
	char	   *detail = NULL;
	ListCell   *lc;

	MemoryContextSwitchTo(cxt);
	edata = CopyErrorData();
	FlushErrorState();

	/* a PUT sent and not answered, or answered ambiguously: it may be there */
	foreach(lc, st->batch_writes)
	{
		OqTaskWrite *w = (OqTaskWrite *) lfirst(lc);

		if (!oq_task_write_done(w) && w->outcome != OQ_WRITE_OK && w->put != NULL)
			unknown++;
	}

	if (p->stored > 0)
		detail = psprintf("Tasks this statement stored before the error: %lld; the last of them, in the order the rows were given: %s.",
						  (long long) p->stored, p->last_id);
	if (unknown > 0)
	{
		char	   *more = psprintf("Writes in flight when it occurred, whose tasks may or may not be stored: %d.",
									unknown);

		detail = detail ? psprintf("%s %s", detail, more) : more;
	}
	if (detail)
		edata->detail = edata->detail ? psprintf("%s\n%s", edata->detail, detail) : detail;
	ReThrowError(edata);
}

/* Write a batch of checked rows; returns the writes, all succeeded */
static List *
submit_batch(OqModifyState *st, OqSubmitSpec *specs, int n)
{
	List	   *writes = NIL;
	int64		first_row = st->progress->rows;

	for (int i = 0; i < n; i++)
	{
		writes = lappend(writes, oq_task_submit_begin(st->batch, &specs[i]));
		st->batch_writes = writes;
		st->progress->rows++;
	}
	run_writes(st, writes, first_row);
	st->batch_writes = NIL;
	return writes;
}

static void
free_writes(List *writes)
{
	ListCell   *lc;

	foreach(lc, writes)
		oq_task_write_free((OqTaskWrite *) lfirst(lc));
	list_free(writes);
}

/* The rows COPY handed over one at a time, as one batch */
static void
flush_buffered(OqModifyState *st)
{
	if (st->nbuffered > 0)
		free_writes(submit_batch(st, st->buffered, st->nbuffered));
	st->nbuffered = 0;
	MemoryContextReset(st->buffer_cxt);
}

TupleTableSlot **
oqExecForeignBatchInsert(EState *estate, ResultRelInfo *rinfo,
						 TupleTableSlot **slots, TupleTableSlot **planSlots,
						 int *numSlots)
{
	OqModifyState *st = (OqModifyState *) rinfo->ri_FdwState;
	MemoryContext cxt = CurrentMemoryContext;
	List	   *volatile writes = NIL;

	/* the previous row's RETURNING values lived here until now */
	MemoryContextReset(st->temp_cxt);
	PG_TRY();
	{
		if (st->buffered != NULL && *numSlots == 1)
		{
			/* COPY: keep the checked row, write when a batch is full */
			MemoryContext oldcxt = MemoryContextSwitchTo(st->buffer_cxt);

			row_spec(st, slots[0], &st->buffered[st->nbuffered++]);
			MemoryContextSwitchTo(oldcxt);
			if (st->nbuffered == st->batch_size)
				flush_buffered(st);
		}
		else
		{
			OqSubmitSpec *specs = palloc(sizeof(OqSubmitSpec) * *numSlots);

			/* every row of the batch is checked before any is written */
			for (int i = 0; i < *numSlots; i++)
				row_spec(st, slots[i], &specs[i]);
			writes = submit_batch(st, specs, *numSlots);
		}
	}
	PG_CATCH();
	{
		rethrow_with_progress(st, cxt);
	}
	PG_END_TRY();

	/* RETURNING: one row at a time (batch size 1), from the stored object */
	if (st->returning)
	{
		OqTaskWrite *w = (OqTaskWrite *) linitial(writes);

		oq_modify_store_task(st, slots[0], st->temp_cxt, w->key, w->body, w->body_len, w->etag);
	}
	free_writes(writes);
	return slots;
}

TupleTableSlot *
oqExecForeignInsert(EState *estate, ResultRelInfo *rinfo, TupleTableSlot *slot,
					TupleTableSlot *planSlot)
{
	int			one = 1;

	return oqExecForeignBatchInsert(estate, rinfo, &slot, &planSlot, &one)[0];
}

void
oqEndForeignInsert(EState *estate, ResultRelInfo *rinfo)
{
	OqModifyState *st = (OqModifyState *) rinfo->ri_FdwState;
	MemoryContext cxt = CurrentMemoryContext;

	if (st != NULL && st->buffered != NULL)
	{
		PG_TRY();
		{
			flush_buffered(st);
		}
		PG_CATCH();
		{
			rethrow_with_progress(st, cxt);
		}
		PG_END_TRY();
	}
	oqEndForeignModify(estate, rinfo);
}

int
oqGetForeignModifyBatchSize(ResultRelInfo *rinfo)
{
	OqModifyState *st = (OqModifyState *) rinfo->ri_FdwState;

	/*
	 * PostgreSQL does not process RETURNING or row triggers of batched
	 * inserts: those go one row at a time (the rule of postgres_fdw).
	 */
	if (st == NULL || rinfo->ri_projectReturning != NULL ||
		(rinfo->ri_TrigDesc &&
		 (rinfo->ri_TrigDesc->trig_insert_before_row ||
		  rinfo->ri_TrigDesc->trig_insert_after_row)))
		return 1;
	return st->batch_size;
}

/*
 * EXPLAIN ANALYZE: the requests the writes made, as a scan shows its own
 * (the scan that feeds an UPDATE shows what it read).
 */
void
oq_modify_explain_requests(OqModifyState *st, ExplainState *es, bool direct)
{
	OqBatch    *batch = st->batch;

	/*
	 * An UPDATE without RETURNING leaves writes in flight for the end of the
	 * statement, which comes after EXPLAIN prints: finish them now, so that
	 * what is shown is all the statement did.
	 */
	if (st->operation == CMD_UPDATE)
		oq_update_drain(st, 0);

	if (es->format == EXPLAIN_FORMAT_TEXT)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		appendStringInfo(&buf, "get=%lld put=%lld",
						 (long long) batch->requests[OQ_OP_GET],
						 (long long) batch->requests[OQ_OP_PUT]);
		if (batch->requests[OQ_OP_DELETE] > 0)
			appendStringInfo(&buf, " delete=%lld", (long long) batch->requests[OQ_OP_DELETE]);
		if (batch->requests[OQ_OP_HEAD] > 0)
			appendStringInfo(&buf, " head=%lld", (long long) batch->requests[OQ_OP_HEAD]);
		if (batch->requests[OQ_OP_LIST] > 0)
			appendStringInfo(&buf, " list=%lld", (long long) batch->requests[OQ_OP_LIST]);
		if (batch->retries > 0)
			appendStringInfo(&buf, " retries=%lld", (long long) batch->retries);
		if (batch->precondition_failed > 0)
			appendStringInfo(&buf, " precondition_failed=%lld",
							 (long long) batch->precondition_failed);
		/* the direct path's node shows its scan's requests too */
		ExplainPropertyText(direct ? "S3 Write Requests" : "S3 Requests", buf.data, es);
	}
	else
	{
#define WRITE_LABEL(l) (direct ? "S3 Write " l : "S3 " l)
		ExplainPropertyInteger(WRITE_LABEL("Get Requests"), NULL, batch->requests[OQ_OP_GET], es);
		ExplainPropertyInteger(WRITE_LABEL("Put Requests"), NULL, batch->requests[OQ_OP_PUT], es);
		ExplainPropertyInteger(WRITE_LABEL("Delete Requests"), NULL, batch->requests[OQ_OP_DELETE], es);
		ExplainPropertyInteger(WRITE_LABEL("Head Requests"), NULL, batch->requests[OQ_OP_HEAD], es);
		ExplainPropertyInteger(WRITE_LABEL("List Requests"), NULL, batch->requests[OQ_OP_LIST], es);
		ExplainPropertyInteger(WRITE_LABEL("Retries"), NULL, batch->retries, es);
		ExplainPropertyInteger(WRITE_LABEL("Precondition Failed"), NULL,
							   batch->precondition_failed, es);
#undef WRITE_LABEL
	}
}

void
oqExplainForeignModify(ModifyTableState *mtstate, ResultRelInfo *rinfo,
					   List *fdw_private, int subplan_index, ExplainState *es)
{
	OqServerOptions opts;
	Relation	rel = rinfo->ri_RelationDesc;
	OqModifyState *st = (OqModifyState *) rinfo->ri_FdwState;

	oq_server_options(GetForeignServer(GetForeignTable(RelationGetRelid(rel))->serverid),
					  &opts);
	ExplainPropertyText("Oq Bucket", opts.bucket, es);
	if (mtstate->operation == CMD_INSERT && rinfo->ri_BatchSize > 1)
		ExplainPropertyInteger("Batch Size", NULL, rinfo->ri_BatchSize, es);
	if (mtstate->operation == CMD_UPDATE &&
		boolVal(list_nth(fdw_private, OQ_MPRIV_RETURNING)))
		ExplainPropertyText("Oq Returning",
							psprintf("one row at a time (%s)",
									 strVal(list_nth(fdw_private, OQ_MPRIV_ROW_BY_ROW))),
							es);
	if (es->analyze && st != NULL && st->batch != NULL)
		oq_modify_explain_requests(st, es, false);
}

void
oqEndForeignModify(EState *estate, ResultRelInfo *rinfo)
{
	OqModifyState *st = (OqModifyState *) rinfo->ri_FdwState;

	if (st != NULL)
		oq_modify_state_end(st);
}

void
oq_modify_state_end(OqModifyState *st)
{
	if (st->operation == CMD_UPDATE)
	{
		oq_update_drain(st, 0);
		if (st->skipped > 0)
			ereport(NOTICE,
					(errmsg_plural("%lld task changed concurrently and no longer matched",
								   "%lld tasks changed concurrently and no longer matched",
								   st->skipped,
								   (long long) st->skipped),
					 errdetail_plural("It was left unchanged; the UPDATE's row count includes it.",
									  "They were left unchanged; the UPDATE's row count includes them.",
									  st->skipped)));
		if (st->recheck_slot)
			ExecDropSingleTupleTableSlot(st->recheck_slot);
	}
	oq_batch_destroy(st->batch);
	st->batch = NULL;
}

/*
 * The direct UPDATE's conditions, asked here so that this path's EXPLAIN
 * can say why it runs instead (directmodify.c sits above this module)
 */

/*
 * The ForeignScan that feeds this result relation: the subplan itself, or
 * its subplan_index'th child of an Append (possibly under a Result), as
 * postgres_fdw finds it.  Anything deeper would mean a join.
 */
static ForeignScan *
find_scan(ModifyTable *plan, Index rti, int subplan_index)
{
	Plan	   *subplan = outerPlan(plan);
	Append	   *append = NULL;

	if (IsA(subplan, Append))
		append = (Append *) subplan;
	else if (IsA(subplan, Result) && outerPlan(subplan) != NULL &&
			 IsA(outerPlan(subplan), Append))
		append = (Append *) outerPlan(subplan);
	if (append)
		subplan = subplan_index < list_length(append->appendplans) ?
			(Plan *) list_nth(append->appendplans, subplan_index) : NULL;

	if (subplan && IsA(subplan, ForeignScan) &&
		((ForeignScan *) subplan)->scan.scanrelid == rti)
		return (ForeignScan *) subplan;
	return NULL;
}

#if PG_VERSION_NUM >= 180000
static bool
refers_to_old_or_new(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var) && ((Var *) node)->varreturningtype != VAR_RETURNING_DEFAULT)
		return true;
	if (IsA(node, ReturningExpr))
		return true;
	return expression_tree_walker(node, refers_to_old_or_new, context);
}
#endif

const char *
oq_direct_update_refusal(PlannerInfo *root, ModifyTable *plan, Index rti,
						 int subplan_index, List *mpriv, ForeignScan **fscanp)
{
	RangeTblEntry *rte = planner_rt_fetch(rti, root);
	Relation	rel = table_open(rte->relid, NoLock);
	bool		triggers;
	bool		generated;
	int			natts = RelationGetNumberOfAttributes(rel);
	ForeignScan *fscan;
	ListCell   *lc;

	triggers = rel->trigdesc &&
		(rel->trigdesc->trig_update_before_row || rel->trigdesc->trig_update_after_row);
	generated = rel->rd_att->constr && rel->rd_att->constr->has_generated_stored;
	table_close(rel, NoLock);

	if (triggers)
		return "the table has row triggers";
	if (generated)
		return "the table has generated columns";
	if (plan->withCheckOptionLists != NIL)
		return "a view's WITH CHECK OPTION applies";
	if (!boolVal(list_nth(mpriv, OQ_MPRIV_RECHECK)))
		return "the UPDATE refers to other tables, subqueries or parameters";
	foreach(lc, find_base_rel(root, rti)->baserestrictinfo)
	{
		/*
		 * A security barrier view's conditions must be evaluated before the
		 * user's: PostgreSQL orders them, the WHERE list here is not.
		 */
		if (lfirst_node(RestrictInfo, lc)->security_level > 0)
			return "a security barrier view's conditions apply";
	}
	if (contain_volatile_functions((Node *) list_nth(mpriv, OQ_MPRIV_WHERE)) ||
		contain_volatile_functions((Node *) list_nth(mpriv, OQ_MPRIV_SET)))
		return "its WHERE clause or SET expression calls a volatile function";
#if PG_VERSION_NUM >= 180000
	if (refers_to_old_or_new((Node *) list_nth(plan->returningLists, subplan_index), NULL))
		return "RETURNING refers to OLD or NEW";
#endif
	fscan = find_scan(plan, rti, subplan_index);
	if (fscan == NULL || fscan->operation != CMD_SELECT)
		return "the rows do not come from a scan of the table alone";
	/* the scan must build every column: RETURNING may show any */
	if (list_length((List *) list_nth(fscan->fdw_private, OQ_PRIV_ATTRS)) != natts)
		return "the scan does not read every column";
	if (fscanp)
		*fscanp = fscan;
	return NULL;
}
