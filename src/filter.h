/*-------------------------------------------------------------------------
 *
 * filter.h
 *		Run-time form of the pushed-down clauses: evaluated once per scan
 *		(or rescan), then matched against raw task objects, and turned into
 *		the tag index prefixes or task ids a scan starts from.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_FILTER_H
#define OQ_FILTER_H

#include "utils/array.h"
#include "utils/jsonb.h"

#include "pushdown.h"
#include "taskjson.h"

typedef struct OqFilterTerm
{
	OqQualKind	kind;
	char	   *key;			/* TAG_EQ, TAG_IN, TAG_EXISTS */
	char	   *value;			/* TAG_EQ, ID_EQ, STATUS_EQ, TASK_TYPE_EQ */
	List	   *keys;			/* EXISTS_ALL, EXISTS_ANY, CONTAINS (char *) */
	List	   *values;			/* TAG_IN, ID_IN, CONTAINS (char *) */
	Jsonb	   *contains;		/* CONTAINS whose value holds more than
								 * string pairs: decided by jsonb_contains */
} OqFilterTerm;

typedef struct OqFilter
{
	List	   *terms;
	bool		never;			/* a term can match no task at all */
	bool		has_ids;		/* some term fixes the task ids */
} OqFilter;

/* Evaluate the pushed-down clauses' values; args[i] is fdw_exprs[i]'s */
extern OqFilter *oq_filter_build(List *quals, const Datum *args,
								 const bool *argnulls);

/* Does the task satisfy every term? */
extern bool oq_filter_match(const OqFilter *filter, const OqTaskDoc *doc);

/* Could a task with this id satisfy the id terms? */
extern bool oq_filter_match_id(const OqFilter *filter, const char *id);

/* The ids the id terms allow (their intersection), deduplicated */
extern List *oq_filter_ids(const OqFilter *filter);

/*
 * A set of tag index prefixes whose listings together name every task the
 * filter can match: one per tag (key, value) the conjunct accepts (value
 * NULL: any value of key).
 */
typedef struct OqIndexConjunct
{
	List	   *prefixes;		/* char * */
	List	   *tag_keys;		/* char * */
	List	   *tag_values;		/* char *, or NULL for "has the key" */
} OqIndexConjunct;

/*
 * The conjuncts the filter offers, any one of which is enough to find every
 * match.  Terms the index cannot answer completely give none: keys that
 * cannot be in it (not valid tag keys), and terms a value that is not a
 * string could satisfy (it has no entry).  NIL: read every task.
 */
extern List *oq_filter_index_conjuncts(const OqFilter *filter);

/* Whether the task has one of the conjunct's tags (else its entry was stale) */
extern bool oq_index_conjunct_holds(const OqIndexConjunct *conjunct,
									const OqTaskDoc *doc);

#endif							/* OQ_FILTER_H */
