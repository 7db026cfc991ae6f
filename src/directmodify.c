/*-------------------------------------------------------------------------
 *
 * directmodify.c
 *		UPDATE ... RETURNING with many writes in flight: the foreign scan
 *		reads each task, decides, writes, rechecks, and hands back a row
 *		only once its write has settled.
 *
 * Why a direct modify.  On the ordinary path, PostgreSQL hands a row to
 * ExecForeignUpdate and, with RETURNING, evaluates RETURNING on the slot
 * that call returns, at once: the row must be written (and any recheck of
 * a concurrent change done) before the next row can even be read, so the
 * writes go one at a time.  Without RETURNING, modify.c leaves them in
 * flight, but a returned row cannot wait.  With the direct modify
 * callbacks, the ForeignScan node of the table does the whole UPDATE and
 * gives PostgreSQL the rows to evaluate RETURNING on when it likes: here,
 * the scan runs ahead and keeps up to max_concurrency guarded writes in
 * flight; a row is handed back once its write succeeded, with the task as
 * that write stored it (its tags, updated_at and ETag): never a guess.
 * Rows come back in the order the scan read them.
 *
 * The decisions are modify.c's, shared, not copied: the WHERE clause (all
 * of it: the conditions the scan sends to S3 and those PostgreSQL would
 * have evaluated) and the SET expression are evaluated on the scanned row;
 * the write is guarded by its ETag; a task changed meanwhile (412, or a
 * different version read) is evaluated again on its new version, written
 * if it still matches (the returned row shows the rechecked result) and
 * dropped if not; a task deleted meanwhile is dropped.  A failed write is
 * an error, raised when it fails, as on the ordinary path.  Only rows
 * really updated are counted.
 *
 * When the path is taken.  Only for UPDATE with RETURNING (without it,
 * modify.c already keeps writes in flight), and only when the scan can
 * decide alone: the plan's subplan for the table is our ForeignScan of it
 * (directly, or a child of the Append of a partitioned or inherited
 * UPDATE); no row triggers, WITH CHECK OPTION or generated columns (core
 * checks those too); WHERE and SET refer to the table alone, with no
 * subqueries or executor parameters (what modify.c can evaluate again);
 * no security barrier view (whose conditions must go first); no volatile
 * functions (evaluated once per version decided on, not once
 * per row as PostgreSQL would); on 18, RETURNING without OLD or NEW.
 * Otherwise the ordinary path runs, one row at a time, and EXPLAIN says
 * why ("Oq Returning").  EXPLAIN shows the direct path as a "Foreign
 * Update" node, with the scan's requests and the writes' ("S3 Write
 * Requests").
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "parser/parsetree.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "compat.h"
#include "directmodify.h"
#include "modify.h"
#include "option.h"
#include "scanexec.h"

/* The direct path's part of fdw_private[OQ_PRIV_DIRECT], by position */
enum OqDirectPrivate
{
	OQ_DPRIV_MODIFY,			/* List: what oqPlanForeignModify() decided */
	OQ_DPRIV_SET_PROCESSED		/* Boolean: count the rows (canSetTag) */
};

typedef struct OqDirectModify
{
	OqModifyState *ms;			/* the writes, shared with modify.c */
	int			max_inflight;
	List	   *writes;			/* OqTaskWrite *, in the order of the scan:
								 * in flight, or succeeded and not yet
								 * handed back */
	bool		scan_done;
	bool		set_processed;
	int64		returned;
	TupleTableSlot *result_slot;	/* the row handed back */
	MemoryContext result_cxt;	/* its values, until the next call */
	MemoryContext settle_cxt;	/* rechecks, reset after each */
	MemoryContext scan_cxt;		/* reading a row, reset per row read */
} OqDirectModify;

/* ----------------------------------------------------------------
 * Planning
 * ----------------------------------------------------------------
 */

bool
oqPlanDirectModify(PlannerInfo *root, ModifyTable *plan, Index resultRelation,
				   int subplan_index)
{
	List	   *mpriv;
	ForeignScan *fscan = NULL;
	List	   *tlist = NIL;
	ListCell   *lc;

	/* without RETURNING, modify.c keeps the writes in flight already */
	if (plan->operation != CMD_UPDATE || plan->returningLists == NIL ||
		list_nth(plan->returningLists, subplan_index) == NIL)
		return false;

	/* what the ordinary path decides and refuses, with its errors */
	mpriv = oqPlanForeignModify(root, plan, resultRelation, subplan_index);
	if (oq_direct_update_refusal(root, plan, resultRelation, subplan_index,
								 mpriv, &fscan) != NULL)
		return false;

	/* set up as the ordinary path evaluates them: operators' functions set */
	fix_opfuncids((Node *) list_nth(mpriv, OQ_MPRIV_WHERE));
	fix_opfuncids((Node *) list_nth(mpriv, OQ_MPRIV_SET));

	/*
	 * The node evaluates the whole WHERE clause itself: PostgreSQL must not
	 * filter the rows it hands back (written rows, which need not match any
	 * more).  EXPLAIN shows the clause as the node's Oq Filter.
	 */
	fscan->scan.plan.qual = NIL;
	fscan->fdw_recheck_quals = list_copy((List *) list_nth(mpriv, OQ_MPRIV_WHERE));

	/*
	 * The node's target list is projected on the rows handed back: the new
	 * values there would be the SET expression evaluated once more, on the
	 * written row.  Nothing reads them on this path.  Plain columns stay:
	 * PostgreSQL reads the row identity and, through an Append, the
	 * tableoid that says which table a row belongs to (a child's target
	 * list marks nothing as junk).
	 */
	foreach(lc, fscan->scan.plan.targetlist)
	{
		TargetEntry *tle = flatCopyTargetEntry(lfirst_node(TargetEntry, lc));

		if (!IsA(tle->expr, Var))
			tle->expr = (Expr *) makeNullConst(exprType((Node *) tle->expr),
											   exprTypmod((Node *) tle->expr),
											   exprCollation((Node *) tle->expr));
		tlist = lappend(tlist, tle);
	}
	fscan->scan.plan.targetlist = tlist;

	fscan->operation = CMD_UPDATE;
	fscan->resultRelation = resultRelation;
	fscan->scan.plan.async_capable = false;
	Assert(list_length(fscan->fdw_private) == OQ_PRIV_DIRECT);
	fscan->fdw_private = lappend(fscan->fdw_private,
								 list_make2(mpriv, makeBoolean(plan->canSetTag)));
	return true;
}

/* ----------------------------------------------------------------
 * Execution
 * ----------------------------------------------------------------
 */

static OqDirectModify *
direct_state(ForeignScanState *node)
{
	void	  **p = oq_scan_direct_state(node);

	return p ? (OqDirectModify *) *p : NULL;
}

void
oqBeginDirectModify(ForeignScanState *node, int eflags)
{
	ForeignScan *plan = (ForeignScan *) node->ss.ps.plan;
	EState	   *estate = node->ss.ps.state;
	ResultRelInfo *rinfo = node->resultRelInfo;
	List	   *direct = (List *) list_nth(plan->fdw_private, OQ_PRIV_DIRECT);
	OqDirectModify *dm;

	oqBeginForeignScan(node, eflags);
	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;

	dm = palloc0(sizeof(OqDirectModify));
	dm->ms = oq_update_state_create(estate, rinfo, oq_modify_user(rinfo, estate),
									(List *) list_nth(direct, OQ_DPRIV_MODIFY));
	dm->max_inflight = Max(oq_update_max_inflight(dm->ms), 1);
	dm->set_processed = boolVal(list_nth(direct, OQ_DPRIV_SET_PROCESSED));
	dm->result_slot = ExecInitExtraTupleSlot(estate,
											 RelationGetDescr(rinfo->ri_RelationDesc),
											 &TTSOpsVirtual);
	dm->result_cxt = AllocSetContextCreate(estate->es_query_cxt,
										   "oq_fdw returned row",
										   ALLOCSET_DEFAULT_SIZES);
	dm->settle_cxt = AllocSetContextCreate(estate->es_query_cxt,
										   "oq_fdw recheck",
										   ALLOCSET_DEFAULT_SIZES);
	dm->scan_cxt = AllocSetContextCreate(estate->es_query_cxt,
										 "oq_fdw scanned row",
										 ALLOCSET_DEFAULT_SIZES);
	*oq_scan_direct_state(node) = dm;
}

/*
 * A write ended otherwise than in success: a concurrent change is
 * evaluated again (the write that follows takes its place in the order),
 * a row that no longer qualifies drops out, a failure is raised.
 */
static void
settle(OqDirectModify *dm, OqTaskWrite *w)
{
	while (oq_task_write_done(w) && w->outcome != OQ_WRITE_OK)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(dm->settle_cxt);
		ListCell   *cell = NULL;
		ListCell   *lc;
		OqTaskWrite *next;
		bool		updated;

		next = oq_update_finished(dm->ms, w, &updated);
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(dm->settle_cxt);

		foreach(lc, dm->writes)
		{
			if (lfirst(lc) == w)
				cell = lc;
		}
		if (cell == NULL)
			elog(ERROR, "a task write of the UPDATE is not in its list");
		if (next)
			lfirst(cell) = next;
		else
			dm->writes = list_delete_cell(dm->writes, cell);
		oq_task_write_free(w);
		if (next == NULL)
			return;
		w = next;
	}
}

TupleTableSlot *
oqIterateDirectModify(ForeignScanState *node)
{
	OqDirectModify *dm = direct_state(node);
	ResultRelInfo *rinfo = node->resultRelInfo;
	TupleTableSlot *result = dm->result_slot;

	/* the previous row's values were needed until now */
	ExecClearTuple(result);
	MemoryContextReset(dm->result_cxt);

	for (;;)
	{
		CHECK_FOR_INTERRUPTS();

		/* the oldest row whose write succeeded: hand it back */
		if (dm->writes != NIL && oq_task_write_done(linitial(dm->writes)))
		{
			OqTaskWrite *w = (OqTaskWrite *) linitial(dm->writes);

			Assert(w->outcome == OQ_WRITE_OK);
			oq_update_store_row(dm->ms, result, dm->result_cxt, w);
			result->tts_tableOid = RelationGetRelid(rinfo->ri_RelationDesc);
			dm->writes = list_delete_first(dm->writes);
			oq_task_write_free(w);
			dm->returned++;
			if (dm->set_processed)
				node->ss.ps.state->es_processed++;
			/* what RETURNING is evaluated on (ExecProcessReturning) */
			if (rinfo->ri_projectReturning)
				rinfo->ri_projectReturning->pi_exprContext->ecxt_scantuple = result;
			return result;
		}

		/* read ahead while there is room for another write */
		if (!dm->scan_done && list_length(dm->writes) < dm->max_inflight)
		{
			TupleTableSlot *row;
			OqTaskWrite *w;
			MemoryContext oldcxt;

			/* per scanned row, as ExecScan resets its context per row */
			MemoryContextReset(dm->scan_cxt);
			oldcxt = MemoryContextSwitchTo(dm->scan_cxt);
			row = oqIterateForeignScan(node);
			MemoryContextSwitchTo(oldcxt);

			if (TupIsNull(row))
			{
				dm->scan_done = true;
				continue;
			}
			w = oq_update_row(dm->ms, row);
			if (w != NULL)
			{
				/* PostgreSQL calls this in a context reset per row */
				oldcxt = MemoryContextSwitchTo(node->ss.ps.state->es_query_cxt);
				dm->writes = lappend(dm->writes, w);
				MemoryContextSwitchTo(oldcxt);
				settle(dm, w);	/* it may have ended already */
			}
			continue;
		}

		if (dm->writes == NIL)
			return result;		/* empty: the end */
		settle(dm, oq_update_wait(dm->ms));
	}
}

void
oqEndDirectModify(ForeignScanState *node)
{
	OqDirectModify *dm = direct_state(node);

	if (dm != NULL)
	{
		ListCell   *lc;

		foreach(lc, dm->writes)
			oq_task_write_free((OqTaskWrite *) lfirst(lc));
		dm->writes = NIL;
		oq_modify_state_end(dm->ms);
		*oq_scan_direct_state(node) = NULL;
	}
	oqEndForeignScan(node);
}

void
oqExplainDirectModify(ForeignScanState *node, ExplainState *es)
{
	OqDirectModify *dm = direct_state(node);

	oqExplainForeignScan(node, es);
	ExplainPropertyText("Oq Returning", "batched (rows once written)", es);
	if (es->analyze && dm != NULL)
		oq_modify_explain_requests(dm->ms, es, true);
}
