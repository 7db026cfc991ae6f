/*
 * compat.h - the PostgreSQL API differences between releases 15 and 18
 * that more than one file meets, behind one name each.  Guards used once
 * stay where they are used.
 *
 * The frontend part (JSON lexer) is shared with the unit tests and fuzzers,
 * which compile the pure modules with -DFRONTEND.
 */
#ifndef OQ_COMPAT_H
#define OQ_COMPAT_H

#include "common/jsonapi.h"
#include "mb/pg_wchar.h"

/*
 * 17 takes the context to fill first (NULL: allocate one) and the length
 * as size_t; freeJsonLexContext() frees what the lexer allocated.
 */
static inline JsonLexContext *
oq_json_lex_create(const char *json, size_t len, bool need_escapes)
{
#if PG_VERSION_NUM >= 170000
	return makeJsonLexContextCstringLen(NULL, json, len, PG_UTF8, need_escapes);
#else
	return makeJsonLexContextCstringLen(unconstify(char *, json), (int) len,
										PG_UTF8, need_escapes);
#endif
}

static inline void
oq_json_lex_free(JsonLexContext *lex)
{
#if PG_VERSION_NUM >= 170000
	freeJsonLexContext(lex);
#else
	if (lex->strval)
	{
		pfree(lex->strval->data);
		pfree(lex->strval);
	}
	pfree(lex);
#endif
}

/*
 * 16 made JSON semantic callbacks return an error code; ours never fail,
 * so they end with OQ_JSON_CALLBACK_DONE.
 */
#if PG_VERSION_NUM >= 160000
typedef JsonParseErrorType OqJsonCallbackResult;
#define OQ_JSON_CALLBACK_DONE	return JSON_SUCCESS
#else
typedef void OqJsonCallbackResult;
#define OQ_JSON_CALLBACK_DONE	return
#endif

#ifndef FRONTEND

#include "nodes/execnodes.h"
#include "nodes/pathnodes.h"
#include "nodes/plannodes.h"

/* 18 moved ExplainProperty*() out of commands/explain.h */
#if PG_VERSION_NUM >= 180000
#include "commands/explain_format.h"
#include "commands/explain_state.h"
#else
#include "commands/explain.h"
#endif

/*
 * create_foreignscan_path() for a base relation: 17 added the
 * restrictinfos an FDW enforces itself (NIL here: the scan rechecks
 * nothing the planner gave it, see oq_fdw.c), 18 the count of disabled
 * nodes below the path (none).
 */
extern ForeignPath *oq_create_foreignscan_path(PlannerInfo *root,
												RelOptInfo *rel, double rows,
												Cost startup, Cost total,
												Relids required_outer,
												List *fdw_private);

/*
 * The role whose permissions a scan or a modification runs with (the view
 * owner under a view, else the current user).  16 moved checkAsUser from
 * the range table entry to RTEPermissionInfo and copies it into the plan.
 */
extern Oid	oq_scan_user(ForeignScanState *node);
extern Oid	oq_modify_user(ResultRelInfo *rinfo, EState *estate);

/*
 * The columns an INSERT gives, or an UPDATE sets (16: in the
 * RTEPermissionInfo, which an inheritance child has none of)
 */
extern Bitmapset *oq_inserted_cols(PlannerInfo *root, RangeTblEntry *rte);
extern Bitmapset *oq_updated_cols(PlannerInfo *root, RangeTblEntry *rte,
								  RelOptInfo *rel);

#endif							/* FRONTEND */

#endif							/* OQ_COMPAT_H */
