/*
 * fuzz_taskjson.c - decoding and rewriting stored task objects.
 *
 * The input is a task object body (any bytes, not NUL-terminated).
 * Properties:
 *
 *  - oq_task_decode() either refuses with a message that is valid UTF-8
 *    (it reaches ereport), or returns a document whose members all lie in
 *    the body with a value text that starts as its type says, whose names
 *    and string values are valid UTF-8, whose known fields are found by
 *    name, whose tags have distinct keys, and whose timestamps are in
 *    range.
 *  - oq_task_rewrite_tags() with a fixed tags object and updated_at gives
 *    a body that decodes again, with every other member's name, type and
 *    exact value text unchanged and in the same order, the missing
 *    members added at the end, and the new tags and updated_at read back.
 *    Rewriting that body with the original tags text and updated_at gives
 *    the original body back, byte for byte (when its updated_at had no
 *    escapes, which a rewrite does not keep).
 *  - oq_tags_to_json() of the decoded tags (values that are not strings
 *    included, as their JSON text) succeeds and, spliced in by a rewrite,
 *    decodes to the same tags in the same order.
 */
#include "fuzz.h"

#include "rfc3339.h"
#include "taskjson.h"

#define NEW_UPDATED_AT "2030-01-02T03:04:05.000006Z"

static const OqTag new_tags[] = {
	{"customer", "acme"},
	{"caf\xc3\xa9", "a \"quoted\"\n\\ value / \xe2\x82\xac"},
};

static bool
is_rewritten(const OqJsonMember *m)
{
	return strcmp(m->name, "tags") == 0 || strcmp(m->name, "updated_at") == 0;
}

static void
check_doc(const OqTaskDoc *doc, const char *body, size_t len)
{
	for (int i = 0; i < doc->nmembers; i++)
	{
		const OqJsonMember *m = &doc->members[i];
		char		c = m->raw[0];

		FUZZ_CHECK(m->raw >= body && m->raw_len > 0 &&
				   m->raw + m->raw_len <= body + len, "member %d outside the body", i);
		FUZZ_CHECK(fuzz_cstr_utf8_ok(m->name), "member %d name not valid UTF-8", i);
		switch (m->type)
		{
			case OQ_JSON_STRING:
				FUZZ_CHECK(c == '"' && m->raw[m->raw_len - 1] == '"', "string %d", i);
				FUZZ_CHECK(m->str == NULL || fuzz_cstr_utf8_ok(m->str),
						   "string %d not valid UTF-8", i);
				break;
			case OQ_JSON_NUMBER:
				FUZZ_CHECK(c == '-' || (c >= '0' && c <= '9'), "number %d", i);
				FUZZ_CHECK(strlen(m->str) == (size_t) m->raw_len, "number %d text", i);
				break;
			case OQ_JSON_BOOL:
				FUZZ_CHECK(c == 't' || c == 'f', "bool %d", i);
				break;
			case OQ_JSON_NULL:
				FUZZ_CHECK(m->raw_len == 4 && memcmp(m->raw, "null", 4) == 0, "null %d", i);
				break;
			case OQ_JSON_OBJECT:
				FUZZ_CHECK(c == '{' && m->raw[m->raw_len - 1] == '}', "object %d", i);
				break;
			case OQ_JSON_ARRAY:
				FUZZ_CHECK(c == '[' && m->raw[m->raw_len - 1] == ']', "array %d", i);
				break;
		}
		if (i > 0)
			FUZZ_CHECK(m->raw > doc->members[i - 1].raw, "members out of order");
	}
	for (int f = 0; f < OQ_NUM_FIELDS; f++)
	{
		const OqJsonMember *m = doc->field[f];

		if (m == NULL)
		{
			FUZZ_CHECK(!oq_task_fields[f].required, "required field %s absent",
					   oq_task_fields[f].name);
			continue;
		}
		FUZZ_CHECK(strcmp(m->name, oq_task_fields[f].name) == 0 &&
				   oq_task_member(doc, m->name) == m, "field %s misfiled",
				   oq_task_fields[f].name);
		if (oq_task_fields[f].kind == OQ_KIND_TIMESTAMP && m->type == OQ_JSON_STRING)
			FUZZ_CHECK(doc->timestamp[f] >= OQ_RFC3339_MIN_US &&
					   doc->timestamp[f] <= OQ_RFC3339_MAX_US, "timestamp range");
		if (oq_task_fields[f].kind == OQ_KIND_INTEGER && m->type == OQ_JSON_NUMBER)
			FUZZ_CHECK(doc->integer[f] >= 0 ||
					   (f == OQ_F_TIMEOUT_SECONDS && doc->integer[f] == -1),
					   "negative integer field");
	}
	for (int i = 0; i < doc->ntags; i++)
	{
		const OqTag *t = &doc->tags[i];

		/* a value that is not a string: its JSON text instead */
		FUZZ_CHECK(fuzz_cstr_utf8_ok(t->key) &&
				   (t->value != NULL ? t->json == NULL && fuzz_cstr_utf8_ok(t->value) :
					t->json != NULL && fuzz_cstr_utf8_ok(t->json) &&
					strchr("-0123456789tfn{[", t->json[0]) != NULL),
				   "tag %d not valid UTF-8, or neither string nor JSON", i);
		FUZZ_CHECK(oq_task_tag_find(doc, t->key) == t, "oq_task_tag_find(\"%s\")", t->key);
		for (int j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(doc->tags[i].key, doc->tags[j].key) != 0,
					   "tag key \"%s\" twice", doc->tags[i].key);
		FUZZ_CHECK(oq_task_tag(doc, doc->tags[i].key) == doc->tags[i].value,
				   "oq_task_tag(\"%s\")", doc->tags[i].key);
	}
}

/* doc2 is doc1 with tags and updated_at rewritten (and added if absent) */
static void
check_rewritten(const OqTaskDoc *doc1, const OqTaskDoc *doc2,
				const OqTag *tags, int ntags, const char *updated_at)
{
	int			j = 0;
	int64		ts;

	for (int i = 0; i < doc1->nmembers; i++, j++)
	{
		const OqJsonMember *a = &doc1->members[i];
		const OqJsonMember *b = &doc2->members[j];

		FUZZ_CHECK(j < doc2->nmembers, "rewrite lost members");
		FUZZ_CHECK(strcmp(a->name, b->name) == 0, "member %d renamed: \"%s\" -> \"%s\"",
				   i, a->name, b->name);
		if (is_rewritten(a))
			continue;
		FUZZ_CHECK(a->type == b->type && a->raw_len == b->raw_len &&
				   memcmp(a->raw, b->raw, a->raw_len) == 0,
				   "member \"%s\" changed by the rewrite: %.*s -> %.*s", a->name,
				   a->raw_len, a->raw, b->raw_len, b->raw);
	}
	if (doc1->field[OQ_F_TAGS] == NULL)
		FUZZ_CHECK(j < doc2->nmembers && strcmp(doc2->members[j++].name, "tags") == 0,
				   "tags not added at the end");
	if (doc1->field[OQ_F_UPDATED_AT] == NULL)
		FUZZ_CHECK(j < doc2->nmembers && strcmp(doc2->members[j++].name, "updated_at") == 0,
				   "updated_at not added at the end");
	FUZZ_CHECK(j == doc2->nmembers, "rewrite added members");

	FUZZ_CHECK(doc2->ntags == ntags, "%d tags written, %d read", ntags, doc2->ntags);
	for (int i = 0; i < ntags; i++)
		FUZZ_CHECK(strcmp(doc2->tags[i].key, tags[i].key) == 0 &&
				   oq_tag_same_value(&doc2->tags[i], &tags[i]),
				   "tag %d: wrote %s=%s, read %s=%s", i, tags[i].key,
				   tags[i].value ? tags[i].value : tags[i].json, doc2->tags[i].key,
				   doc2->tags[i].value ? doc2->tags[i].value : doc2->tags[i].json);
	FUZZ_CHECK(oq_rfc3339_parse(updated_at, strlen(updated_at), &ts) &&
			   doc2->timestamp[OQ_F_UPDATED_AT] == ts, "updated_at not rewritten");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *) data;
	OqTaskDoc	doc;
	OqTaskDoc	doc2;
	OqTaskDoc	doc3;
	char	   *errmsg = NULL;
	char	   *tags_json;
	char	   *body2;
	char	   *body3;
	size_t		len2;
	size_t		len3;
	const OqJsonMember *upd;

	if (!oq_task_decode(body, size, &doc, &errmsg))
	{
		FUZZ_CHECK(errmsg != NULL && fuzz_cstr_utf8_ok(errmsg),
				   "refused without a valid message");
		FUZZ_CHECK(!oq_task_decode(body, size, &doc, NULL), "decode not deterministic");
		fuzz_arena_reset();
		return 0;
	}
	check_doc(&doc, body, size);

	/* a rewrite with fixed tags and updated_at */
	tags_json = oq_tags_to_json(new_tags, lengthof(new_tags));
	FUZZ_CHECK(tags_json != NULL, "oq_tags_to_json of fixed tags failed");
	body2 = oq_task_rewrite_tags(&doc, tags_json, NEW_UPDATED_AT, &len2);
	errmsg = NULL;
	FUZZ_CHECK(oq_task_decode(body2, len2, &doc2, &errmsg),
			   "rewritten task does not decode: %s\n%.*s", errmsg, (int) len2, body2);
	check_doc(&doc2, body2, len2);
	check_rewritten(&doc, &doc2, new_tags, lengthof(new_tags), NEW_UPDATED_AT);

	/* and back: the original tags text and updated_at restore the body */
	upd = doc.field[OQ_F_UPDATED_AT];
	if (doc.field[OQ_F_TAGS] != NULL && upd != NULL &&
		upd->raw_len == (int) strlen(upd->str) + 2 &&
		memcmp(upd->raw + 1, upd->str, upd->raw_len - 2) == 0)
	{
		char	   *tags_raw = pnstrdup(doc.field[OQ_F_TAGS]->raw,
										doc.field[OQ_F_TAGS]->raw_len);

		body3 = oq_task_rewrite_tags(&doc2, tags_raw, upd->str, &len3);
		FUZZ_CHECK(len3 == size && memcmp(body3, body, size) == 0,
				   "rewriting back did not restore the body:\n%.*s\n---\n%.*s",
				   (int) size, body, (int) len3, body3);
	}

	/* the decoded tags through jansson and back */
	tags_json = oq_tags_to_json(doc.tags, doc.ntags);
	FUZZ_CHECK(tags_json != NULL, "oq_tags_to_json of decoded tags failed");
	body3 = oq_task_rewrite_tags(&doc, tags_json, NEW_UPDATED_AT, &len3);
	errmsg = NULL;
	FUZZ_CHECK(oq_task_decode(body3, len3, &doc3, &errmsg),
			   "task with re-encoded tags does not decode: %s", errmsg);
	check_rewritten(&doc, &doc3, doc.tags, doc.ntags, NEW_UPDATED_AT);

	fuzz_arena_reset();
	return 0;
}
