/*-------------------------------------------------------------------------
 *
 * scanexec.h
 *		The executor's side of a foreign scan of tasks: the layout of the
 *		plan's fdw_private, and the scan, EXPLAIN and parallel callbacks.
 *
 * The handler (oq_fdw.c) registers these callbacks; the direct UPDATE
 * node (directmodify.c) runs them too.  Both sit above this module.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_SCANEXEC_H
#define OQ_SCANEXEC_H

#include "access/parallel.h"
#include "nodes/execnodes.h"
#include "nodes/pathnodes.h"

struct ExplainState;

/* fdw_private of a ForeignScan, by position */
enum OqPlanPrivate
{
	OQ_PRIV_ACCESS,				/* Integer: OqAccessKind */
	OQ_PRIV_QUALS,				/* serialized pushed-down quals */
	OQ_PRIV_ATTRS,				/* IntList of the attributes to fill */
	OQ_PRIV_DESCRIPTION,		/* String: the access path, for EXPLAIN */
	OQ_PRIV_INDEX_NOT_KEPT,		/* Boolean: full listing for want of a kept
								 * tag index */
	OQ_PRIV_DIRECT				/* a direct UPDATE only: see directmodify.c */
};

extern void oqBeginForeignScan(ForeignScanState *node, int eflags);
extern TupleTableSlot *oqIterateForeignScan(ForeignScanState *node);
extern void oqReScanForeignScan(ForeignScanState *node);
extern void oqEndForeignScan(ForeignScanState *node);
extern void oqExplainForeignScan(ForeignScanState *node, struct ExplainState *es);

extern bool oqIsForeignScanParallelSafe(PlannerInfo *root, RelOptInfo *rel,
										RangeTblEntry *rte);
extern Size oqEstimateDSMForeignScan(ForeignScanState *node, ParallelContext *pcxt);
extern void oqInitializeDSMForeignScan(ForeignScanState *node, ParallelContext *pcxt,
									   void *coordinate);
extern void oqReInitializeDSMForeignScan(ForeignScanState *node, ParallelContext *pcxt,
										 void *coordinate);
extern void oqInitializeWorkerForeignScan(ForeignScanState *node, shm_toc *toc,
										  void *coordinate);

/* Where the scan's state keeps the direct UPDATE's; NULL without a scan */
extern void **oq_scan_direct_state(ForeignScanState *node);

#endif							/* OQ_SCANEXEC_H */
