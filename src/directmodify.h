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

/*
 * Why an UPDATE ... RETURNING of this result relation cannot take the
 * direct path, or NULL if it can (then *fscan, if given, is its scan).
 * mpriv: what oqPlanForeignModify() decided for it.
 */
extern const char *oq_direct_update_refusal(PlannerInfo *root, ModifyTable *plan,
											Index resultRelation, int subplan_index,
											List *mpriv, ForeignScan **fscan);

/* The scan callbacks (oq_fdw.c), which the direct path's node runs too */
extern void oqBeginForeignScan(ForeignScanState *node, int eflags);
extern TupleTableSlot *oqIterateForeignScan(ForeignScanState *node);
extern void oqEndForeignScan(ForeignScanState *node);
extern void oqExplainForeignScan(ForeignScanState *node, struct ExplainState *es);

/* Where the scan's state keeps the direct path's; NULL without a scan */
extern void **oq_scan_direct_state(ForeignScanState *node);

#endif							/* OQ_DIRECTMODIFY_H */
