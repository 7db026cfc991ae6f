/*-------------------------------------------------------------------------
 *
 * taskbuild.c
 *		New JSON text for the oq bucket format: a new task, a tags object,
 *		and a stored task with its tags rewritten in place.
 *
 * A rewrite splices the new tags and updated_at into the original bytes
 * where the decoder (taskjson.c) found them, keeping every other byte,
 * including numbers jansson could not hold and members this code does not
 * know.
 *
 * New JSON text is emitted with jansson, which escapes strings and rejects
 * invalid UTF-8; its malloc'd objects and output are freed on every path,
 * the result copied into palloc'd memory.
 *
 *-------------------------------------------------------------------------
 */
#ifdef FRONTEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include <jansson.h>
/* the backend exports an SQL function of this name: see new_json_object() */
#pragma GCC poison json_object

#include "common/jsonapi.h"
#include "compat.h"
#include "mb/pg_wchar.h"
#include "rfc3339.h"
#include "taskjson.h"

/* Append s as a JSON string (for our own ASCII and UTF-8 text) */
static void
append_json_string(StringInfo buf, const char *s)
{
	appendStringInfoChar(buf, '"');
	for (; *s; s++)
	{
		if (*s == '"' || *s == '\\')
		{
			appendStringInfoChar(buf, '\\');
			appendStringInfoChar(buf, *s);
		}
		else if ((unsigned char) *s < 0x20)
			appendStringInfo(buf, "\\u%04x", (unsigned char) *s);
		else
			appendStringInfoChar(buf, *s);
	}
	appendStringInfoChar(buf, '"');
}

/* ----------------------------------------------------------------
 * Rewriting
 * ----------------------------------------------------------------
 */

char *
oq_task_rewrite_tags(const OqTaskDoc *doc, const char *tags_json,
					 const char *updated_at, size_t *len)
{
	const OqJsonMember *tags = doc->field[OQ_F_TAGS];
	const OqJsonMember *upd = doc->field[OQ_F_UPDATED_AT];
	StringInfoData updated;
	StringInfoData out;
	StringInfoData added;
	const char *insert_at;
	const char *pos = doc->body;
	const OqJsonMember *first;
	const OqJsonMember *second;

	initStringInfo(&updated);
	append_json_string(&updated, updated_at);

	/*
	 * A missing member goes right after the last member's value (so before
	 * the closing brace and any whitespace in front of it), or after the
	 * '{' of an empty object.
	 */
	initStringInfo(&added);
	if (tags == NULL)
		appendStringInfo(&added, ",\"tags\":%s", tags_json);
	if (upd == NULL)
		appendStringInfo(&added, ",\"updated_at\":%s", updated.data);
	if (doc->nmembers > 0)
	{
		const OqJsonMember *last = &doc->members[doc->nmembers - 1];

		insert_at = last->raw + last->raw_len;
	}
	else
	{
		insert_at = (const char *) memchr(doc->body, '{', doc->len) + 1;
		if (added.len > 0)
		{
			/* no member to follow: drop the leading comma */
			memmove(added.data, added.data + 1, added.len);
			added.len--;
		}
	}

	/* Replace the spans in body order, then add what was missing */
	first = tags;
	second = upd;
	if (first == NULL || (second != NULL && second->raw < first->raw))
	{
		first = upd;
		second = tags;
	}

	initStringInfo(&out);
	enlargeStringInfo(&out, doc->len + strlen(tags_json) + updated.len + added.len);
	for (int i = 0; i < 2; i++)
	{
		const OqJsonMember *m = (i == 0) ? first : second;

		if (m == NULL)
			continue;
		appendBinaryStringInfo(&out, pos, m->raw - pos);
		if (m == tags)
			appendStringInfoString(&out, tags_json);
		else
			appendBinaryStringInfo(&out, updated.data, updated.len);
		pos = m->raw + m->raw_len;
	}
	/* both replaced spans end at or before the insertion point */
	Assert(pos <= insert_at);
	appendBinaryStringInfo(&out, pos, insert_at - pos);
	appendBinaryStringInfo(&out, added.data, added.len);
	appendBinaryStringInfo(&out, insert_at, doc->body + doc->len - insert_at);

	pfree(updated.data);
	pfree(added.data);
	*len = out.len;
	return out.data;
}

/* ----------------------------------------------------------------
 * Building new JSON text with jansson
 * ----------------------------------------------------------------
 */

/* jansson's dump as palloc'd text, freeing the malloc'd original */
static char *
jansson_dump_copy(json_t *json, size_t *len)
{
	char	   *dumped = json_dumps(json, JSON_COMPACT | JSON_PRESERVE_ORDER);
	char	   *result;
	size_t		n;

	if (dumped == NULL)
		return NULL;
	n = strlen(dumped);
	result = palloc(n + 1);
	memcpy(result, dumped, n + 1);
	free(dumped);
	if (len)
		*len = n;
	return result;
}

/*
 * A new empty jansson object.  Never call json_object() from this module:
 * the postgres executable exports a function of the same name (the SQL
 * function json_object(text[])), and in the backend the dynamic linker
 * binds our call to that one, not jansson's -- a crash.  json_pack's own
 * call to json_object stays inside libjansson, which binds it directly.
 */
static json_t *
new_json_object(void)
{
	return json_pack("{}");
}

/* A jansson object of the tags, or NULL if a key or value is not UTF-8 */
static json_t *
tags_to_jansson(const OqTag *tags, int ntags)
{
	json_t	   *obj = new_json_object();

	if (obj == NULL)
		return NULL;
	for (int i = 0; i < ntags; i++)
	{
		json_t	   *v;

		/* new tasks come from oq_tags_from_jsonb: strings only */
		if (tags[i].value == NULL)
		{
			json_decref(obj);
			return NULL;
		}
		v = json_stringn(tags[i].value, strlen(tags[i].value));

		/* json_object_set_new takes v even when it fails (bad key) */
		if (v == NULL || json_object_set_new(obj, tags[i].key, v) != 0)
		{
			json_decref(obj);
			return NULL;
		}
	}
	return obj;
}

/* Append s as JSON text the way jansson writes it; false if not UTF-8 */
static bool
append_jansson_string(StringInfo buf, const char *s)
{
	json_t	   *str = json_stringn(s, strlen(s));
	char	   *dumped;

	if (str == NULL)
		return false;
	dumped = json_dumps(str, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(str);
	if (dumped == NULL)
		return false;
	appendStringInfoString(buf, dumped);
	free(dumped);
	return true;
}

/*
 * Tags one of which is not a string (another producer's): its JSON text is
 * copied verbatim, since jansson cannot hold every number exactly.
 */
static char *
tags_with_foreign_values_to_json(const OqTag *tags, int ntags)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int i = 0; i < ntags; i++)
	{
		if (i > 0)
			appendStringInfoChar(&buf, ',');
		if (!append_jansson_string(&buf, tags[i].key))
			return NULL;
		appendStringInfoChar(&buf, ':');
		if (tags[i].value == NULL)
			appendStringInfoString(&buf, tags[i].json);
		else if (!append_jansson_string(&buf, tags[i].value))
			return NULL;
	}
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

char *
oq_tags_to_json(const OqTag *tags, int ntags)
{
	json_t	   *obj;
	char	   *result;

	for (int i = 0; i < ntags; i++)
	{
		if (tags[i].value == NULL)
			return tags_with_foreign_values_to_json(tags, ntags);
	}
	obj = tags_to_jansson(tags, ntags);
	if (obj == NULL)
		return NULL;
	result = jansson_dump_copy(obj, NULL);
	json_decref(obj);
	return result;
}

/* Set key to a new value in obj; false (and nothing leaked) if v is NULL */
static bool
set_new(json_t *obj, const char *key, json_t *v)
{
	return v != NULL && json_object_set_new(obj, key, v) == 0;
}

static json_t *
json_timestamp(int64 unix_us)
{
	char		buf[OQ_RFC3339_BUFLEN];

	oq_rfc3339_format(unix_us, buf);
	return json_string(buf);
}

char *
oq_task_build(const OqNewTask *task, size_t *len)
{
	const char *input = task->input_json ? task->input_json : "null";
	size_t		input_len = strlen(input);
	json_t	   *head = NULL;
	json_t	   *tail = NULL;
	char	   *head_text = NULL;
	char	   *tail_text = NULL;
	size_t		head_len;
	size_t		tail_len;
	char	   *result = NULL;
	JsonLexContext *lex;
	JsonParseErrorType err;

	/*
	 * input is spliced in as text (jansson would round big numbers).  It
	 * sits one level inside the task object, so it may nest one level less
	 * than a whole task: otherwise we would write a task that
	 * oq_task_decode() refuses (caught by test/fuzz/fuzz_taskbuild.c).
	 */
	if (input_len > (size_t) PG_INT32_MAX ||
		pg_encoding_verifymbstr(PG_UTF8, input, (int) input_len) != (int) input_len ||
		oq_json_max_depth(input, input_len, OQ_TASK_MAX_DEPTH) > OQ_TASK_MAX_DEPTH - 1)
		return NULL;
	lex = oq_json_lex_create(input, input_len, false);
	err = pg_parse_json(lex, &nullSemAction);
	oq_json_lex_free(lex);
	if (err != JSON_SUCCESS)
		return NULL;
	/* the workers (and so oq_task_decode()) refuse unpaired surrogates */
	if (oq_json_text_problem(input, (int) input_len, true) != NULL)
		return NULL;

	/*
	 * The members in the order the reference producer writes them, around
	 * the input: {id, shard, task_type, "input": ..., output, ...}.
	 */
	head = new_json_object();
	tail = new_json_object();
	if (head == NULL || tail == NULL ||
		!set_new(head, "id", json_string(task->id)) ||
		!set_new(head, "shard", json_string(task->shard)) ||
		!set_new(head, "task_type", json_string(task->task_type)) ||
		!set_new(tail, "output", json_null()) ||
		!set_new(tail, "timeout_seconds", json_integer(task->timeout_seconds)) ||
		!set_new(tail, "max_retries", json_integer(task->max_retries)) ||
		!set_new(tail, "retry_count", json_integer(0)) ||
		!set_new(tail, "retry_policy",
				 json_loads(oq_task_fields[OQ_F_RETRY_POLICY].default_json, 0, NULL)) ||
		!set_new(tail, "status", json_string("pending")) ||
		!set_new(tail, "created_at", json_timestamp(task->now_us)) ||
		!set_new(tail, "available_at", json_timestamp(task->available_at_us)) ||
		!set_new(tail, "lease_expires_at", json_null()) ||
		!set_new(tail, "lease_id", json_null()) ||
		!set_new(tail, "attempt", json_integer(0)) ||
		!set_new(tail, "updated_at", json_timestamp(task->now_us)) ||
		!set_new(tail, "completed_at", json_null()) ||
		!set_new(tail, "worker_id", json_null()) ||
		!set_new(tail, "last_error", json_null()) ||
		!set_new(tail, "reschedule_count", json_integer(0)) ||
		!set_new(tail, "cancel_requested", json_false()) ||
		!set_new(tail, "tags", tags_to_jansson(task->tags, task->ntags)))
		goto done;

	head_text = jansson_dump_copy(head, &head_len);
	tail_text = jansson_dump_copy(tail, &tail_len);
	if (head_text == NULL || tail_text == NULL)
		goto done;

	/* head without its '}', the input, tail without its '{' */
	Assert(head_text[head_len - 1] == '}' && tail_text[0] == '{');
	result = psprintf("%.*s,\"input\":%s,%s",
					  (int) head_len - 1, head_text, input, tail_text + 1);
	if (len)
		*len = strlen(result);

done:
	if (head)
		json_decref(head);
	if (tail)
		json_decref(tail);
	if (head_text)
		pfree(head_text);
	if (tail_text)
		pfree(tail_text);
	return result;
}
