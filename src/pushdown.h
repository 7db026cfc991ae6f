/*-------------------------------------------------------------------------
 *
 * pushdown.h
 *		Which WHERE and join clauses the wrapper evaluates itself, and the
 *		access path (full listing, tag index, id lookups) they allow.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_PUSHDOWN_H
#define OQ_PUSHDOWN_H

#include "nodes/pathnodes.h"
#include "utils/jsonb.h"
#include "utils/relcache.h"

/* The columns the wrapper can evaluate predicates on (0: none) */
typedef struct OqColumnRoles
{
	AttrNumber	tags;			/* jsonb column reading field "tags" */
	AttrNumber	id;				/* uuid column reading field "id" */
	AttrNumber	status;			/* text column reading field "status" */
	AttrNumber	task_type;		/* text column reading field "task_type" */
} OqColumnRoles;

typedef enum OqQualKind
{
	OQ_QUAL_TAG_EQ,				/* tags->>'k' = v */
	OQ_QUAL_TAG_IN,				/* tags->>'k' = ANY (v[]), IN (...) */
	OQ_QUAL_TAG_EXISTS,			/* tags ? k */
	OQ_QUAL_TAG_EXISTS_ALL,		/* tags ?& k[] */
	OQ_QUAL_TAG_EXISTS_ANY,		/* tags ?| k[] */
	OQ_QUAL_TAG_CONTAINS,		/* tags @> '{...}' */
	OQ_QUAL_ID_EQ,				/* id = v */
	OQ_QUAL_ID_IN,				/* id = ANY (v[]) */
	OQ_QUAL_STATUS_EQ,			/* status = v */
	OQ_QUAL_TASK_TYPE_EQ,		/* task_type = v */
	OQ_QUAL_TAG_NOT_NULL		/* tags->>'k' IS NOT NULL: false for a JSON
								 * null, which tags ? 'k' accepts */
} OqQualKind;

/* A recognised clause */
typedef struct OqQual
{
	OqQualKind	kind;
	char	   *key;			/* tag key for TAG_EQ/TAG_IN/TAG_NOT_NULL, and
								 * TAG_EXISTS when constant; else NULL.  May
								 * be any string, "" included */
	Expr	   *arg;			/* the value side, evaluated at scan start */
	RestrictInfo *rinfo;
} OqQual;

typedef enum OqAccessKind
{
	OQ_ACCESS_FULL,				/* list tasks/ and read every task */
	OQ_ACCESS_INDEX,			/* list tags/... and read the tasks named */
	OQ_ACCESS_IDS				/* read the tasks of given ids: no listing */
} OqAccessKind;

extern void oq_column_roles(Oid relid, Relation rel, OqColumnRoles *roles);

/* Recognise one clause; NULL when the wrapper cannot evaluate it */
extern OqQual *oq_recognize_clause(PlannerInfo *root, RelOptInfo *baserel,
								   const OqColumnRoles *roles,
								   RestrictInfo *rinfo);

/*
 * Whether a qual can drive the tag index / id lookups.  A tag qual can
 * only when the index could hold every task it matches: its key follows
 * the key rules and it cannot be satisfied by a value that is not a
 * string (those have no entries).  Values known only at run time are
 * judged again then (oq_filter_index_conjuncts), falling back to a full
 * listing.
 */
extern bool oq_qual_is_index_usable(const OqQual *qual);
extern bool oq_qual_is_id_lookup(const OqQual *qual);

/* Best access for a set of recognised quals */
extern OqAccessKind oq_best_access(List *quals, bool tag_index);

/*
 * A one-line description of the access path for EXPLAIN, decided at plan
 * time: constant values appear in the prefixes, others as "$value".
 */
extern char *oq_describe_access(OqAccessKind access, List *quals);

/*
 * Join clauses that could drive parameterized index or id lookups: the
 * baserel's joininfo and equivalence-class equalities on tags->>'k' or id.
 */
extern List *oq_join_lookup_clauses(PlannerInfo *root, RelOptInfo *baserel,
									const OqColumnRoles *roles);

/*
 * Plan <-> executor: the quals as fdw_private (kinds and keys) plus
 * fdw_exprs (the value expressions, which setrefs and nestloop-parameter
 * replacement must see).
 */
extern List *oq_quals_serialize(List *quals, List **fdw_exprs);

typedef struct OqQualDesc
{
	OqQualKind	kind;
	char	   *key;			/* NULL when the qual has none */
	int			arg_index;		/* into fdw_exprs, or -1 */
} OqQualDesc;

extern List *oq_quals_deserialize(List *serialized);

/* Shared with run-time code (filter.c) */
/*
 * The top-level pairs of a jsonb object whose values are strings (keys and
 * values aligned); returns false when jb is not an object or some value is
 * not a string.
 */
extern bool oq_jsonb_string_pairs(Jsonb *jb, List **keys, List **values);

#endif							/* OQ_PUSHDOWN_H */
