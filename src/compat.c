/*
 * compat.c - the backend shims declared in compat.h: one definition per
 * PostgreSQL API that changed between releases 15 and 18.
 */
#include "postgres.h"

#include "compat.h"

#include "executor/executor.h"
#include "miscadmin.h"
#include "optimizer/inherit.h"
#include "optimizer/pathnode.h"
#include "parser/parse_relation.h"
#include "parser/parsetree.h"

ForeignPath *
oq_create_foreignscan_path(PlannerInfo *root, RelOptInfo *rel, double rows,
						   Cost startup, Cost total, Relids required_outer,
						   List *fdw_private)
{
#if PG_VERSION_NUM >= 180000
	return create_foreignscan_path(root, rel, NULL, rows, 0, startup, total,
								   NIL, required_outer, NULL, NIL, fdw_private);
#elif PG_VERSION_NUM >= 170000
	return create_foreignscan_path(root, rel, NULL, rows, startup, total,
								   NIL, required_outer, NULL, NIL, fdw_private);
#else
	return create_foreignscan_path(root, rel, NULL, rows, startup, total,
								   NIL, required_outer, NULL, fdw_private);
#endif
}

Oid
oq_scan_user(ForeignScanState *node)
{
	ForeignScan *plan = (ForeignScan *) node->ss.ps.plan;
#if PG_VERSION_NUM >= 160000
	Oid			userid = plan->checkAsUser;
#else
	RangeTblEntry *rte = exec_rt_fetch(plan->scan.scanrelid, node->ss.ps.state);
	Oid			userid = rte->checkAsUser;
#endif

	return OidIsValid(userid) ? userid : GetUserId();
}

Oid
oq_modify_user(ResultRelInfo *rinfo, EState *estate)
{
#if PG_VERSION_NUM >= 160000
	return ExecGetResultRelCheckAsUser(rinfo, estate);
#else
	/* a partition that tuple routing opened has no range table entry */
	Index		rti = rinfo->ri_RangeTableIndex != 0 ? rinfo->ri_RangeTableIndex :
		rinfo->ri_RootResultRelInfo->ri_RangeTableIndex;
	RangeTblEntry *rte = exec_rt_fetch(rti, estate);

	return OidIsValid(rte->checkAsUser) ? rte->checkAsUser : GetUserId();
#endif
}

Bitmapset *
oq_inserted_cols(PlannerInfo *root, RangeTblEntry *rte)
{
#if PG_VERSION_NUM >= 160000
	return getRTEPermissionInfo(root->parse->rteperminfos, rte)->insertedCols;
#else
	return rte->insertedCols;
#endif
}

Bitmapset *
oq_updated_cols(PlannerInfo *root, RangeTblEntry *rte, RelOptInfo *rel)
{
#if PG_VERSION_NUM >= 160000
	if (rte->perminfoindex == 0)
		return get_rel_all_updated_cols(root, rel);
	return getRTEPermissionInfo(root->parse->rteperminfos, rte)->updatedCols;
#else
	return rte->updatedCols;
#endif
}
