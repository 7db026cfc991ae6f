/*-------------------------------------------------------------------------
 *
 * tagsql.h
 *		Tags as SQL values: the jsonb and text[] arguments of the write
 *		functions (and of anything else that takes tags from SQL) turned
 *		into checked tag lists, with the tagging specification's rules
 *		reported as SQLSTATE 22023, and tag lists turned back into jsonb.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_TAGSQL_H
#define OQ_TAGSQL_H

#include "utils/array.h"
#include "utils/jsonb.h"

#include "tags.h"

/*
 * The tags of a jsonb value, checked against every rule of the tagging
 * specification: an object (else 22023 naming what it is), of string values
 * (else 22023 naming the key), each tag valid (oq_tag_check), at most
 * OQ_TAG_MAX_COUNT of them.  The list is palloc'd, in the object's key
 * order; keys are distinct.  Callers merging the list into existing tags
 * check the merged count themselves (oq_tag_check_count).
 */
extern OqTag *oq_tags_from_jsonb(Jsonb *jb, int *ntags);

/*
 * The strings of a text[] of tag keys (to remove).  NULL elements are an
 * error (22004).  Keys are not checked against the rules: a task written
 * by another producer may hold a key the rules refuse, and removing it
 * must stay possible.
 */
extern char **oq_tag_keys_from_array(ArrayType *keys, int *nkeys);

/* A tag list as a jsonb object */
extern Jsonb *oq_tags_to_jsonb(const OqTag *tags, int ntags);

#endif							/* OQ_TAGSQL_H */
