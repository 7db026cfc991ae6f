/*-------------------------------------------------------------------------
 *
 * taskjson.h
 *		The task object of the oq bucket format: decoding a stored object
 *		(taskjson.c), building a new one and rewriting one without
 *		disturbing what this code does not change (taskbuild.c); its fields
 *		are in taskfields.h, the JSON text checks in jsontext.h.
 *
 * Decoding uses PostgreSQL's own JSON lexer (common/jsonapi.h) rather than
 * jansson because tasks carry numbers jansson cannot hold (integers beyond
 * 64 bits, long decimals) and a rewrite must keep them exactly: the decoder
 * records where each top-level value lies in the body, so values are
 * converted from their exact text and a rewrite splices new text in place.
 * New JSON text (a new task, a new tags object) is emitted with jansson.
 *
 * Pure functions: no I/O, no ereport; frontend-compatible.  Everything is
 * palloc'd in CurrentMemoryContext (the caller resets it per task).
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_TASKJSON_H
#define OQ_TASKJSON_H

#include "jsontext.h"
#include "tags.h"
#include "taskfields.h"

/* How deep arrays and objects may nest in a task object */
#define OQ_TASK_MAX_DEPTH 1000

typedef enum OqJsonType
{
	OQ_JSON_NULL,
	OQ_JSON_STRING,
	OQ_JSON_NUMBER,
	OQ_JSON_BOOL,
	OQ_JSON_OBJECT,
	OQ_JSON_ARRAY
} OqJsonType;

/* One top-level member of the task object */
typedef struct OqJsonMember
{
	const char *name;			/* de-escaped member name */
	OqJsonType	type;
	const char *raw;			/* the value's exact JSON text, in the body */
	int			raw_len;
	const char *str;			/* strings: de-escaped value (UTF-8); numbers:
								 * their text; bools: "true"/"false"; else
								 * NULL.  NULL too for a string that text
								 * cannot hold (\u0000, an unpaired
								 * surrogate escape): see str_why */
	const char *str_why;		/* why str is NULL for a string: OQ_WHY_NUL
								 * or OQ_WHY_SURROGATE */
} OqJsonMember;

/* A decoded, validated task object */
typedef struct OqTaskDoc
{
	const char *body;			/* not copied: must outlive the doc */
	size_t		len;
	OqJsonMember *members;		/* every top-level member, in body order */
	int			nmembers;
	const OqJsonMember *field[OQ_NUM_FIELDS];	/* NULL when absent */
	/* Parsed values of known fields (valid where the field is present) */
	int64		integer[OQ_NUM_FIELDS];		/* OQ_KIND_INTEGER; -1 for a
												 * timeout_seconds beyond
												 * int64 (the workers' u64) */
	int64		timestamp[OQ_NUM_FIELDS];	/* OQ_KIND_TIMESTAMP, Unix us */
	bool		boolean[OQ_NUM_FIELDS];		/* OQ_KIND_BOOLEAN */
	OqTag	   *tags;			/* the tags object, in body order */
	int			ntags;
	const char *tags_why;		/* OQ_WHY_NUL: a tag key or value holds
								 * \u0000; that tag is not in tags[] */
} OqTaskDoc;

/*
 * Decode and validate a task object: valid UTF-8 JSON whose top level is an
 * object, nested at most 1000 levels deep; every field of the format
 * present with its kind (or null where nullable); required fields present;
 * no field given twice.  Tag values may be any JSON (OqTag.json holds
 * those that are not strings).  Unknown members are kept,
 * unchecked.  Tag rules (key syntax, lengths) are not checked here: readers
 * accept what writers stored; a tag key given twice keeps its first place
 * and its last value (as jsonb does), so doc->tags has distinct keys.
 * Returns false and sets *errmsg (naming the field) when the object is not
 * a valid task.  errmsg may be NULL.
 */
extern bool oq_task_decode(const char *body, size_t len, OqTaskDoc *doc,
						   char **errmsg);

/* The member of that name (any member, known or not; the last one if an
 * unknown name repeats), or NULL */
extern const OqJsonMember *oq_task_member(const OqTaskDoc *doc,
										  const char *name);

/* Value of tag 'key' if it is a string, else NULL */
extern const char *oq_task_tag(const OqTaskDoc *doc, const char *key);

/* Tag 'key' whatever its value, or NULL */
extern const OqTag *oq_task_tag_find(const OqTaskDoc *doc, const char *key);

/*
 * A tags object as compact JSON text, keys in the given order, values that
 * are not strings copied verbatim; NULL if a key or value is not valid UTF-8
 */
extern char *oq_tags_to_json(const OqTag *tags, int ntags);

/*
 * A copy of the task body in which the tags member has the value
 * 'tags_json' and updated_at the string 'updated_at' (RFC 3339); a member
 * that is absent is added before the closing brace.  Every other byte of
 * the body is kept.  *len receives the length.
 */
extern char *oq_task_rewrite_tags(const OqTaskDoc *doc, const char *tags_json,
								  const char *updated_at, size_t *len);

/* What a submit sets; the rest takes the format's defaults */
typedef struct OqNewTask
{
	const char *id;				/* canonical UUID */
	const char *shard;
	const char *task_type;
	const char *input_json;		/* exact JSON text of input */
	const OqTag *tags;
	int			ntags;
	int64		now_us;			/* created_at = updated_at */
	int64		available_at_us;
	int64		timeout_seconds;
	int64		max_retries;
} OqNewTask;

/*
 * The JSON text of a new pending task, with every field the reference
 * producer writes (defaults for counters, retry_policy, nulls for the
 * lease/completion fields), in its order.  input_json is copied verbatim
 * (NULL means JSON null).  Returns NULL if a string is not valid UTF-8 or
 * input_json is not valid JSON, holds an unpaired surrogate escape, or
 * nests more than 999 levels deep (the
 * task object around it makes 1000, the most oq_task_decode() accepts).
 */
extern char *oq_task_build(const OqNewTask *task, size_t *len);

#endif							/* OQ_TASKJSON_H */
