/*-------------------------------------------------------------------------
 *
 * taskjson.h
 *		The task object of the oq bucket format: decoding a stored object,
 *		building a new one, and rewriting one without disturbing what this
 *		code does not change.
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

#include "tags.h"

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

/*
 * Why a JSON string has no text value (compare the pointers).  The queue's
 * workers (serde_json) read \u0000 in any string, so a task holding one is
 * valid, and only reading that value into text or jsonb fails; they refuse
 * an unpaired surrogate in every member they read.
 */
extern const char OQ_WHY_NUL[];
extern const char OQ_WHY_SURROGATE[];

/*
 * Scan JSON text (already checked by the parser) for \u0000 and unpaired
 * surrogate escapes in its strings; returns the first problem's OQ_WHY_*,
 * or NULL.  With nul_ok, \u0000 is not a problem.
 */
extern const char *oq_json_text_problem(const char *raw, int len, bool nul_ok);

/* The task fields of the format, in the column order of the foreign table */
typedef enum OqField
{
	OQ_F_ID,
	OQ_F_SHARD,
	OQ_F_TASK_TYPE,
	OQ_F_STATUS,
	OQ_F_INPUT,
	OQ_F_OUTPUT,
	OQ_F_INPUT_REF,
	OQ_F_OUTPUT_REF,
	OQ_F_TAGS,
	OQ_F_TIMEOUT_SECONDS,
	OQ_F_MAX_RETRIES,
	OQ_F_RETRY_COUNT,
	OQ_F_RETRY_POLICY,
	OQ_F_ATTEMPT,
	OQ_F_CREATED_AT,
	OQ_F_AVAILABLE_AT,
	OQ_F_UPDATED_AT,
	OQ_F_COMPLETED_AT,
	OQ_F_LEASE_EXPIRES_AT,
	OQ_F_LEASE_ID,
	OQ_F_WORKER_ID,
	OQ_F_LAST_ERROR,
	OQ_F_RESCHEDULE_COUNT,
	OQ_F_MAX_RESCHEDULES,
	OQ_F_CANCEL_REQUESTED,
	OQ_F_CANCELLED_AT,
	OQ_F_CANCELLED_BY,
	OQ_F_EXPIRES_AT,
	OQ_F_EXPIRED_AT
} OqField;

#define OQ_NUM_FIELDS (OQ_F_EXPIRED_AT + 1)

typedef enum OqFieldKind
{
	OQ_KIND_UUID,				/* JSON string, UUID: canonical for the id
								 * (it names the key), any case otherwise */
	OQ_KIND_STRING,				/* JSON string */
	OQ_KIND_TIMESTAMP,			/* JSON string, RFC 3339 */
	OQ_KIND_INTEGER,			/* JSON number, integral, >= 0, fits int64 */
	OQ_KIND_BOOLEAN,			/* JSON true/false */
	OQ_KIND_JSON,				/* any JSON value */
	OQ_KIND_OBJECT,				/* a JSON object */
	OQ_KIND_TAGS				/* object of string to string */
} OqFieldKind;

typedef struct OqFieldSpec
{
	const char *name;			/* member name in the object */
	OqFieldKind kind;
	const char *sql_type;		/* column type IMPORT FOREIGN SCHEMA uses */
	bool		required;		/* absent: the object is not a task */
	bool		nullable;		/* JSON null accepted */
	const char *default_json;	/* value when absent, as JSON; NULL: SQL NULL */
} OqFieldSpec;

extern const OqFieldSpec oq_task_fields[OQ_NUM_FIELDS];

/* Looks a field up by member name; -1 when it is not a field of the format */
extern int	oq_task_field_lookup(const char *name);

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
