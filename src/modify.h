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

extern void oq_add_update_targets(PlannerInfo *root, Index rtindex,
								  RangeTblEntry *target_rte,
								  Relation target_relation);
extern List *oq_plan_modify(PlannerInfo *root, ModifyTable *plan,
							Index resultRelation, int subplan_index);
extern int	oq_is_relation_updatable(Relation rel);
extern void oq_begin_modify(ModifyTableState *mtstate, ResultRelInfo *rinfo,
							List *fdw_private, int subplan_index, int eflags);
extern void oq_begin_foreign_insert(ModifyTableState *mtstate,
									ResultRelInfo *rinfo);
extern void oq_end_foreign_insert(EState *estate, ResultRelInfo *rinfo);
extern TupleTableSlot *oq_exec_insert(EState *estate, ResultRelInfo *rinfo,
									  TupleTableSlot *slot,
									  TupleTableSlot *planSlot);
extern TupleTableSlot **oq_exec_batch_insert(EState *estate, ResultRelInfo *rinfo,
											 TupleTableSlot **slots,
											 TupleTableSlot **planSlots,
											 int *numSlots);
extern int	oq_modify_batch_size(ResultRelInfo *rinfo);
extern TupleTableSlot *oq_exec_update(EState *estate, ResultRelInfo *rinfo,
									  TupleTableSlot *slot,
									  TupleTableSlot *planSlot);
extern void oq_explain_modify(ModifyTableState *mtstate, ResultRelInfo *rinfo,
							  List *fdw_private, int subplan_index,
							  struct ExplainState *es);
extern void oq_end_modify(EState *estate, ResultRelInfo *rinfo);

#endif							/* OQ_MODIFY_H */
