/*-------------------------------------------------------------------------
 *
 * oq_fdw.c
 *		Foreign data wrapper for the oq task queue, whose only backend is an
 *		S3 bucket: module initialization, the FDW handler, and the planning,
 *		ANALYZE and IMPORT FOREIGN SCHEMA callbacks (the scan's executor
 *		side is scanexec.c's).
 *
 * Row counts come from ANALYZE or from this backend's last complete
 * listing, and the access path (full listing, tag index, id lookups) is
 * chosen and described at plan time.  Planning makes a request only where
 * a tag index path is possible and tag_index is 'auto': one HEAD of the
 * marker that says the bucket keeps its index (tagmarker.h), which the
 * execution of the same statement reuses.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "commands/defrem.h"
#include "executor/executor.h"
#include "foreign/fdwapi.h"
#include "foreign/foreign.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "access/parallel.h"
#include "catalog/pg_foreign_server.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/planmain.h"
#include "optimizer/restrictinfo.h"
#include "parser/parsetree.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"

#include "compat.h"
#include "directmodify.h"
#include "filter.h"
#include "http.h"
#include "modify.h"
#include "oq_fdw.h"
#include "option.h"
#include "pushdown.h"
#include "scan.h"
#include "scanexec.h"
#include "sharedcache.h"
#include "tagindex.h"
#include "tagmarker.h"
#include "taskjson.h"
#include "taskcache.h"
#include "taskrow.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * Cost model, in the planner's units (a sequential page read is 1.0): one
 * S3 round trip is about 10 ms, and GETs overlap max_concurrency at a time.
 */
#define OQ_ROUNDTRIP_COST		100.0
#define OQ_LIST_PAGE_KEYS		1000.0
#define OQ_DEFAULT_TASKS		1000.0
#define OQ_TASK_CPU_COST		(10 * cpu_tuple_cost)

/* baserel->fdw_private while planning */
typedef struct OqRelInfo
{
	OqServerOptions opts;
	OqTableOptions topts;
	OqColumnRoles roles;
	List	   *pushed;			/* OqQual * from baserestrictinfo */
	List	   *local;			/* RestrictInfo * left to PostgreSQL */
	double		ntasks;			/* tasks in the bucket (estimate) */
	double		cached;			/* of those, bodies the task cache holds
								 * (asked for only when an index path
								 * competes with the full listing) */
	bool		cache_beats_index;	/* ... and they make the full listing
									 * cheaper than the index lookups */
	Oid			serverid;
	bool		index_checked;	/* tag_index 'auto': the marker was asked for */
	bool		index_kept;		/* ... and found */
} OqRelInfo;

/* EXPLAIN's reason for a full listing where the index could have served */
#define OQ_NO_INDEX_REASON \
	"bucket has no tag index; oq_rebuild_tag_index() builds one"


/*
 * Planning
 */

/* The user the scan will run as, as in BeginForeignScan */
static Oid
plan_userid(PlannerInfo *root, RelOptInfo *baserel)
{
#if PG_VERSION_NUM >= 160000
	return OidIsValid(baserel->userid) ? baserel->userid : GetUserId();
#else
	RangeTblEntry *rte = planner_rt_fetch(baserel->relid, root);

	return OidIsValid(rte->checkAsUser) ? rte->checkAsUser : GetUserId();
#endif
}

/*
 * When any backend last analyzed the relation, or 0 (never, or the
 * cumulative statistics are off): ANALYZE reports foreign tables there too.
 */
static TimestampTz
last_analyze_time(Oid relid)
{
	LOCAL_FCINFO(fcinfo, 1);
	Datum		result;

	InitFunctionCallInfoData(*fcinfo, NULL, 1, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = ObjectIdGetDatum(relid);
	fcinfo->args[0].isnull = false;
	result = pg_stat_get_last_analyze_time(fcinfo);
	return fcinfo->isnull ? 0 : DatumGetTimestampTz(result);
}

/*
 * Tasks in the bucket: from this backend's last complete listing of it
 * (with the tasks it submitted since) or from pg_class.reltuples, which
 * ANALYZE set from its own complete listing, whichever is newer; a guess
 * when neither is known (reltuples is -1 before the first ANALYZE).
 */
static double
estimate_tasks(RelOptInfo *baserel, Oid foreigntableid, Oid serverid)
{
	double		known;
	TimestampTz listed_at;

	if (oq_known_task_count(serverid, &known, &listed_at))
	{
		if (baserel->tuples >= 0 && last_analyze_time(foreigntableid) > listed_at)
			return baserel->tuples;
		return known;
	}
	if (baserel->tuples >= 0)
		return baserel->tuples;
	return OQ_DEFAULT_TASKS;
}

static void
oqGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	OqRelInfo  *info = palloc0(sizeof(OqRelInfo));
	ForeignTable *table = GetForeignTable(foreigntableid);
	Relation	rel;
	ListCell   *lc;

	baserel->fdw_private = info;
	info->serverid = table->serverid;
	oq_server_options(GetForeignServer(table->serverid), &info->opts);
	oq_table_options(foreigntableid, &info->topts);

	rel = table_open(foreigntableid, NoLock);
	oq_column_roles(foreigntableid, rel, &info->roles);
	table_close(rel, NoLock);

	foreach(lc, baserel->baserestrictinfo)
	{
		RestrictInfo *rinfo = (RestrictInfo *) lfirst(lc);
		OqQual	   *qual = oq_recognize_clause(root, baserel, &info->roles, rinfo);

		if (qual)
			info->pushed = lappend(info->pushed, qual);
		else
			info->local = lappend(info->local, rinfo);
	}

	info->ntasks = estimate_tasks(baserel, foreigntableid, table->serverid);
	baserel->tuples = info->ntasks;

	baserel->rows = clamp_row_est(info->ntasks *
								  clauselist_selectivity(root, baserel->baserestrictinfo,
														 0, JOIN_INNER, NULL));
}

/* Selectivity of the quals that can drive the index */
static double
index_selectivity(PlannerInfo *root, List *quals)
{
	List	   *rinfos = NIL;
	ListCell   *lc;

	foreach(lc, quals)
	{
		OqQual	   *qual = (OqQual *) lfirst(lc);

		if (oq_qual_is_index_usable(qual))
			rinfos = lappend(rinfos, qual->rinfo);
	}
	return clauselist_selectivity(root, rinfos, 0, JOIN_INNER, NULL);
}

/* Cost of fetching 'objects' tasks after 'roundtrips' serial round trips */
static void
access_cost(OqRelInfo *info, double roundtrips, double pages, double objects,
			Cost *startup, Cost *total)
{
	*startup = roundtrips * OQ_ROUNDTRIP_COST;
	*total = *startup + pages * OQ_ROUNDTRIP_COST +
		objects * (OQ_ROUNDTRIP_COST / info->opts.max_concurrency + OQ_TASK_CPU_COST);
}

/*
 * A full listing: sixteen listing chains run side by side, and a task whose
 * body the cache holds (its listed ETag unchanged) costs no GET.
 */
static void
full_cost(OqRelInfo *info, double cached, Cost *startup, Cost *total)
{
	double		hits = Min(cached, info->ntasks);

	access_cost(info, 1, info->ntasks / OQ_LIST_PAGE_KEYS / 16,
				info->ntasks - hits, startup, total);
	*total += hits * OQ_TASK_CPU_COST;
}

static void
path_cost(PlannerInfo *root, OqRelInfo *info, OqAccessKind access, List *quals,
		  double loop_rows, Cost *startup, Cost *total)
{
	double		matches;

	*startup = *total = 0;
	switch (access)
	{
		case OQ_ACCESS_FULL:
			full_cost(info, info->cached, startup, total);
			break;
		case OQ_ACCESS_INDEX:
			matches = clamp_row_est(info->ntasks * index_selectivity(root, quals));
			access_cost(info, 2, matches / OQ_LIST_PAGE_KEYS, matches, startup, total);
			break;
		case OQ_ACCESS_IDS:
			access_cost(info, 1, 0, loop_rows, startup, total);
			break;
	}
}

static void
add_scan_path(PlannerInfo *root, RelOptInfo *baserel, OqRelInfo *info,
			  OqAccessKind access, List *quals, double rows,
			  Relids required_outer)
{
	Cost		startup;
	Cost		total;

	path_cost(root, info, access, quals, rows, &startup, &total);
	add_path(baserel, (Path *)
			 oq_create_foreignscan_path(root, baserel, rows, startup, total,
										required_outer,
										list_make1(makeInteger(access))));
}

/*
 * A parallel full scan, whose participants share out the sixteen shard
 * listings.  Opt-in with the table option parallel_workers: every worker
 * adds max_concurrency requests in flight against the endpoint, which is
 * the S3 operator's call (request-rate limits), not the planner's.
 */
static void
add_partial_full_path(PlannerInfo *root, RelOptInfo *baserel, OqRelInfo *info)
{
	int			workers = Min(info->topts.parallel_workers,
							  max_parallel_workers_per_gather);
	Cost		startup;
	Cost		total;
	Path	   *path;

	if (workers <= 0 || !baserel->consider_parallel ||
		!bms_is_empty(baserel->lateral_relids))
		return;

	path_cost(root, info, OQ_ACCESS_FULL, info->pushed, baserel->rows, &startup, &total);
	path = (Path *) oq_create_foreignscan_path(root, baserel,
											   clamp_row_est(baserel->rows / (workers + 1)),
											   startup, startup + (total - startup) / (workers + 1),
											   NULL,
											   list_make1(makeInteger(OQ_ACCESS_FULL)));
	path->parallel_aware = true;
	path->parallel_safe = true;
	path->parallel_workers = workers;
	add_partial_path(baserel, path);
}

/*
 * May index paths be offered?  With tag_index 'auto', only when the bucket
 * has the marker: asked once per relation, when an index path is possible.
 */
static bool
index_allowed(PlannerInfo *root, RelOptInfo *baserel, OqRelInfo *info)
{
	if (info->opts.tag_index_mode != OQ_TAG_INDEX_AUTO)
		return info->opts.tag_index_mode == OQ_TAG_INDEX_ON;
	if (info->index_checked)
		return info->index_kept;

	info->index_kept = oq_tag_index_kept(oq_get_connection(info->serverid,
														   plan_userid(root, baserel)));
	info->index_checked = true;
	return info->index_kept;
}

/*
 * An index path competes with the full listing: how many tasks' bodies
 * does this backend's task cache hold for the scan's server and user
 * mapping?  A warm cache makes the full listing cost listings only, which
 * can beat an index listing and a GET per entry.  Remember whether the
 * cache tipped the choice, for EXPLAIN.
 */
static void
weigh_task_cache(PlannerInfo *root, RelOptInfo *baserel, OqRelInfo *info)
{
	Oid			umid = oq_find_user_mapping(plan_userid(root, baserel), info->serverid);
	Cost		startup;
	Cost		cold;
	Cost		warm;
	Cost		index;

	if (!OidIsValid(umid))
		return;					/* the scan will fail: no user mapping */
	info->cached = (double) oq_cache_count(info->serverid, umid);
	if (info->cached <= 0)
		return;
	full_cost(info, 0, &startup, &cold);
	full_cost(info, info->cached, &startup, &warm);
	path_cost(root, info, OQ_ACCESS_INDEX, info->pushed, baserel->rows, &startup, &index);
	info->cache_beats_index = warm < index && cold >= index;
}

static void
oqGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	OqRelInfo  *info = (OqRelInfo *) baserel->fdw_private;
	OqAccessKind best = oq_best_access(info->pushed, true);
	List	   *done_outer = NIL;
	ListCell   *lc;

	if (best == OQ_ACCESS_INDEX && !index_allowed(root, baserel, info))
		best = OQ_ACCESS_FULL;
	if (best == OQ_ACCESS_INDEX)
		weigh_task_cache(root, baserel, info);

	add_scan_path(root, baserel, info, OQ_ACCESS_FULL, info->pushed,
				  baserel->rows, baserel->lateral_relids);
	add_partial_full_path(root, baserel, info);
	if (best != OQ_ACCESS_FULL)
		add_scan_path(root, baserel, info, best, info->pushed, baserel->rows,
					  baserel->lateral_relids);

	/*
	 * Parameterized paths: per outer row, an index or id lookup.  The
	 * planner takes them only where their cost times the outer rows beats
	 * a full scan joined afterwards.
	 */
	foreach(lc, oq_join_lookup_clauses(root, baserel, &info->roles))
	{
		RestrictInfo *rinfo = (RestrictInfo *) lfirst(lc);
		OqQual	   *qual = oq_recognize_clause(root, baserel, &info->roles, rinfo);
		Relids		required_outer;
		ParamPathInfo *ppi;
		List	   *quals;
		OqAccessKind access;

		required_outer = bms_union(bms_difference(rinfo->clause_relids, baserel->relids),
								   baserel->lateral_relids);
		if (bms_is_empty(required_outer) || list_member(done_outer, required_outer))
			continue;
		access = oq_qual_is_id_lookup(qual) ? OQ_ACCESS_IDS : OQ_ACCESS_INDEX;
		if (access == OQ_ACCESS_INDEX && !index_allowed(root, baserel, info))
			continue;
		done_outer = lappend(done_outer, required_outer);

		ppi = get_baserel_parampathinfo(root, baserel, required_outer);
		quals = lappend(list_copy(info->pushed), qual);
		add_scan_path(root, baserel, info, access, quals, ppi->ppi_rows,
					  required_outer);
	}
}

/* The attributes the scan must fill: those in the target list and quals */
static List *
needed_attributes(RelOptInfo *baserel, List *local_exprs, Relation rel)
{
	Bitmapset  *attrs = NULL;
	List	   *result = NIL;
	int			i;

	pull_varattnos((Node *) baserel->reltarget->exprs, baserel->relid, &attrs);
	pull_varattnos((Node *) local_exprs, baserel->relid, &attrs);

	for (i = 1; i <= RelationGetNumberOfAttributes(rel); i++)
	{
		/* a whole-row reference needs every column */
		if (bms_is_member(i - FirstLowInvalidHeapAttributeNumber, attrs) ||
			bms_is_member(0 - FirstLowInvalidHeapAttributeNumber, attrs))
			result = lappend_int(result, i);
	}
	return result;
}

static ForeignScan *
oqGetForeignPlan(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid,
				 ForeignPath *best_path, List *tlist, List *scan_clauses,
				 Plan *outer_plan)
{
	OqRelInfo  *info = (OqRelInfo *) baserel->fdw_private;
	OqAccessKind access = (OqAccessKind) intVal(linitial(best_path->fdw_private));
	List	   *pushed = NIL;
	List	   *local_exprs = NIL;
	List	   *recheck_exprs = NIL;
	List	   *fdw_exprs = NIL;
	List	   *serialized;
	List	   *attrs;
	char	   *description;
	bool		index_not_kept;
	Relation	rel;
	ListCell   *lc;

	/* scan_clauses holds the join clauses of a parameterized path too */
	foreach(lc, scan_clauses)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);
		OqQual	   *qual = oq_recognize_clause(root, baserel, &info->roles, rinfo);

		if (qual)
		{
			pushed = lappend(pushed, qual);
			recheck_exprs = lappend(recheck_exprs, rinfo->clause);
		}
		else if (!rinfo->pseudoconstant)
			local_exprs = lappend(local_exprs, rinfo->clause);
	}

	serialized = oq_quals_serialize(pushed, &fdw_exprs);
	rel = table_open(foreigntableid, NoLock);
	attrs = needed_attributes(baserel, local_exprs, rel);
	table_close(rel, NoLock);

	/* the marker was asked for only where the index could have served */
	description = oq_describe_access(access, pushed);
	index_not_kept = access == OQ_ACCESS_FULL && info->index_checked &&
		!info->index_kept;
	if (index_not_kept)
		description = psprintf("%s (%s)", description, OQ_NO_INDEX_REASON);
	else if (access == OQ_ACCESS_FULL && info->cache_beats_index)
		description = psprintf("%s (the task cache holds %.0f of about %.0f tasks: cheaper than the tag index)",
							   description, Min(info->cached, info->ntasks), info->ntasks);

	return make_foreignscan(tlist, local_exprs, baserel->relid, fdw_exprs,
							list_make5(makeInteger(access), serialized, attrs,
									   makeString(description),
									   makeBoolean(index_not_kept)),
							NIL, recheck_exprs, outer_plan);
}

/*
 * ANALYZE: list every task (the row count), GET a uniform sample of
 * targrows of them (the column statistics).
 */
static int
oqAcquireSampleRows(Relation relation, int elevel, HeapTuple *rows,
					int targrows, double *totalrows, double *totaldeadrows)
{
	TupleDesc	tupdesc = RelationGetDescr(relation);
	OqConnection *conn;
	OqTableOptions topts;
	OqRowBuilder rb;
	OqScan	   *scan;
	const OqTaskDoc *doc;
	Datum	   *values = palloc(sizeof(Datum) * tupdesc->natts);
	bool	   *nulls = palloc(sizeof(bool) * tupdesc->natts);
	MemoryContext row_cxt;
	int			n = 0;

	conn = oq_get_connection(GetForeignTable(RelationGetRelid(relation))->serverid,
							 GetUserId());
	oq_table_options(RelationGetRelid(relation), &topts);
	oq_row_builder_init(&rb, relation, true, NIL);
	row_cxt = AllocSetContextCreate(CurrentMemoryContext, "oq_fdw analyze row",
									ALLOCSET_DEFAULT_SIZES);

	scan = oq_scan_create(conn, RelationGetRelationName(relation), OQ_ACCESS_FULL,
						  topts.on_invalid);
	scan->rb = &rb;
	oq_scan_start_sample(scan, targrows);
	while (n < targrows && (doc = oq_scan_next(scan)) != NULL)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(row_cxt);

		oq_row_build(&rb, doc, scan->current_key, scan->current_etag, values, nulls);
		MemoryContextSwitchTo(oldcxt);
		rows[n++] = heap_form_tuple(tupdesc, values, nulls);
		MemoryContextReset(row_cxt);
	}
	*totalrows = (double) scan->nlisted;
	*totaldeadrows = 0;
	oq_scan_end(scan);
	MemoryContextDelete(row_cxt);

	ereport(elevel,
			(errmsg("\"%s\": listed %.0f tasks in bucket \"%s\", read a sample of %d",
					RelationGetRelationName(relation), *totalrows, conn->opts.bucket, n)));
	return n;
}

static bool
oqAnalyzeForeignTable(Relation relation, AcquireSampleRowsFunc *func,
					  BlockNumber *totalpages)
{
	*func = oqAcquireSampleRows;
	*totalpages = 1;			/* there are no pages; any non-zero value */
	return true;
}

/*
 * IMPORT FOREIGN SCHEMA oq: the bucket holds one table, "tasks", with a
 * column per field of the task object, plus etag.
 */
static List *
oqImportForeignSchema(ImportForeignSchemaStmt *stmt, Oid serverOid)
{
	ForeignServer *server = GetForeignServer(serverOid);
	StringInfoData buf;
	ListCell   *lc;
	int			i;

	if (strcmp(stmt->remote_schema, "oq") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_SCHEMA_NOT_FOUND),
				 errmsg("oq_fdw has no remote schema \"%s\"", stmt->remote_schema),
				 errhint("Use IMPORT FOREIGN SCHEMA oq FROM SERVER %s INTO ...",
						 quote_identifier(server->servername))));

	initStringInfo(&buf);
	appendStringInfo(&buf, "CREATE FOREIGN TABLE %s (\n",
					 quote_identifier("tasks"));
	for (i = 0; i < OQ_NUM_FIELDS; i++)
		appendStringInfo(&buf, "  %s %s,\n", quote_identifier(oq_task_fields[i].name),
						 oq_task_fields[i].sql_type);
	appendStringInfo(&buf, "  etag text\n) SERVER %s",
					 quote_identifier(server->servername));

	/* IMPORT's OPTIONS become the table's (on_invalid, batch_size, ...) */
	i = 0;
	foreach(lc, stmt->options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		appendStringInfo(&buf, "%s%s %s", i++ == 0 ? " OPTIONS (" : ", ",
						 quote_identifier(def->defname),
						 quote_literal_cstr(defGetString(def)));
	}
	if (i > 0)
		appendStringInfoChar(&buf, ')');

	return list_make1(buf.data);
}

PG_FUNCTION_INFO_V1(oq_fdw_handler);

Datum
oq_fdw_handler(PG_FUNCTION_ARGS)
{
	FdwRoutine *routine = makeNode(FdwRoutine);

	routine->GetForeignRelSize = oqGetForeignRelSize;
	routine->GetForeignPaths = oqGetForeignPaths;
	routine->GetForeignPlan = oqGetForeignPlan;
	routine->BeginForeignScan = oqBeginForeignScan;
	routine->IterateForeignScan = oqIterateForeignScan;
	routine->ReScanForeignScan = oqReScanForeignScan;
	routine->EndForeignScan = oqEndForeignScan;
	routine->ExplainForeignScan = oqExplainForeignScan;
	routine->AnalyzeForeignTable = oqAnalyzeForeignTable;
	routine->IsForeignScanParallelSafe = oqIsForeignScanParallelSafe;
	routine->EstimateDSMForeignScan = oqEstimateDSMForeignScan;
	routine->InitializeDSMForeignScan = oqInitializeDSMForeignScan;
	routine->ReInitializeDSMForeignScan = oqReInitializeDSMForeignScan;
	routine->InitializeWorkerForeignScan = oqInitializeWorkerForeignScan;
	routine->ImportForeignSchema = oqImportForeignSchema;

	routine->AddForeignUpdateTargets = oqAddForeignUpdateTargets;
	routine->PlanForeignModify = oqPlanForeignModify;
	routine->BeginForeignModify = oqBeginForeignModify;
	routine->ExecForeignInsert = oqExecForeignInsert;
	routine->ExecForeignBatchInsert = oqExecForeignBatchInsert;
	routine->GetForeignModifyBatchSize = oqGetForeignModifyBatchSize;
	routine->ExecForeignUpdate = oqExecForeignUpdate;
	routine->EndForeignModify = oqEndForeignModify;
	routine->BeginForeignInsert = oqBeginForeignInsert;
	routine->EndForeignInsert = oqEndForeignInsert;
	routine->ExplainForeignModify = oqExplainForeignModify;
	routine->IsForeignRelUpdatable = oqIsForeignRelUpdatable;
	routine->PlanDirectModify = oqPlanDirectModify;
	routine->BeginDirectModify = oqBeginDirectModify;
	routine->IterateDirectModify = oqIterateDirectModify;
	routine->EndDirectModify = oqEndDirectModify;
	routine->ExplainDirectModify = oqExplainDirectModify;

	PG_RETURN_POINTER(routine);
}

void
_PG_init(void)
{
	DefineCustomIntVariable("oq_fdw.max_scan_objects",
							"Largest number of task objects a scan without an index or id path may read.",
							"0 means no limit.",
							&oq_max_scan_objects,
							0, 0, INT_MAX,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("oq_fdw.cache_size",
							"Memory for this backend's cache of task objects.",
							"A scan skips the GET of a listed task whose ETag the cache holds. 0 turns caching off, the shared cache's too.",
							&oq_cache_size_kb,
							65536, 0, MAX_KILOBYTES,
							PGC_SUSET, GUC_UNIT_KB,
							NULL, NULL, NULL);
	DefineCustomIntVariable("oq_fdw.shared_cache_size",
							"Shared memory for the server-wide cache of task objects.",
							"Used only with oq_fdw in shared_preload_libraries. 0 turns the shared cache off.",
							&oq_shared_cache_size_kb,
							65536, 0, MAX_KILOBYTES,
							PGC_POSTMASTER, GUC_UNIT_KB,
							NULL, NULL, NULL);
	DefineCustomBoolVariable("oq_fdw.shared_cache",
							 "Whether this session uses the server-wide cache of task objects.",
							 "Off: the session keeps its own cache, of oq_fdw.cache_size.",
							 &oq_shared_cache_on,
							 true,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("oq_fdw.tag_index_rebuild_grace",
							"Age below which oq_rebuild_tag_index() keeps an index entry no task holds.",
							"A writer puts a task's new index entries just before the task, so a young entry may be about to be needed.",
							&oq_tag_index_rebuild_grace,
							300, 0, 7 * 24 * 3600,
							PGC_USERSET, GUC_UNIT_S,
							NULL, NULL, NULL);
	MarkGUCPrefixReserved("oq_fdw");

	if (process_shared_preload_libraries_in_progress)
		oq_shcache_install_hooks();

	oq_http_init();
}

Oid
oq_server_oid_checked(const char *servername)
{
	ForeignServer *server = GetForeignServerByName(servername, false);
	ForeignDataWrapper *fdw = GetForeignDataWrapper(server->fdwid);
	FmgrInfo	handler;
	AclResult	aclresult;

	if (!OidIsValid(fdw->fdwhandler))
		handler.fn_addr = NULL;
	else
		fmgr_info(fdw->fdwhandler, &handler);
	if (handler.fn_addr != oq_fdw_handler)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("server \"%s\" does not belong to the oq_fdw foreign-data wrapper",
						servername)));

#if PG_VERSION_NUM >= 160000
	aclresult = object_aclcheck(ForeignServerRelationId, server->serverid,
								GetUserId(), ACL_USAGE);
#else
	aclresult = pg_foreign_server_aclcheck(server->serverid, GetUserId(), ACL_USAGE);
#endif
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_FOREIGN_SERVER, servername);

	return server->serverid;
}
