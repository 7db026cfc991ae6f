/*-------------------------------------------------------------------------
 *
 * directmodify.h
 *		UPDATE ... RETURNING in one node: the foreign scan reads, decides,
 *		writes many rows at once and hands back each row once its write
 *		has settled (the FDW's direct modify callbacks).
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_DIRECTMODIFY_H
#define OQ_DIRECTMODIFY_H

#include "nodes/execnodes.h"
#include "nodes/pathnodes.h"
#include "nodes/plannodes.h"

struct ExplainState;

extern bool oqPlanDirectModify(PlannerInfo *root, ModifyTable *plan,
							   Index resultRelation, int subplan_index);
extern void oqBeginDirectModify(ForeignScanState *node, int eflags);
extern TupleTableSlot *oqIterateDirectModify(ForeignScanState *node);
extern void oqEndDirectModify(ForeignScanState *node);
extern void oqExplainDirectModify(ForeignScanState *node, struct ExplainState *es);

#endif							/* OQ_DIRECTMODIFY_H */
