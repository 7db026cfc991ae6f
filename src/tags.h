/*-------------------------------------------------------------------------
 *
 * tags.h
 *		Task tags: the rules a tag must follow (the tagging specification's
 *		constraints) and the keys of the tag index,
 *		tags/{key}/{value segment}/{task id}.
 *
 * Pure functions: no I/O, no ereport; frontend-compatible.  Strings are
 * palloc'd in CurrentMemoryContext.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_TAGS_H
#define OQ_TAGS_H

#include "lib/stringinfo.h"

#define OQ_TAG_MAX_COUNT		20
#define OQ_TAG_KEY_MAX_LEN		64	/* characters (ASCII, so bytes) */
#define OQ_TAG_VALUE_MAX_CHARS	256 /* UTF-8 characters */

/*
 * Value segments longer than this many bytes (once encoded) are replaced by
 * a hash, so that tags/{64-char key}/{segment}/{36-char id} always fits in
 * S3's 1024-byte key limit.
 */
#define OQ_TAG_SEGMENT_MAX_LEN	512

/*
 * One tag.  oq_fdw writes only string values, but another producer may
 * store any JSON value: such a tag has value NULL and json its exact JSON
 * text, kept verbatim when oq_fdw rewrites the task's tags.
 */
typedef struct OqTag
{
	const char *key;
	const char *value;			/* NUL-terminated UTF-8; NULL: not a string */
	const char *json;			/* value NULL: the value's JSON text */
} OqTag;

/* Whether two tags hold the same value (string, or the same JSON text) */
extern bool oq_tag_same_value(const OqTag *a, const OqTag *b);

/* Whether two tag sets (keys distinct in each) hold the same pairs, in any order */
extern bool oq_tags_equal(const OqTag *a, int na, const OqTag *b, int nb);

/*
 * Whether ->> could give this text for a value that is not a JSON string
 * (a number, true, false, an object or array): such a value has no index
 * entry, so tags->>'k' = text cannot be answered from the index.
 * Conservative: every decimal number, and anything starting with '{' or '['.
 */
extern bool oq_tag_text_maybe_nonstring(const char *text);

/* Position of key in a tag list, or -1 */
extern int	oq_tag_find(const OqTag *tags, int ntags, const char *key);

/*
 * Check one tag against the tagging specification's rules: key of 1-64
 * characters of a-z 0-9 - _, not starting with "oq_" or "_"; value valid
 * UTF-8 of at most 256 characters without a newline (LF or CR).  Returns
 * true when valid; otherwise sets *errmsg (unless errmsg is NULL) to a
 * message naming the key and the rule broken.  A NULL value is refused
 * (values are strings).
 *
 * Each message comes from one whole format string, translated here; the
 * backend reports it with errmsg_internal("%s"), as PostgreSQL reports the
 * messages its GUC check hooks prepare.
 */
extern bool oq_tag_check(const char *key, const char *value, char **errmsg);

/*
 * Whether tags with this key have index entries: the key follows the key
 * rules (whatever the value).  Readers use the index for exactly these keys,
 * so every writer of the index must enter every tag whose key passes,
 * even one whose value another producer wrote against the value rules.
 */
extern bool oq_tag_key_indexable(const char *key);

/*
 * The rule for the number of tags; ntags is the count after any merge.
 * *errmsg as for oq_tag_check.
 */
extern bool oq_tag_check_count(int ntags, char **errmsg);

/*
 * s (len bytes) made fit to quote in an error message: at most maxchars
 * characters, then "...", and '?' for each byte that is not valid UTF-8.
 */
extern char *oq_quote_for_message(const char *s, size_t len, int maxchars);

/*
 * Append the index segment for a tag value: the value UriEncoded (with '~'
 * encoded too), unless that is empty, "." or "..", or longer than
 * OQ_TAG_SEGMENT_MAX_LEN, in which case "~" followed by the hex SHA-256 of
 * the value.  The mapping is deterministic and never yields '/'.
 */
extern void oq_tag_index_segment(StringInfo buf, const char *value);

/*
 * The key functions below use the tag key verbatim: only keys that pass
 * oq_tag_check may be indexed (a stored task may hold others; leave those
 * out of the index, and answer queries on them without it).
 */

/* "tags/{key}/{segment}/{task_id}" */
extern char *oq_tag_index_key(const char *key, const char *value,
							  const char *task_id);

/* "tags/{key}/{segment}/": the listing prefix for key = value */
extern char *oq_tag_index_value_prefix(const char *key, const char *value);

/* "tags/{key}/": the listing prefix for "has the tag key" */
extern char *oq_tag_index_key_prefix(const char *key);

/*
 * Split an index key "tags/{key}/{segment}/{id}" into its parts (palloc'd).
 * Returns false for a key not of that shape (id is not checked here).
 */
extern bool oq_tag_index_parse_key(const char *index_key, char **tag_key,
								   char **segment, char **task_id);

#endif							/* OQ_TAGS_H */
