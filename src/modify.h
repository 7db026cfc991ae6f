/*-------------------------------------------------------------------------
 *
 * modify.h
 *		INSERT and UPDATE on oq_fdw foreign tables (the FDW callbacks).
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_MODIFY_H
#define OQ_MODIFY_H

#include "nodes/execnodes.h"
#include "nodes/pathnodes.h"
#include "nodes/plannodes.h"

#include "taskwrite.h"

struct ExplainState;

/* fdw_private of the ModifyTable, by position */
enum OqModifyPrivate
{
	OQ_MPRIV_ATTNOS,			/* INSERT: IntList, an attno per OqInsertField
								 * (0: no such column); UPDATE: the tags column */
	OQ_MPRIV_RETURNING,			/* Boolean: the statement has RETURNING */
	OQ_MPRIV_RECHECK,			/* UPDATE: Boolean, WHERE and SET re-evaluable */
	OQ_MPRIV_WHERE,				/* UPDATE: the WHERE clauses (implicit AND) */
	OQ_MPRIV_SET,				/* UPDATE: the expression assigned to tags */
	OQ_MPRIV_ROW_BY_ROW			/* UPDATE ... RETURNING: String, why not the
								 * direct path (directmodify.c) */
};

/* The state of an INSERT or UPDATE's writes */
typedef struct OqModifyState OqModifyState;

extern void oqAddForeignUpdateTargets(PlannerInfo *root, Index rtindex,
									  RangeTblEntry *target_rte,
									  Relation target_relation);
extern List *oqPlanForeignModify(PlannerInfo *root, ModifyTable *plan,
								 Index resultRelation, int subplan_index);
extern int	oqIsForeignRelUpdatable(Relation rel);
extern void oqBeginForeignModify(ModifyTableState *mtstate,
								 ResultRelInfo *rinfo, List *fdw_private,
								 int subplan_index, int eflags);
extern void oqBeginForeignInsert(ModifyTableState *mtstate,
								 ResultRelInfo *rinfo);
extern void oqEndForeignInsert(EState *estate, ResultRelInfo *rinfo);
extern TupleTableSlot *oqExecForeignInsert(EState *estate,
										   ResultRelInfo *rinfo,
										   TupleTableSlot *slot,
										   TupleTableSlot *planSlot);
extern TupleTableSlot **oqExecForeignBatchInsert(EState *estate,
												 ResultRelInfo *rinfo,
												 TupleTableSlot **slots,
												 TupleTableSlot **planSlots,
												 int *numSlots);
extern int	oqGetForeignModifyBatchSize(ResultRelInfo *rinfo);
extern TupleTableSlot *oqExecForeignUpdate(EState *estate,
										   ResultRelInfo *rinfo,
										   TupleTableSlot *slot,
										   TupleTableSlot *planSlot);
extern void oqExplainForeignModify(ModifyTableState *mtstate,
								   ResultRelInfo *rinfo, List *fdw_private,
								   int subplan_index,
								   struct ExplainState *es);
extern void oqEndForeignModify(EState *estate, ResultRelInfo *rinfo);

/*
 * For the direct UPDATE (directmodify.c), which scans, decides and writes
 * in one node: the same decisions, writes and rechecks as the ordinary
 * path's.
 */
extern OqModifyState *oq_update_state_create(EState *estate, ResultRelInfo *rinfo,
											 Oid userid, List *fdw_private);
extern int	oq_update_max_inflight(OqModifyState *st);
extern OqTaskWrite *oq_update_row(OqModifyState *st, TupleTableSlot *row);
extern OqTaskWrite *oq_update_wait(OqModifyState *st);
extern OqTaskWrite *oq_update_finished(OqModifyState *st, OqTaskWrite *w,
									   bool *updated);
extern void oq_update_store_row(OqModifyState *st, TupleTableSlot *slot,
								MemoryContext cxt, const OqTaskWrite *w);
extern void oq_modify_explain_requests(OqModifyState *st, struct ExplainState *es,
									   bool direct);
extern void oq_modify_state_end(OqModifyState *st);

/*
 * Why an UPDATE ... RETURNING of this result relation cannot take the
 * direct path, or NULL if it can (then *fscan, if given, is its scan).
 * mpriv: what oqPlanForeignModify() decided for it.
 */
extern const char *oq_direct_update_refusal(PlannerInfo *root, ModifyTable *plan,
											Index resultRelation, int subplan_index,
											List *mpriv, ForeignScan **fscan);

#endif							/* OQ_MODIFY_H */
