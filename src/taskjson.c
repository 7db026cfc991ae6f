/*-------------------------------------------------------------------------
 *
 * taskjson.c
 *		Decoding and validating a stored task object of the oq bucket
 *		format.
 *
 * Decoding runs PostgreSQL's own JSON parser (common/jsonapi.h, the same in
 * the backend and the frontend) with semantic actions that, like
 * jsonfuncs.c, note where each top-level value starts (lex->token_start at
 * object_field_start) and ends (lex->prev_token_terminator at
 * object_field_end, both at lex_level 1).  Nothing is converted through a
 * C double or a 64-bit integer unless it is a field of that kind, so
 * numbers of any size or precision survive: the scan hands the exact text
 * of input/output to jsonb, and a tag update (taskbuild.c) splices the new
 * tags and updated_at into the original bytes, keeping every other byte,
 * including members this code does not know.
 *
 * The lexer runs without de-escaping (need_escapes = false).  With it, PG 15
 * de-escapes every string of the document, big payloads included, rejects
 * "\u0000" anywhere (even deep inside input, which we only carry), and in
 * the backend converts \u escapes to the server encoding, and can ereport
 * while doing so.  Instead, the few strings we need (member names, string
 * fields, tags) are de-escaped by jsontext.c, always to UTF-8.  Without de-escaping
 * the parser does not hand object_field_start the member name, so the name
 * is found between the end of the previous member (or the '{') and the
 * ':' the parser has just passed.
 *
 * Two checks come before the parser: the body must be UTF-8 (RFC 8259;
 * PostgreSQL's lexer does not check it), and arrays and objects may nest at
 * most OQ_TASK_MAX_DEPTH deep.  The parser recurses once per level with no
 * depth check in the frontend (a deep document overflows the stack) and
 * check_stack_depth() in the backend (an ereport from a function that
 * promises not to raise); the reference producer's serde_json stops at 128.
 *
 *-------------------------------------------------------------------------
 */
#ifdef FRONTEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include "common/jsonapi.h"
#include "compat.h"
#include "keys.h"
#include "mb/pg_wchar.h"
#include "rfc3339.h"
#include "taskjson.h"

/* Characters of a value quoted in an error message */
#define QUOTE_MAX_CHARS 64

/* ----------------------------------------------------------------
 * Small JSON text helpers
 * ----------------------------------------------------------------
 */

static bool
is_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static const char *
json_type_phrase(OqJsonType type)
{
	switch (type)
	{
		case OQ_JSON_NULL:
			return "null";
		case OQ_JSON_STRING:
			return "a string";
		case OQ_JSON_NUMBER:
			return "a number";
		case OQ_JSON_BOOL:
			return "a boolean";
		case OQ_JSON_OBJECT:
			return "an object";
		case OQ_JSON_ARRAY:
			return "an array";
	}
	return "a value";
}

static OqJsonType
json_type_of_token(JsonTokenType tok)
{
	switch (tok)
	{
		case JSON_TOKEN_STRING:
			return OQ_JSON_STRING;
		case JSON_TOKEN_NUMBER:
			return OQ_JSON_NUMBER;
		case JSON_TOKEN_TRUE:
		case JSON_TOKEN_FALSE:
			return OQ_JSON_BOOL;
		case JSON_TOKEN_OBJECT_START:
			return OQ_JSON_OBJECT;
		case JSON_TOKEN_ARRAY_START:
			return OQ_JSON_ARRAY;
		default:
			return OQ_JSON_NULL;
	}
}

/* A value's text for an error message: at most QUOTE_MAX_CHARS characters */
static char *
quote_text(const char *s, size_t len)
{
	return oq_quote_for_message(s, len, QUOTE_MAX_CHARS);
}

/*
 * The lexer's error, in the style of our messages.  PostgreSQL 15's
 * json_errdetail() exists only in the backend (and writes detail-style
 * sentences), so the frontend tests could not show what users see.
 */
static char *
json_error_message(JsonParseErrorType err, JsonLexContext *lex)
{
	const char *tok = "";
	char	   *detail;

	if (err == JSON_EXPECTED_MORE)
		return pstrdup("task object is not valid JSON: the input ends unexpectedly");
	if (lex->token_start != NULL && lex->token_terminator >= lex->token_start)
		tok = quote_text(lex->token_start,
						 lex->token_terminator - lex->token_start);

	switch (err)
	{
		case JSON_ESCAPING_REQUIRED:
			detail = psprintf("character with value 0x%02x must be escaped",
							  (unsigned char) *lex->token_terminator);
			break;
		case JSON_ESCAPING_INVALID:
			detail = psprintf("escape sequence \"\\%s\" is invalid", tok);
			break;
		case JSON_EXPECTED_ARRAY_FIRST:
			detail = psprintf("expected array element or \"]\", but found \"%s\"", tok);
			break;
		case JSON_EXPECTED_ARRAY_NEXT:
			detail = psprintf("expected \",\" or \"]\", but found \"%s\"", tok);
			break;
		case JSON_EXPECTED_COLON:
			detail = psprintf("expected \":\", but found \"%s\"", tok);
			break;
		case JSON_EXPECTED_END:
			detail = psprintf("expected end of input, but found \"%s\"", tok);
			break;
		case JSON_EXPECTED_JSON:
			detail = psprintf("expected JSON value, but found \"%s\"", tok);
			break;
		case JSON_EXPECTED_OBJECT_FIRST:
			detail = psprintf("expected string or \"}\", but found \"%s\"", tok);
			break;
		case JSON_EXPECTED_OBJECT_NEXT:
			detail = psprintf("expected \",\" or \"}\", but found \"%s\"", tok);
			break;
		case JSON_EXPECTED_STRING:
			detail = psprintf("expected string, but found \"%s\"", tok);
			break;
		case JSON_INVALID_TOKEN:
			detail = psprintf("token \"%s\" is invalid", tok);
			break;
		case JSON_UNICODE_ESCAPE_FORMAT:
			/* the token is the whole string so far: not worth quoting */
			detail = pstrdup("\"\\u\" must be followed by four hexadecimal digits");
			break;
		default:
			/* the de-escaping errors: unreachable without need_escapes */
			detail = psprintf("parser error %d", (int) err);
			break;
	}
	return psprintf("task object is not valid JSON: %s (line %d)",
					detail, lex->line_number);
}

/* ----------------------------------------------------------------
 * Decoding
 * ----------------------------------------------------------------
 */

typedef struct DecodeState
{
	JsonLexContext *lex;
	OqTaskDoc  *doc;
	int			capacity;		/* of doc->members */
	bool		top_is_object;
	OqJsonType	top_type;
	const char *cursor;			/* end of the previous member, or the '{' */
	char	   *error;			/* first member-name problem */
} DecodeState;

static OqJsonCallbackResult
decode_object_start(void *state)
{
	DecodeState *ds = state;

	if (ds->lex->lex_level == 0)
	{
		ds->top_is_object = true;
		ds->top_type = OQ_JSON_OBJECT;
		/* token_start is the '{' itself: the parser has not consumed it */
		ds->cursor = ds->lex->token_start + 1;
	}
	OQ_JSON_CALLBACK_DONE;
}

static OqJsonCallbackResult
decode_array_start(void *state)
{
	DecodeState *ds = state;

	if (ds->lex->lex_level == 0)
		ds->top_type = OQ_JSON_ARRAY;
	OQ_JSON_CALLBACK_DONE;
}

static OqJsonCallbackResult
decode_scalar(void *state, char *token, JsonTokenType tokentype)
{
	DecodeState *ds = state;

	if (ds->lex->lex_level == 0)
		ds->top_type = json_type_of_token(tokentype);
	OQ_JSON_CALLBACK_DONE;
}

static OqJsonCallbackResult
decode_field_start(void *state, char *fname, bool isnull)
{
	DecodeState *ds = state;
	JsonLexContext *lex = ds->lex;
	OqTaskDoc  *doc = ds->doc;
	OqJsonMember *m;
	const char *name_start;
	const char *name_end;
	const char *why = NULL;

	if (lex->lex_level != 1)
		OQ_JSON_CALLBACK_DONE;

	/*
	 * The parser has consumed the name and the ':' (prev_token_terminator is
	 * just past it) and is looking at the value.  The name token is what
	 * lies between the previous member's end, past a ',' and whitespace, and
	 * the whitespace before the ':'.
	 */
	name_start = ds->cursor;
	while (is_json_space(*name_start) || *name_start == ',')
		name_start++;
	name_end = lex->prev_token_terminator - 1;
	Assert(*name_end == ':');
	while (name_end > name_start && is_json_space(name_end[-1]))
		name_end--;

	if (doc->nmembers == ds->capacity)
	{
		ds->capacity *= 2;
		doc->members = repalloc(doc->members,
								ds->capacity * sizeof(OqJsonMember));
	}
	m = &doc->members[doc->nmembers++];
	m->name = oq_json_unescape(name_start, name_end - name_start, &why);
	if (m->name == NULL)
	{
		/*
		 * The workers' serde_json rejects an unpaired surrogate in a name,
		 * but takes a name with \u0000 as a member it does not know: so do
		 * we (no column can name it).
		 */
		if (why != OQ_WHY_NUL && ds->error == NULL)
			ds->error = psprintf("task object has a member name containing %s",
								 why);
		m->name = "";
	}
	m->type = json_type_of_token(lex->token_type);
	m->raw = lex->token_start;
	m->raw_len = 0;
	m->str = NULL;
	OQ_JSON_CALLBACK_DONE;
}

static OqJsonCallbackResult
decode_field_end(void *state, char *fname, bool isnull)
{
	DecodeState *ds = state;
	JsonLexContext *lex = ds->lex;
	OqJsonMember *m;

	if (lex->lex_level != 1)
		OQ_JSON_CALLBACK_DONE;

	/* the parser has consumed the value and looks at the ',' or '}' */
	m = &ds->doc->members[ds->doc->nmembers - 1];
	m->raw_len = lex->prev_token_terminator - m->raw;
	ds->cursor = lex->prev_token_terminator;
	OQ_JSON_CALLBACK_DONE;
}

static bool
decode_fail(char **errmsg, char *msg)
{
	if (errmsg)
		*errmsg = msg;
	return false;
}

/*
 * A non-negative integral JSON number that fits int64 (with u64, uint64:
 * a value beyond int64 is stored as -1).  The lexer has
 * checked the number's syntax: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
 */
static bool
decode_integer(const OqJsonMember *m, const char *field, bool u64,
			   int64 *result, char **errmsg)
{
	const char *p = m->raw;
	const char *end = m->raw + m->raw_len;
	bool		negative = false;
	uint64		v = 0;

	if (*p == '-')
	{
		negative = true;
		p++;
	}
	for (const char *q = p; q < end; q++)
	{
		if (*q < '0' || *q > '9')
			return decode_fail(errmsg,
							   psprintf("task field \"%s\" must be an integer, not %s",
										field, quote_text(m->raw, m->raw_len)));
	}
	for (; p < end; p++)
	{
		if (v > (PG_UINT64_MAX - (*p - '0')) / 10)
			return decode_fail(errmsg,
							   u64 ?
							   psprintf("task field \"%s\" is out of range for a 64-bit unsigned integer: %s",
										field, quote_text(m->raw, m->raw_len)) :
							   psprintf("task field \"%s\" is out of range for a 64-bit integer: %s",
										field, quote_text(m->raw, m->raw_len)));
		v = v * 10 + (*p - '0');
	}
	if (negative && v != 0)
		return decode_fail(errmsg,
						   psprintf("task field \"%s\" must not be negative, but is %s",
									field, quote_text(m->raw, m->raw_len)));
	if (v > (uint64) PG_INT64_MAX && u64)
	{
		/* the workers' u64 holds it; reading it as bigint fails */
		*result = -1;
		return true;
	}
	if (v > (uint64) PG_INT64_MAX)
		return decode_fail(errmsg,
						   psprintf("task field \"%s\" is out of range for a 64-bit integer: %s",
									field, quote_text(m->raw, m->raw_len)));
	*result = (int64) v;
	return true;
}

/*
 * Sort helper for finding repeated tag keys: by key, then by position, so
 * each run of equal keys starts with the first occurrence.
 */
typedef struct TagPos
{
	const char *key;
	int			pos;
} TagPos;

static int
tagpos_cmp(const void *a, const void *b)
{
	const TagPos *x = a;
	const TagPos *y = b;
	int			c = strcmp(x->key, y->key);

	if (c != 0)
		return c;
	return (x->pos > y->pos) - (x->pos < y->pos);
}

/*
 * A key given twice keeps its first position and takes its last value,
 * the way jsonb, jansson and the reference producer's HashMap read such an
 * object; the tag list then has one entry per key.  Sorting keeps this
 * O(n log n) for a hostile object with very many tags.
 */
static void
dedup_tags(OqTaskDoc *doc)
{
	TagPos	   *tp;
	bool	   *drop;
	int			n = doc->ntags;
	int			k = 0;

	tp = palloc(n * sizeof(TagPos));
	drop = palloc0(n * sizeof(bool));
	for (int i = 0; i < n; i++)
	{
		tp[i].key = doc->tags[i].key;
		tp[i].pos = i;
	}
	qsort(tp, n, sizeof(TagPos), tagpos_cmp);
	for (int i = 0; i < n;)
	{
		int			j = i + 1;

		while (j < n && strcmp(tp[j].key, tp[i].key) == 0)
			j++;
		/* tp[i] is the key's first occurrence, tp[j - 1] its last */
		if (j - i > 1)
		{
			doc->tags[tp[i].pos].value = doc->tags[tp[j - 1].pos].value;
			doc->tags[tp[i].pos].json = doc->tags[tp[j - 1].pos].json;
			for (int d = i + 1; d < j; d++)
				drop[tp[d].pos] = true;
		}
		i = j;
	}
	for (int i = 0; i < n; i++)
	{
		if (!drop[i])
			doc->tags[k++] = doc->tags[i];
	}
	doc->ntags = k;
	pfree(tp);
	pfree(drop);
}

/*
 * Walk the tags object (already validated by the parser) with the lexer.
 * Only tags are looked at this closely; their rules (key syntax, lengths,
 * string values) are for writers, not checked here: another producer's
 * values of any JSON type are read as they are.
 */
static bool
decode_tags(OqTaskDoc *doc, const OqJsonMember *m, char **errmsg)
{
	JsonLexContext *lex;
	int			capacity = 8;
	bool		ok = true;

	lex = oq_json_lex_create(m->raw, m->raw_len, false);
	doc->tags = palloc(capacity * sizeof(OqTag));
	doc->ntags = 0;

	if (json_lex(lex) != JSON_SUCCESS || lex->token_type != JSON_TOKEN_OBJECT_START ||
		json_lex(lex) != JSON_SUCCESS)
		goto invalid;
	while (lex->token_type == JSON_TOKEN_STRING)
	{
		const char *why = NULL;
		char	   *key;
		char	   *value;
		char	   *json = NULL;
		bool		left_out = false;	/* see tags_why */

		key = oq_json_unescape(lex->token_start,
							lex->token_terminator - lex->token_start, &why);
		if (key == NULL && why == OQ_WHY_NUL)
		{
			/* valid for the workers, but no text can name it */
			doc->tags_why = why;
			left_out = true;
			key = "";
		}
		else if (key == NULL)
		{
			ok = decode_fail(errmsg,
							 psprintf("task field \"tags\" has a key containing %s",
									  why));
			break;
		}
		if (json_lex(lex) != JSON_SUCCESS || lex->token_type != JSON_TOKEN_COLON ||
			json_lex(lex) != JSON_SUCCESS)
			goto invalid;
		if (lex->token_type != JSON_TOKEN_STRING)
		{
			/*
			 * Another producer's value that is not a string: kept as its
			 * exact JSON text (a container up to its matching end), shown
			 * as it is and rewritten verbatim.
			 */
			const char *start = lex->token_start;
			int			depth = 0;

			for (;;)
			{
				if (lex->token_type == JSON_TOKEN_OBJECT_START ||
					lex->token_type == JSON_TOKEN_ARRAY_START)
					depth++;
				else if (lex->token_type == JSON_TOKEN_OBJECT_END ||
						 lex->token_type == JSON_TOKEN_ARRAY_END)
					depth--;
				if (depth == 0)
					break;
				if (json_lex(lex) != JSON_SUCCESS ||
					lex->token_type == JSON_TOKEN_END)
					goto invalid;
			}
			value = NULL;
			json = pnstrdup(start, lex->token_terminator - start);
			/* the workers refuse a bad surrogate; \u0000 as in a string */
			why = oq_json_text_problem(json, strlen(json), true);
			if (why != NULL)
			{
				ok = decode_fail(errmsg,
								 psprintf("value of tag \"%s\" contains %s",
										  quote_text(key, strlen(key)), why));
				break;
			}
			if (oq_json_text_problem(json, strlen(json), false) == OQ_WHY_NUL)
			{
				doc->tags_why = OQ_WHY_NUL;
				left_out = true;
			}
		}
		else
		{
			value = oq_json_unescape(lex->token_start,
								  lex->token_terminator - lex->token_start, &why);
			if (value == NULL && why == OQ_WHY_NUL)
			{
				doc->tags_why = why;
				left_out = true;
			}
			else if (value == NULL)
			{
				ok = decode_fail(errmsg,
								 psprintf("value of tag \"%s\" contains %s",
										  quote_text(key, strlen(key)), why));
				break;
			}
		}
		if (!left_out)
		{
			if (doc->ntags == capacity)
			{
				capacity *= 2;
				doc->tags = repalloc(doc->tags, capacity * sizeof(OqTag));
			}
			doc->tags[doc->ntags].key = key;
			doc->tags[doc->ntags].value = value;
			doc->tags[doc->ntags].json = json;
			doc->ntags++;
		}


		if (json_lex(lex) != JSON_SUCCESS)
			goto invalid;
		if (lex->token_type == JSON_TOKEN_COMMA &&
			json_lex(lex) != JSON_SUCCESS)
			goto invalid;
	}
	if (ok && lex->token_type != JSON_TOKEN_OBJECT_END)
		goto invalid;
	oq_json_lex_free(lex);
	if (ok && doc->ntags > 1)
		dedup_tags(doc);
	return ok;

invalid:
	/* cannot happen: the whole body passed the parser */
	oq_json_lex_free(lex);
	return decode_fail(errmsg, pstrdup("task field \"tags\" is not a valid JSON object"));
}

/*
 * Check one known field's value against its kind and store what it holds;
 * why says what made a string's str NULL
 */
static bool
decode_field(OqTaskDoc *doc, int f, const OqJsonMember *m, const char *why,
			 char **errmsg)
{
	const OqFieldSpec *spec = &oq_task_fields[f];

	if (m->type == OQ_JSON_NULL)
	{
		if (spec->nullable)
			return true;
		return decode_fail(errmsg,
						   psprintf("task field \"%s\" must not be null",
									spec->name));
	}

	switch (spec->kind)
	{
		case OQ_KIND_UUID:
		case OQ_KIND_STRING:
		case OQ_KIND_TIMESTAMP:
			if (m->type != OQ_JSON_STRING)
				return decode_fail(errmsg,
								   psprintf("task field \"%s\" must be a string, not %s",
											spec->name, json_type_phrase(m->type)));
			/* the workers take \u0000 in a plain string; reading it fails */
			if (m->str == NULL && spec->kind == OQ_KIND_STRING &&
				why == OQ_WHY_NUL)
				return true;
			if (m->str == NULL)
				return decode_fail(errmsg,
								   psprintf("task field \"%s\" contains %s",
											spec->name, why));
			if (spec->kind == OQ_KIND_TIMESTAMP &&
				!oq_rfc3339_parse(m->str, strlen(m->str), &doc->timestamp[f]))
				return decode_fail(errmsg,
								   psprintf("task field \"%s\" is not an RFC 3339 timestamp: \"%s\"",
											spec->name,
											quote_text(m->str, strlen(m->str))));

			/*
			 * The id names the object's key, so it must be exactly as
			 * written there; other UUIDs are read as uuid_in would.
			 */
			if (f == OQ_F_ID && !oq_uuid_is_canonical(m->str, strlen(m->str)))
				return decode_fail(errmsg,
								   psprintf("task field \"%s\" is not a lowercase hyphenated UUID: \"%s\"",
											spec->name,
											quote_text(m->str, strlen(m->str))));
			if (spec->kind == OQ_KIND_UUID && f != OQ_F_ID &&
				!oq_uuid_is_valid(m->str, strlen(m->str)))
				return decode_fail(errmsg,
								   psprintf("task field \"%s\" is not a UUID: \"%s\"",
											spec->name,
											quote_text(m->str, strlen(m->str))));
			return true;

		case OQ_KIND_INTEGER:
			if (m->type != OQ_JSON_NUMBER)
				return decode_fail(errmsg,
								   psprintf("task field \"%s\" must be a number, not %s",
											spec->name, json_type_phrase(m->type)));
			return decode_integer(m, spec->name, f == OQ_F_TIMEOUT_SECONDS,
								  &doc->integer[f], errmsg);

		case OQ_KIND_BOOLEAN:
			if (m->type != OQ_JSON_BOOL)
				return decode_fail(errmsg,
								   psprintf("task field \"%s\" must be true or false, not %s",
											spec->name, json_type_phrase(m->type)));
			doc->boolean[f] = (m->raw[0] == 't');
			return true;

		case OQ_KIND_JSON:
			/* the workers read it as a serde_json Value */
			if (m->type == OQ_JSON_STRING || m->type == OQ_JSON_OBJECT ||
				m->type == OQ_JSON_ARRAY)
			{
				const char *problem = oq_json_text_problem(m->raw, m->raw_len, true);

				if (problem)
					return decode_fail(errmsg,
									   psprintf("task field \"%s\" contains %s",
												spec->name, problem));
			}
			return true;

		case OQ_KIND_OBJECT:
		case OQ_KIND_TAGS:
			if (m->type != OQ_JSON_OBJECT)
				return decode_fail(errmsg,
								   psprintf("task field \"%s\" must be an object, not %s",
											spec->name, json_type_phrase(m->type)));
			if (spec->kind == OQ_KIND_TAGS)
				return decode_tags(doc, m, errmsg);
			return true;
	}
	return true;
}

bool
oq_task_decode(const char *body, size_t len, OqTaskDoc *doc, char **errmsg)
{
	JsonSemAction sem;
	DecodeState ds;
	JsonParseErrorType err;
	int			valid_len;

	memset(doc, 0, sizeof(OqTaskDoc));
	doc->body = body;
	doc->len = len;

	if (len == 0)
		return decode_fail(errmsg, pstrdup("task object is empty"));
	if (len > (size_t) PG_INT32_MAX)
		return decode_fail(errmsg, pstrdup("task object is larger than 2 GB"));
	valid_len = pg_encoding_verifymbstr(PG_UTF8, body, (int) len);
	if (valid_len != (int) len)
		return decode_fail(errmsg,
						   psprintf("task object is not valid UTF-8 (at byte %d)",
									valid_len));
	if (oq_json_max_depth(body, len, OQ_TASK_MAX_DEPTH) > OQ_TASK_MAX_DEPTH)
		return decode_fail(errmsg,
						   psprintf("task object nests arrays and objects more than %d levels deep",
									OQ_TASK_MAX_DEPTH));

	memset(&ds, 0, sizeof(ds));
	ds.lex = oq_json_lex_create(body, len, false);
	ds.doc = doc;
	ds.capacity = 32;
	ds.top_type = OQ_JSON_NULL;
	doc->members = palloc(ds.capacity * sizeof(OqJsonMember));

	memset(&sem, 0, sizeof(sem));
	sem.semstate = &ds;
	sem.object_start = decode_object_start;
	sem.array_start = decode_array_start;
	sem.scalar = decode_scalar;
	sem.object_field_start = decode_field_start;
	sem.object_field_end = decode_field_end;

	err = pg_parse_json(ds.lex, &sem);
	if (err != JSON_SUCCESS)
	{
		char	   *msg = json_error_message(err, ds.lex);

		oq_json_lex_free(ds.lex);
		return decode_fail(errmsg, msg);
	}
	oq_json_lex_free(ds.lex);
	if (!ds.top_is_object)
		return decode_fail(errmsg,
						   psprintf("task object is %s, not a JSON object",
									json_type_phrase(ds.top_type)));
	if (ds.error)
		return decode_fail(errmsg, ds.error);

	/* Known fields: once each, of their kind.  Unknown ones: kept as is. */
	for (int i = 0; i < doc->nmembers; i++)
	{
		OqJsonMember *m = &doc->members[i];
		const char *why = NULL;
		int			f;

		/* the text of every scalar; NULL for a string text cannot hold */
		if (m->type == OQ_JSON_STRING)
		{
			m->str = oq_json_unescape(m->raw, m->raw_len, &why);
			m->str_why = why;
		}
		else if (m->type == OQ_JSON_NUMBER)
			m->str = pnstrdup(m->raw, m->raw_len);
		else if (m->type == OQ_JSON_BOOL)
			m->str = (m->raw[0] == 't') ? "true" : "false";

		f = oq_task_field_lookup(m->name);
		if (f < 0)
			continue;
		if (doc->field[f] != NULL)
			return decode_fail(errmsg,
							   psprintf("task field \"%s\" appears more than once",
										oq_task_fields[f].name));
		doc->field[f] = m;
		if (!decode_field(doc, f, m, why, errmsg))
			return false;
	}

	for (int f = 0; f < OQ_NUM_FIELDS; f++)
	{
		if (oq_task_fields[f].required && doc->field[f] == NULL)
			return decode_fail(errmsg,
							   psprintf("task field \"%s\" is missing",
										oq_task_fields[f].name));
	}
	return true;
}

const OqJsonMember *
oq_task_member(const OqTaskDoc *doc, const char *name)
{
	/* the last of equal names, as jsonb keeps it */
	for (int i = doc->nmembers - 1; i >= 0; i--)
	{
		if (strcmp(doc->members[i].name, name) == 0)
			return &doc->members[i];
	}
	return NULL;
}

const OqTag *
oq_task_tag_find(const OqTaskDoc *doc, const char *key)
{
	for (int i = 0; i < doc->ntags; i++)
	{
		if (strcmp(doc->tags[i].key, key) == 0)
			return &doc->tags[i];
	}
	return NULL;
}

const char *
oq_task_tag(const OqTaskDoc *doc, const char *key)
{
	for (int i = 0; i < doc->ntags; i++)
	{
		if (strcmp(doc->tags[i].key, key) == 0)
			return doc->tags[i].value;
	}
	return NULL;
}
