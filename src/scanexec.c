/*-------------------------------------------------------------------------
 *
 * scanexec.c
 *		The executor's side of a foreign scan of tasks: evaluate the
 *		pushed-down values, run the scan (scan.c) and build each row,
 *		describe it in EXPLAIN, and share it among parallel workers.
 *
 * Planning (oq_fdw.c) decided the access path and wrote it into the
 * plan's fdw_private (scanexec.h); this module only carries it out.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/table.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"

#include "compat.h"
#include "connection.h"
#include "filter.h"
#include "option.h"
#include "pushdown.h"
#include "scan.h"
#include "scanexec.h"
#include "sharedcache.h"
#include "tagindex.h"
#include "tagmarker.h"
#include "taskcache.h"
#include "taskjson.h"
#include "taskrow.h"

typedef struct OqScanState
{
	Relation	rel;
	OqConnection *conn;
	OqRowBuilder rb;
	List	   *quals;			/* OqQualDesc */
	List	   *arg_states;		/* ExprState of each fdw_exprs value */
	MemoryContext filter_cxt;	/* the filter of the current (re)scan */
	OqScan	   *scan;
	OqParallelScan *parallel;	/* shared state of a parallel scan */
	bool		started;		/* values evaluated, requests under way */
	bool		index_gone;		/* planned on the index, whose marker was
								 * gone at execution: a full listing */
	void	   *direct;			/* a direct UPDATE's state (directmodify.c) */
} OqScanState;

/* Evaluate the pushed-down values for this (re)scan and build the filter */
static OqFilter *
build_filter(ForeignScanState *node, OqScanState *state)
{
	ExprContext *econtext = node->ss.ps.ps_ExprContext;
	int			nargs = list_length(state->arg_states);
	Datum	   *args = palloc0(sizeof(Datum) * Max(nargs, 1));
	bool	   *nulls = palloc0(sizeof(bool) * Max(nargs, 1));
	MemoryContext oldcxt;
	ListCell   *lc;
	int			i = 0;
	OqFilter   *filter;

	MemoryContextReset(state->filter_cxt);
	oldcxt = MemoryContextSwitchTo(state->filter_cxt);
	foreach(lc, state->arg_states)
	{
		ExprState  *es = (ExprState *) lfirst(lc);

		args[i] = ExecEvalExpr(es, econtext, &nulls[i]);
		i++;
	}
	filter = oq_filter_build(state->quals, args, nulls);
	MemoryContextSwitchTo(oldcxt);
	return filter;
}

void
oqBeginForeignScan(ForeignScanState *node, int eflags)
{
	ForeignScan *plan = (ForeignScan *) node->ss.ps.plan;
	EState	   *estate = node->ss.ps.state;
	Oid			userid = oq_scan_user(node);
	Relation	rel = node->ss.ss_currentRelation;
	OqScanState *state;
	OqTableOptions topts;
	OqAccessKind access = (OqAccessKind) intVal(list_nth(plan->fdw_private,
														 OQ_PRIV_ACCESS));

	/*
	 * A plan can outlive its statement (prepared statements, PL/pgSQL):
	 * the index is trusted only if the marker is still there now.  That is
	 * the one request EXPLAIN without ANALYZE may make, so that it shows
	 * the path that would run.
	 */
	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
	{
		OqServerOptions opts;

		oq_server_options(GetForeignServer(GetForeignTable(RelationGetRelid(rel))->serverid),
						  &opts);
		if (access != OQ_ACCESS_INDEX || opts.tag_index_mode != OQ_TAG_INDEX_AUTO)
			return;
	}

	state = palloc0(sizeof(OqScanState));
	node->fdw_state = state;
	state->rel = rel;
	state->conn = oq_get_connection(GetForeignTable(RelationGetRelid(rel))->serverid,
									userid);
	if (access == OQ_ACCESS_INDEX &&
		state->conn->opts.tag_index_mode == OQ_TAG_INDEX_AUTO &&
		!oq_tag_index_kept(state->conn))
	{
		access = OQ_ACCESS_FULL;
		state->index_gone = true;
	}
	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;

	oq_row_builder_init(&state->rb, rel, false,
						(List *) list_nth(plan->fdw_private, OQ_PRIV_ATTRS));
	state->quals = oq_quals_deserialize((List *) list_nth(plan->fdw_private, OQ_PRIV_QUALS));
	state->arg_states = ExecInitExprList(plan->fdw_exprs, (PlanState *) node);
	state->filter_cxt = AllocSetContextCreate(estate->es_query_cxt, "oq_fdw filter",
											  ALLOCSET_SMALL_SIZES);

	oq_table_options(RelationGetRelid(rel), &topts);
	state->scan = oq_scan_create(state->conn, RelationGetRelationName(rel),
								 access, topts.on_invalid);
	state->scan->index_not_kept = state->index_gone ||
		boolVal(list_nth(plan->fdw_private, OQ_PRIV_INDEX_NOT_KEPT));
	state->scan->rb = &state->rb;
}

TupleTableSlot *
oqIterateForeignScan(ForeignScanState *node)
{
	OqScanState *state = (OqScanState *) node->fdw_state;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;
	const OqTaskDoc *doc;

	/*
	 * Evaluate the pushed-down values at the first fetch, not in
	 * BeginForeignScan: a nested loop sets its parameters only then.
	 */
	if (!state->started)
	{
		state->scan->parallel = state->parallel;
		oq_scan_start(state->scan, build_filter(node, state));
		state->started = true;
	}

	ExecClearTuple(slot);
	doc = oq_scan_next(state->scan);
	if (doc == NULL)
		return slot;

	oq_row_build(&state->rb, doc, state->scan->current_key,
				 state->scan->current_etag, slot->tts_values, slot->tts_isnull);
	return ExecStoreVirtualTuple(slot);
}

void	  **
oq_scan_direct_state(ForeignScanState *node)
{
	OqScanState *state = (OqScanState *) node->fdw_state;

	return state ? &state->direct : NULL;
}

void
oqReScanForeignScan(ForeignScanState *node)
{
	OqScanState *state = (OqScanState *) node->fdw_state;

	/* the next fetch starts again, with the parameters' new values */
	oq_scan_reset(state->scan);
	state->started = false;
}

void
oqEndForeignScan(ForeignScanState *node)
{
	OqScanState *state = (OqScanState *) node->fdw_state;

	if (state && state->scan)
		oq_scan_end(state->scan);
}

/*
 * The quals with the column first: where the planner put the outer side of
 * a join clause on the left ("$0 = t.id", as 15 does; 17 does not), swap
 * the operands, so that EXPLAIN reads the same on every release.  For
 * display only.
 */
static List *
column_first(List *quals)
{
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, quals)
	{
		Expr	   *qual = lfirst(lc);
		OpExpr	   *op = (OpExpr *) qual;

		if (IsA(qual, OpExpr) && list_length(op->args) == 2 &&
			IsA(linitial(op->args), Param) && !IsA(lsecond(op->args), Param) &&
			OidIsValid(get_commutator(op->opno)))
		{
			op = copyObject(op);
			op->opno = get_commutator(op->opno);
			op->opfuncid = InvalidOid;
			op->args = list_make2(lsecond(op->args), linitial(op->args));
			qual = (Expr *) op;
		}
		result = lappend(result, qual);
	}
	return result;
}

void
oqExplainForeignScan(ForeignScanState *node, ExplainState *es)
{
	ForeignScan *plan = (ForeignScan *) node->ss.ps.plan;
	OqScanState *state = (OqScanState *) node->fdw_state;
	Relation	rel = node->ss.ss_currentRelation;
	OqServerOptions opts;

	oq_server_options(GetForeignServer(GetForeignTable(RelationGetRelid(rel))->serverid),
					  &opts);
	ExplainPropertyText("Oq Bucket", opts.bucket, es);
	ExplainPropertyText("Oq Access",
						strVal(list_nth(plan->fdw_private, OQ_PRIV_DESCRIPTION)), es);
	if (plan->fdw_recheck_quals != NIL)
	{
		List	   *context = set_deparse_context_plan(es->deparse_cxt,
													   (Plan *) plan, NIL);
		Expr	   *quals = make_ands_explicit(column_first(plan->fdw_recheck_quals));

		ExplainPropertyText("Oq Filter",
							deparse_expression((Node *) quals, context,
											   list_length(es->rtable) > 1,
											   false),
							es);
	}

	if (state && state->index_gone)
		ExplainPropertyText("Oq Access Used",
							"full listing of tasks/ (bucket has no tag index since the plan was made; oq_rebuild_tag_index() builds one)",
							es);

	if (es->analyze && state && state->scan)
	{
		OqScan	   *scan = state->scan;
		OqScanCounters c = scan->counters;
		int			i;

		/* counters of the running batch, if the scan was cut short */
		if (scan->batch)
		{
			for (i = 0; i < OQ_NUM_OPS; i++)
				c.requests[i] += scan->batch->requests[i];
			c.retries += scan->batch->retries;
		}
		if (es->format == EXPLAIN_FORMAT_TEXT)
		{
			char	   *requests = psprintf("list=%lld get=%lld",
											(long long) c.requests[OQ_OP_LIST],
											(long long) c.requests[OQ_OP_GET]);

			if (c.retries > 0)
				requests = psprintf("%s retries=%lld", requests, (long long) c.retries);
			ExplainPropertyText("S3 Requests", requests, es);
			if (scan->access == OQ_ACCESS_INDEX)
				ExplainPropertyText("Tag Index",
									psprintf("entries=%lld matched=%lld stale=%lld",
											 (long long) c.index_entries,
											 (long long) c.index_matched,
											 (long long) c.index_stale), es);
			if (c.cache_hits > 0)
				ExplainPropertyText("Task Cache",
									psprintf(oq_shcache_active() ? "hits=%lld (shared)" : "hits=%lld",
											 (long long) c.cache_hits), es);
			/* scans whose run-time values the index could not answer */
			if (c.index_fallbacks > 0)
				ExplainPropertyInteger("Tag Index Fallbacks", NULL,
									   c.index_fallbacks, es);
		}
		else
		{
			ExplainPropertyInteger("S3 List Requests", NULL, c.requests[OQ_OP_LIST], es);
			ExplainPropertyInteger("S3 Get Requests", NULL, c.requests[OQ_OP_GET], es);
			ExplainPropertyInteger("S3 Retries", NULL, c.retries, es);
			ExplainPropertyInteger("Tag Index Entries", NULL, c.index_entries, es);
			ExplainPropertyInteger("Tag Index Matched", NULL, c.index_matched, es);
			ExplainPropertyInteger("Tag Index Stale", NULL, c.index_stale, es);
			ExplainPropertyInteger("Task Cache Hits", NULL, c.cache_hits, es);
			if (oq_shcache_active())
				ExplainPropertyBool("Task Cache Shared", true, es);
			ExplainPropertyInteger("Tag Index Fallbacks", NULL, c.index_fallbacks, es);
		}
		if (c.invalid_skipped > 0)
			ExplainPropertyInteger("Invalid Tasks Skipped", NULL, c.invalid_skipped, es);
	}
}

/*
 * Parallel scans
 */

bool
oqIsForeignScanParallelSafe(PlannerInfo *root, RelOptInfo *rel, RangeTblEntry *rte)
{
	/* every participant opens its own connection; nothing is shared but the chain counter */
	return true;
}

Size
oqEstimateDSMForeignScan(ForeignScanState *node, ParallelContext *pcxt)
{
	return sizeof(OqParallelScan);
}

void
oqInitializeDSMForeignScan(ForeignScanState *node, ParallelContext *pcxt,
						   void *coordinate)
{
	OqScanState *state = (OqScanState *) node->fdw_state;
	OqParallelScan *parallel = (OqParallelScan *) coordinate;

	pg_atomic_init_u32(&parallel->next_chain, 0);
	if (state)
		state->parallel = parallel;
}

void
oqReInitializeDSMForeignScan(ForeignScanState *node, ParallelContext *pcxt,
							 void *coordinate)
{
	pg_atomic_write_u32(&((OqParallelScan *) coordinate)->next_chain, 0);
}

void
oqInitializeWorkerForeignScan(ForeignScanState *node, shm_toc *toc,
							  void *coordinate)
{
	OqScanState *state = (OqScanState *) node->fdw_state;

	if (state)
		state->parallel = (OqParallelScan *) coordinate;
}
