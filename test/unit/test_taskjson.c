/*
 * test_taskjson.c - task objects: decode, rewrite, build (src/taskjson.c,
 * src/taskbuild.c, src/jsontext.c, src/taskfields.c).
 *
 * The fixtures of test/fixtures/tasks are decoded with exact expected
 * values; the rest of the cases are written inline.
 */
#include "postgres_fe.h"

#include "common/jsonapi.h"
#include "compat.h"
#include "mb/pg_wchar.h"
#include "rfc3339.h"
#include "taskjson.h"
#include "unit.h"

#define ID "3f2b8c1e-9d4a-4e6b-8f00-1c2d3e4f5a6b"
#define T0 "2026-01-28T09:15:02Z"

/* A valid task with only the required fields, then 'extra' members */
#define BASE_MEMBERS \
	"\"id\":\"" ID "\",\"shard\":\"3\",\"task_type\":\"t\",\"input\":{}," \
	"\"created_at\":\"" T0 "\",\"available_at\":\"" T0 "\",\"updated_at\":\"" T0 "\""

/* relative to test/unit, where "make check" runs the tests */
#define FIXTURE_DIR "../fixtures/tasks"

static char *
task_with(const char *extra)
{
	return psprintf("{" BASE_MEMBERS "%s}", extra);
}

/* Read a fixture; NULL (and a failed check) when it cannot be read */
static char *
fixture(const char *name, size_t *len)
{
	char	   *path;
	FILE	   *f;
	StringInfoData buf;
	char		chunk[4096];
	size_t		n;

	path = psprintf("%s/%s.json", FIXTURE_DIR, name);
	f = fopen(path, "rb");
	if (f == NULL)
	{
		CANNOT_RUN("fixture %s: %s", path, strerror(errno));
		return NULL;
	}
	initStringInfo(&buf);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		appendBinaryStringInfo(&buf, chunk, n);
	fclose(f);
	*len = buf.len;
	return buf.data;
}

static bool
decode_str(const char *body, OqTaskDoc *doc, char **err)
{
	*err = NULL;
	return oq_task_decode(body, strlen(body), doc, err);
}

static void
check_decodes(const char *body, OqTaskDoc *doc, const char *what)
{
	char	   *err;
	bool		ok = decode_str(body, doc, &err);

	CHECK(ok, "decodes: %s%s%s", what, err ? " -- " : "", err ? err : "");
}

static void
check_fails(const char *body, const char *want, const char *what)
{
	OqTaskDoc	doc;
	char	   *err;
	bool		ok = decode_str(body, &doc, &err);

	CHECK(!ok, "refused: %s", what);
	CHECK_STR(err, want, "message: %s", what);
}

static char *
raw_of(const OqJsonMember *m)
{
	return m ? pnstrdup(m->raw, m->raw_len) : NULL;
}

static char *
field_raw(const OqTaskDoc *doc, OqField f)
{
	return raw_of(doc->field[f]);
}

static const char *
field_str(const OqTaskDoc *doc, OqField f)
{
	return doc->field[f] ? doc->field[f]->str : NULL;
}

static int64
ts(const char *s)
{
	int64		us = 0;

	if (!oq_rfc3339_parse(s, strlen(s), &us))
		printf("# bad timestamp in test: %s\n", s);
	return us;
}

/*
 * Every member's recorded span must be exact: for a compact body whose
 * names need no escapes, the members put back together are the body.
 */
static bool
spans_rebuild_body(const OqTaskDoc *doc)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int i = 0; i < doc->nmembers; i++)
		appendStringInfo(&buf, "%s\"%s\":%.*s", i ? "," : "",
						 doc->members[i].name, doc->members[i].raw_len,
						 doc->members[i].raw);
	appendStringInfoChar(&buf, '}');
	return buf.len == (int) doc->len && memcmp(buf.data, doc->body, doc->len) == 0;
}

/* Decode a fixture; false when it cannot be read or decoded */
static bool
decode_fixture(const char *name, OqTaskDoc *doc, char **err)
{
	size_t		len;
	char	   *body = fixture(name, &len);

	*err = NULL;
	if (body == NULL)
		return false;
	return oq_task_decode(body, len, doc, err);
}

static void
test_field_table(void)
{
	StringInfoData cols;
	int			nreq = 0;

	/* the foreign table's column list (IMPORT FOREIGN SCHEMA), less etag */
	initStringInfo(&cols);
	for (int f = 0; f < OQ_NUM_FIELDS; f++)
		appendStringInfo(&cols, "%s%s %s", f ? ", " : "", oq_task_fields[f].name,
						 oq_task_fields[f].sql_type);
	CHECK_STR(cols.data,
			  "id uuid, shard text, task_type text, status text, input jsonb, output jsonb, "
			  "input_ref text, output_ref text, tags jsonb, timeout_seconds bigint, "
			  "max_retries integer, retry_count integer, retry_policy jsonb, attempt integer, "
			  "created_at timestamptz, available_at timestamptz, updated_at timestamptz, "
			  "completed_at timestamptz, lease_expires_at timestamptz, lease_id uuid, "
			  "worker_id text, last_error text, reschedule_count integer, "
			  "max_reschedules integer, cancel_requested boolean, cancelled_at timestamptz, "
			  "cancelled_by text, expires_at timestamptz, expired_at timestamptz",
			  "field table matches the foreign table's columns");

	for (int f = 0; f < OQ_NUM_FIELDS; f++)
	{
		if (oq_task_field_lookup(oq_task_fields[f].name) != f)
			CHECK(false, "lookup of %s", oq_task_fields[f].name);
		if (oq_task_fields[f].required)
			nreq++;
		/* a required field has no default; defaults are valid JSON */
		if (oq_task_fields[f].default_json)
		{
			JsonLexContext *lex = oq_json_lex_create(oq_task_fields[f].default_json,
													 strlen(oq_task_fields[f].default_json),
													 false);

			CHECK(!oq_task_fields[f].required &&
				  pg_parse_json(lex, &nullSemAction) == JSON_SUCCESS,
				  "default of %s is valid JSON", oq_task_fields[f].name);
		}
	}
	CHECK(nreq == 7 && oq_task_fields[OQ_F_ID].required && oq_task_fields[OQ_F_SHARD].required &&
		  oq_task_fields[OQ_F_TASK_TYPE].required && oq_task_fields[OQ_F_INPUT].required &&
		  oq_task_fields[OQ_F_CREATED_AT].required && oq_task_fields[OQ_F_AVAILABLE_AT].required &&
		  oq_task_fields[OQ_F_UPDATED_AT].required, "the seven required fields");
	CHECK(oq_task_field_lookup("priority") == -1 && oq_task_field_lookup("") == -1 &&
		  oq_task_field_lookup("ID") == -1, "unknown names are -1");
	CHECK_STR(oq_task_fields[OQ_F_STATUS].default_json, "\"pending\"", "status default");
	CHECK_STR(oq_task_fields[OQ_F_TAGS].default_json, "{}", "tags default");
	CHECK_STR(oq_task_fields[OQ_F_TIMEOUT_SECONDS].default_json, "300", "timeout default");
	CHECK_STR(oq_task_fields[OQ_F_MAX_RETRIES].default_json, "3", "max_retries default");
	CHECK_STR(oq_task_fields[OQ_F_RETRY_POLICY].default_json,
			  "{\"initial_interval_ms\":1000,\"max_interval_ms\":60000,\"multiplier\":2.0,\"jitter_percent\":0.25}",
			  "retry_policy default");
	CHECK_STR(oq_task_fields[OQ_F_CANCEL_REQUESTED].default_json, "false", "cancel_requested default");
	CHECK(oq_task_fields[OQ_F_OUTPUT].default_json == NULL &&
		  oq_task_fields[OQ_F_MAX_RESCHEDULES].default_json == NULL, "others default to NULL");
	CHECK(oq_task_fields[OQ_F_INPUT].nullable && oq_task_fields[OQ_F_LEASE_ID].nullable &&
		  oq_task_fields[OQ_F_EXPIRED_AT].nullable && !oq_task_fields[OQ_F_STATUS].nullable &&
		  !oq_task_fields[OQ_F_TAGS].nullable && !oq_task_fields[OQ_F_ID].nullable,
		  "nullable per the format");
}

static void
test_fixtures(void)
{
	OqTaskDoc	doc;
	char	   *err;
	size_t		len;
	char	   *body;

	if (decode_fixture("pending-with-tags", &doc, &err))
	{
		CHECK(true, "pending-with-tags decodes");
		CHECK_STR(field_str(&doc, OQ_F_ID), "5e21c9d4-8b3a-4f67-a0d2-71c4e9b83f15", "id");
		CHECK_STR(field_str(&doc, OQ_F_SHARD), "5", "shard");
		CHECK_STR(field_str(&doc, OQ_F_TASK_TYPE), "resize_image", "task_type");
		CHECK_STR(field_str(&doc, OQ_F_STATUS), "pending", "status");
		CHECK_STR(field_raw(&doc, OQ_F_INPUT), "{\"image_id\":\"img-80412\",\"width\":640}", "input raw");
		CHECK(doc.field[OQ_F_OUTPUT]->type == OQ_JSON_NULL, "output is null");
		CHECK(doc.field[OQ_F_LEASE_ID]->type == OQ_JSON_NULL, "lease_id is null");
		CHECK(doc.integer[OQ_F_TIMEOUT_SECONDS] == 300 && doc.integer[OQ_F_MAX_RETRIES] == 3 &&
			  doc.integer[OQ_F_ATTEMPT] == 0, "integers");
		CHECK(doc.timestamp[OQ_F_CREATED_AT] == INT64CONST(1773506527654321), "created_at");
		CHECK(!doc.boolean[OQ_F_CANCEL_REQUESTED], "cancel_requested false");
		CHECK(doc.ntags == 4, "four tags");
		CHECK(doc.ntags == 4 && strcmp(doc.tags[0].key, "customer") == 0 &&
			  strcmp(doc.tags[1].key, "region") == 0 && strcmp(doc.tags[2].key, "priority") == 0 &&
			  strcmp(doc.tags[3].key, "batch_id") == 0, "tags in body order");
		CHECK_STR(oq_task_tag(&doc, "customer"), "northwind", "tag customer");
		CHECK_STR(oq_task_tag(&doc, "batch_id"), "batch-2026-03-14", "tag batch_id");
		CHECK(oq_task_tag(&doc, "nope") == NULL, "absent tag");
		CHECK(doc.nmembers == 22, "22 members");
		CHECK(spans_rebuild_body(&doc), "member spans rebuild the body exactly");
		CHECK(doc.field[OQ_F_MAX_RESCHEDULES] == NULL && doc.field[OQ_F_INPUT_REF] == NULL,
			  "absent optional fields are NULL");
	}
	else
		CHECK(false, "pending-with-tags decodes: %s", err ? err : "(not read)");

	if (decode_fixture("legacy-no-tags", &doc, &err))
	{
		CHECK(doc.field[OQ_F_TAGS] == NULL && doc.ntags == 0 && doc.tags == NULL,
			  "legacy-no-tags: no tags field, ntags 0");
		CHECK_STR(field_str(&doc, OQ_F_TASK_TYPE), "send_invoice", "legacy task_type");
		CHECK(doc.timestamp[OQ_F_CREATED_AT] == INT64CONST(1762155910000000), "0 fraction digits");
		CHECK(doc.timestamp[OQ_F_AVAILABLE_AT] == INT64CONST(1762155910250000), "3 fraction digits");
		CHECK(doc.timestamp[OQ_F_UPDATED_AT] == INT64CONST(1762155910246814), "9 fraction digits, rounded up");
		CHECK(doc.nmembers == 21, "legacy: 21 members");
		CHECK(spans_rebuild_body(&doc), "legacy spans exact");
	}
	else
		CHECK(false, "legacy-no-tags decodes: %s", err ? err : "(not read)");

	if (decode_fixture("minimal", &doc, &err))
	{
		CHECK(doc.nmembers == 7, "minimal: the 7 required members only");
		CHECK(doc.field[OQ_F_STATUS] == NULL && doc.field[OQ_F_TAGS] == NULL &&
			  doc.field[OQ_F_OUTPUT] == NULL && doc.field[OQ_F_RETRY_POLICY] == NULL &&
			  doc.field[OQ_F_TIMEOUT_SECONDS] == NULL && doc.field[OQ_F_CANCEL_REQUESTED] == NULL,
			  "minimal: optional fields absent (their defaults apply)");
		CHECK(doc.ntags == 0 && !doc.boolean[OQ_F_CANCEL_REQUESTED], "minimal: no tags, not cancelled");
		CHECK(doc.timestamp[OQ_F_UPDATED_AT] == INT64CONST(1773506527000001), "minimal updated_at");
		CHECK_STR(field_raw(&doc, OQ_F_INPUT), "{}", "minimal input");
	}
	else
		CHECK(false, "minimal decodes: %s", err ? err : "(not read)");

	if (decode_fixture("completed-with-output", &doc, &err))
	{
		CHECK_STR(field_str(&doc, OQ_F_STATUS), "completed", "completed status");
		CHECK(doc.field[OQ_F_OUTPUT]->type == OQ_JSON_OBJECT, "output is an object");
		CHECK_STR(field_raw(&doc, OQ_F_OUTPUT),
				  "{\"thumbnail\":\"thumbs/img-1187.webp\",\"bytes\":48213,\"ok\":true}", "output raw");
		CHECK(doc.timestamp[OQ_F_COMPLETED_AT] == ts("2026-03-14T16:41:02.999999Z") &&
			  doc.timestamp[OQ_F_UPDATED_AT] == INT64CONST(1773506462999999), "completed_at");
		CHECK_STR(field_str(&doc, OQ_F_WORKER_ID), "worker-b41c", "worker_id");
		CHECK(doc.integer[OQ_F_ATTEMPT] == 1, "attempt 1");
		CHECK_STR(oq_task_tag(&doc, "customer"), "contoso", "completed tag");
	}
	else
		CHECK(false, "completed-with-output decodes: %s", err ? err : "(not read)");

	if (decode_fixture("running-leased", &doc, &err))
	{
		CHECK_STR(field_str(&doc, OQ_F_STATUS), "running", "running status");
		CHECK(doc.timestamp[OQ_F_LEASE_EXPIRES_AT] == ts("2026-03-14T17:05:30Z"), "lease_expires_at");
		CHECK_STR(field_str(&doc, OQ_F_LEASE_ID), "c0ffee00-1234-4abc-9def-0123456789ab", "lease_id");
		CHECK(doc.integer[OQ_F_ATTEMPT] == 2 && doc.integer[OQ_F_RETRY_COUNT] == 1, "attempt, retry_count");
		CHECK(doc.timestamp[OQ_F_UPDATED_AT] == ts("2026-03-14T16:55:30.500Z"), "1 fraction digit");
		CHECK_STR(field_str(&doc, OQ_F_LAST_ERROR), "Retryable error: encoder busy", "last_error");
		CHECK(doc.ntags == 2 && strcmp(oq_task_tag(&doc, "env"), "staging") == 0, "running tags");
	}
	else
		CHECK(false, "running-leased decodes: %s", err ? err : "(not read)");

	if (decode_fixture("failed", &doc, &err))
	{
		CHECK(doc.field[OQ_F_TAGS] != NULL && doc.ntags == 0, "failed: empty tags object");
		CHECK_STR(field_raw(&doc, OQ_F_TAGS), "{}", "empty tags raw");
		CHECK(doc.integer[OQ_F_MAX_RETRIES] == 1 && doc.integer[OQ_F_RETRY_COUNT] == 1, "failed counters");
		CHECK(doc.timestamp[OQ_F_COMPLETED_AT] == ts("2026-03-14T18:00:00Z"), "failed completed_at");
		CHECK_STR(field_str(&doc, OQ_F_LAST_ERROR), "Permanent error: account closed", "failed last_error");
	}
	else
		CHECK(false, "failed decodes: %s", err ? err : "(not read)");

	if (decode_fixture("cancelled", &doc, &err))
	{
		CHECK(doc.boolean[OQ_F_CANCEL_REQUESTED], "cancel_requested true");
		CHECK_STR(field_str(&doc, OQ_F_CANCEL_REQUESTED), "true", "bool str");
		CHECK(doc.timestamp[OQ_F_CANCELLED_AT] == ts("2026-03-14T16:50:00Z"), "cancelled_at");
		CHECK_STR(field_str(&doc, OQ_F_CANCELLED_BY), "user:bob", "cancelled_by");
		CHECK_STR(field_str(&doc, OQ_F_STATUS), "cancelled", "cancelled status");
	}
	else
		CHECK(false, "cancelled decodes: %s", err ? err : "(not read)");

	if (decode_fixture("expired", &doc, &err))
	{
		CHECK_STR(field_str(&doc, OQ_F_STATUS), "expired", "expired status");
		CHECK(doc.timestamp[OQ_F_EXPIRES_AT] == ts("2026-03-01T00:00:00Z"), "expires_at");
		CHECK(doc.timestamp[OQ_F_EXPIRED_AT] == ts("2026-03-01T00:00:05.500000Z"), "expired_at");
		CHECK(doc.ntags == 2 && strcmp(oq_task_tag(&doc, "region"), "us-east") == 0, "expired tags");
	}
	else
		CHECK(false, "expired decodes: %s", err ? err : "(not read)");

	if (decode_fixture("archived-pretty", &doc, &err))
	{
		CHECK_STR(field_str(&doc, OQ_F_STATUS), "archived", "archived status");
		CHECK(doc.nmembers == 19 && strcmp(doc.members[0].name, "tags") == 0, "archived: 19 members, tags first");
		CHECK(doc.field[OQ_F_OUTPUT]->type == OQ_JSON_ARRAY, "an array output");
		CHECK_STR(field_raw(&doc, OQ_F_RETRY_POLICY),
				  "{\n    \"initial_interval_ms\": 500,\n    \"max_interval_ms\": 30000,\n"
				  "    \"multiplier\": 1.5,\n    \"jitter_percent\": 0.1\n  }",
				  "pretty retry_policy span, whitespace inside kept");
		CHECK(doc.field[OQ_F_LEASE_ID] == NULL && doc.field[OQ_F_LAST_ERROR] == NULL,
			  "absent optional members");
		CHECK(doc.ntags == 2 && strcmp(oq_task_tag(&doc, "customer"), "contoso") == 0, "archived tags");
		CHECK(doc.timestamp[OQ_F_CREATED_AT] == ts("2026-01-02T03:04:05.678Z"), "archived created_at");
	}
	else
		CHECK(false, "archived-pretty decodes: %s", err ? err : "(not read)");

	if (decode_fixture("payload-ref", &doc, &err))
	{
		CHECK(doc.field[OQ_F_INPUT] && doc.field[OQ_F_INPUT]->type == OQ_JSON_NULL, "input null");
		CHECK_STR(field_str(&doc, OQ_F_INPUT_REF),
				  "payloads/9b07e3f6-58c2-4a1d-a6e9-4f2d0b7c1e85/input.json", "input_ref");
		CHECK(doc.integer[OQ_F_MAX_RESCHEDULES] == 4 && doc.integer[OQ_F_RESCHEDULE_COUNT] == 2,
			  "max_reschedules, reschedule_count");
		CHECK(doc.timestamp[OQ_F_EXPIRES_AT] == ts("2026-04-01T00:00:00Z"), "expires_at");
		CHECK_STR(oq_task_tag(&doc, "batch_id"), "batch-2026-03-14", "payload-ref tag");
	}
	else
		CHECK(false, "payload-ref decodes: %s", err ? err : "(not read)");

	if (decode_fixture("future-fields", &doc, &err))
	{
		const OqJsonMember *m;

		CHECK(doc.nmembers == 28, "future-fields: 28 members");
		m = oq_task_member(&doc, "priority");
		CHECK(m && m->type == OQ_JSON_NUMBER && strcmp(raw_of(m), "9") == 0 &&
			  strcmp(m->str, "9") == 0, "unknown member priority kept");
		m = oq_task_member(&doc, "namespace");
		CHECK(m && m->type == OQ_JSON_OBJECT && m->str == NULL &&
			  strcmp(raw_of(m), "{\"name\":\"media\",\"owner\":\"team-video\"}") == 0,
			  "unknown member namespace kept");
		m = oq_task_member(&doc, "progress");
		CHECK(m && m->type == OQ_JSON_NULL && strcmp(raw_of(m), "null") == 0, "unknown null member kept");
		m = oq_task_member(&doc, "labels");
		CHECK(m && m->type == OQ_JSON_ARRAY && strcmp(raw_of(m), "[\"beta\",\"eu\"]") == 0,
			  "unknown array member kept");
		m = oq_task_member(&doc, "note");
		CHECK(m && m->type == OQ_JSON_STRING && strcmp(m->str, "added by a newer writer") == 0,
			  "unknown string member kept");
		m = oq_task_member(&doc, "tags");
		CHECK(m && m == doc.field[OQ_F_TAGS], "member lookup finds known fields too");
		CHECK(oq_task_member(&doc, "absent") == NULL, "absent member");
		CHECK(spans_rebuild_body(&doc), "future-fields spans exact");
	}
	else
		CHECK(false, "future-fields decodes: %s", err ? err : "(not read)");

	if (decode_fixture("exotic-values", &doc, &err))
	{
		CHECK_STR(oq_task_tag(&doc, "customer"),
				  "Z\xC3\xBCrich Stra\xC3\x9F" "e / \xE5\x8C\x97\xE4\xBA\xAC 100% & <b> a+b",
				  "non-ASCII tag value");
		CHECK_STR(oq_task_tag(&doc, "note"),
				  "tab\there, \"quoted\", back\\slash, caf\xC3\xA9 \xF0\x9F\x9A\x80",
				  "escapes in a tag value are decoded, a surrogate pair to one character");
	}
	else
		CHECK(false, "exotic-values decodes: %s", err ? err : "(not read)");

	if (decode_fixture("precise-numbers", &doc, &err))
	{
		CHECK(doc.integer[OQ_F_TIMEOUT_SECONDS] == 900, "precise-numbers timeout");
		CHECK_STR(field_raw(&doc, OQ_F_INPUT),
				  "{\"big\":98765432109876543210987654321,\"neg\":-12345678901234567890,"
				  "\"dec\":0.30000000000000000444089209850062616,\"exp\":6.02e23,\"tiny\":1E-7,"
				  "\"esc\":\"na\\u00efve \\ud83c\\udf89 \\u001f\",\"nested\":[0,1.10,{\"z\":[]}]}",
				  "input kept as written");
	}
	else
		CHECK(false, "precise-numbers decodes: %s", err ? err : "(not read)");

	/* the two broken fixtures fail, naming the problem */
	if ((body = fixture("malformed", &len)) != NULL)
	{
		err = NULL;
		CHECK(!oq_task_decode(body, len, &doc, &err), "malformed is refused");
		CHECK_STR(err, "task object is not valid JSON: the input ends unexpectedly", "malformed message");
	}
	if ((body = fixture("wrong-types", &len)) != NULL)
	{
		char	   *fixed;

		err = NULL;
		CHECK(!oq_task_decode(body, len, &doc, &err), "wrong-types is refused");
		CHECK_STR(err, "task field \"attempt\" must be a number, not a string", "wrong-types message");

		/* with attempt fixed, the next problem: the tag that is a number */
		fixed = pstrdup(body);
		CHECK(strstr(fixed, "\"two\"") != NULL, "wrong-types has attempt \"two\"");
		if (strstr(fixed, "\"two\"") != NULL)
			memcpy(strstr(fixed, "\"two\""), "2    ", 5);
		err = NULL;
		CHECK(oq_task_decode(fixed, strlen(fixed), &doc, &err),
			  "wrong-types with attempt fixed is read (a number tag is another producer's)");
		CHECK(oq_task_tag_find(&doc, "customer") != NULL &&
			  oq_task_tag_find(&doc, "customer")->value == NULL,
			  "the number tag has no string value");
	}
}

/* Members other than tags and updated_at are unchanged, raw, in order */
static bool
others_identical(const OqTaskDoc *a, const OqTaskDoc *b)
{
	int			j = 0;

	for (int i = 0; i < a->nmembers; i++)
	{
		const OqJsonMember *m = &a->members[i];

		if (strcmp(m->name, "tags") == 0 || strcmp(m->name, "updated_at") == 0)
			continue;
		while (j < b->nmembers && (strcmp(b->members[j].name, "tags") == 0 ||
								   strcmp(b->members[j].name, "updated_at") == 0))
			j++;
		if (j >= b->nmembers || strcmp(m->name, b->members[j].name) != 0 ||
			m->type != b->members[j].type || m->raw_len != b->members[j].raw_len ||
			memcmp(m->raw, b->members[j].raw, m->raw_len) != 0)
		{
			printf("# member %s differs\n", m->name);
			return false;
		}
		j++;
	}
	while (j < b->nmembers && (strcmp(b->members[j].name, "tags") == 0 ||
							   strcmp(b->members[j].name, "updated_at") == 0))
		j++;
	return j == b->nmembers;
}

static void
test_rewrite(void)
{
	OqTaskDoc	doc;
	OqTaskDoc	doc2;
	char	   *err;
	size_t		len;
	char	   *out;
	OqTag		newtags[] = {{"customer", "acme-corp"}, {"priority", "high \"urgent\""}};
	char	   *tags_json = oq_tags_to_json(newtags, 2);
	const char *upd = "2026-02-01T10:11:12.345678Z";

	CHECK_STR(tags_json, "{\"customer\":\"acme-corp\",\"priority\":\"high \\\"urgent\\\"\"}", "tags_json");

	if (decode_fixture("precise-numbers", &doc, &err))
	{
		const char *keep[] = {
			"98765432109876543210987654321", "-12345678901234567890",
			"0.30000000000000000444089209850062616", "6.02e23", "1E-7",
			"\"esc\":\"na\\u00efve \\ud83c\\udf89 \\u001f\"", "[0,1.10,{\"z\":[]}]",
		};

		out = oq_task_rewrite_tags(&doc, tags_json, upd, &len);
		CHECK(len == strlen(out), "rewrite: length reported");
		for (int i = 0; i < (int) lengthof(keep); i++)
			CHECK(strstr(out, keep[i]) != NULL, "rewrite keeps %s byte for byte", keep[i]);
		CHECK(decode_str(out, &doc2, &err), "rewritten precise-numbers decodes%s%s",
			  err ? ": " : "", err ? err : "");
		CHECK(doc2.ntags == 2 && strcmp(oq_task_tag(&doc2, "priority"), "high \"urgent\"") == 0,
			  "new tags read back");
		CHECK(doc2.timestamp[OQ_F_UPDATED_AT] == ts(upd), "new updated_at read back");
		CHECK(doc2.nmembers == doc.nmembers, "same number of members");
		CHECK(others_identical(&doc, &doc2), "every other member identical, raw");
		/* the whole output is the body with two spans swapped */
		CHECK_STR(out,
				  psprintf("%.*s\"%s\"%.*s%s}",
						   (int) (doc.field[OQ_F_UPDATED_AT]->raw - doc.body), doc.body, upd,
						   (int) (doc.field[OQ_F_TAGS]->raw - (doc.field[OQ_F_UPDATED_AT]->raw +
															   doc.field[OQ_F_UPDATED_AT]->raw_len)),
						   doc.field[OQ_F_UPDATED_AT]->raw + doc.field[OQ_F_UPDATED_AT]->raw_len,
						   tags_json),
				  "only the two spans changed");
	}

	/* tags absent: added at the end */
	if (decode_fixture("legacy-no-tags", &doc, &err))
	{
		out = oq_task_rewrite_tags(&doc, tags_json, upd, &len);
		CHECK(decode_str(out, &doc2, &err), "rewritten legacy task decodes");
		CHECK(doc2.nmembers == doc.nmembers + 1 && doc2.ntags == 2 &&
			  doc2.members[doc2.nmembers - 1].type == OQ_JSON_OBJECT &&
			  strcmp(doc2.members[doc2.nmembers - 1].name, "tags") == 0, "tags added last");
		CHECK(others_identical(&doc, &doc2), "legacy: every other member identical");
		CHECK(memcmp(out, doc.body, doc.field[OQ_F_UPDATED_AT]->raw - doc.body) == 0,
			  "legacy: the body up to updated_at is unchanged");
		CHECK(len == doc.len - 1 + strlen(",\"tags\":") + strlen(tags_json) + 1 +
			  (strlen(upd) + 2) - doc.field[OQ_F_UPDATED_AT]->raw_len, "legacy length");
	}

	/* pretty-printed, with unknown members, and neither member present */
	{
		const char *body =
			"{\n  \"id\" : \"" ID "\",\n  \"shard\":\"3\",\n  \"task_type\": \"t\",\n"
			"  \"input\" : { \"x\" : [ 1 , 2 ] },\n  \"created_at\": \"" T0 "\",\n"
			"  \"available_at\": \"" T0 "\",\n  \"future\" : 1e400\n}\n";
		char	   *missing;

		err = NULL;
		CHECK(!decode_str(body, &doc, &err), "updated_at is required");
		missing = psprintf("%.*s,\n  \"updated_at\" :\"" T0 "\"  \n}\n",
						   (int) (strstr(body, "1e400") + 5 - body), body);
		check_decodes(missing, &doc, "pretty-printed task");
		CHECK_STR(raw_of(oq_task_member(&doc, "input")), "{ \"x\" : [ 1 , 2 ] }",
				  "span excludes surrounding whitespace");
		CHECK_STR(raw_of(oq_task_member(&doc, "future")), "1e400", "huge exponent kept as text");
		out = oq_task_rewrite_tags(&doc, "{}", upd, &len);
		CHECK_STR(out, psprintf("%.*s\"%s\",\"tags\":{}  \n}\n",
								(int) (strstr(missing, "\"" T0 "\"  \n}") - missing),
								missing, upd),
				  "pretty-printed: %s", "updated_at replaced, tags added after the last member");
		CHECK(decode_str(out, &doc2, &err) && others_identical(&doc, &doc2) &&
			  doc2.timestamp[OQ_F_UPDATED_AT] == ts(upd), "pretty-printed rewrite decodes");
		CHECK(strstr(out, "\"updated_at\" :\"2026-02-01T10:11:12.345678Z\"") != NULL,
			  "the new updated_at sits where the old one was");
	}

	/* empty objects (not valid tasks, but the splice must still be right) */
	{
		OqTaskDoc	empty;

		memset(&empty, 0, sizeof(empty));
		empty.body = "{}";
		empty.len = 2;
		CHECK_STR(oq_task_rewrite_tags(&empty, "{\"a\":\"b\"}", upd, &len),
				  "{\"tags\":{\"a\":\"b\"},\"updated_at\":\"2026-02-01T10:11:12.345678Z\"}",
				  "rewrite of {}");
		empty.body = " { \n } ";
		empty.len = 7;
		CHECK_STR(oq_task_rewrite_tags(&empty, "{}", upd, &len),
				  " {\"tags\":{},\"updated_at\":\"2026-02-01T10:11:12.345678Z\" \n } ",
				  "rewrite of { } with whitespace");
		CHECK(len == strlen(" {\"tags\":{},\"updated_at\":\"2026-02-01T10:11:12.345678Z\" \n } "),
			  "length of the empty-object rewrite");
	}

	/* tags before updated_at, both present: spans replaced in body order */
	{
		char	   *body = psprintf("{\"tags\":{\"old\":\"1\"}," BASE_MEMBERS ",\"z\":0}");

		check_decodes(body, &doc, "tags first");
		out = oq_task_rewrite_tags(&doc, tags_json, upd, &len);
		CHECK(decode_str(out, &doc2, &err) && others_identical(&doc, &doc2) &&
			  doc2.ntags == 2 && oq_task_tag(&doc2, "old") == NULL &&
			  strcmp(doc2.members[0].name, "tags") == 0, "tags-first rewrite");
	}
}

static void
test_build(void)
{
	OqTaskDoc	doc;
	char	   *err;
	size_t		len;
	char	   *out;
	OqNewTask	t;
	OqTag		tags[] = {
		{"quote", "say \"hi\""},
		{"backslash", "a\\b"},
		{"tab", "a\tb"},
		{"unicode", "Caf\xC3\xA9 \xE6\x9D\xB1\xE4\xBA\xAC \xF0\x9F\x98\x80"},
		{"slash", "a/b </script>"},
	};
	const char *input = "{\"n\":123456789012345678901234567890,\"d\":0.1000000000000000055511151231257827,"
		"\"e\":1.5e300,\"s\":\"\\u00e9\\u0000\", \"deep\" : [ [ [ ] ] ] }";

	memset(&t, 0, sizeof(t));
	t.id = "5e21c9d4-8b3a-4f67-a0d2-71c4e9b83f15";
	t.shard = "5";
	t.task_type = "resize_image";
	t.input_json = "{\"image_id\":\"img-80412\",\"width\":640}";
	t.now_us = INT64CONST(1773506527654321);
	t.available_at_us = INT64CONST(1773506527654321);
	t.timeout_seconds = 300;
	t.max_retries = 3;
	{
		OqTag		example[] = {{"customer", "northwind"}, {"region", "eu-central"},
		{"priority", "low"}, {"batch_id", "batch-2026-03-14"}};
		char	   *fx;
		size_t		fxlen;

		t.tags = example;
		t.ntags = 4;
		out = oq_task_build(&t, &len);
		CHECK(out != NULL && len == strlen(out), "build the example task of pending-with-tags.json");
		/* laid out as the reference producer writes it: same bytes */
		if ((fx = fixture("pending-with-tags", &fxlen)) != NULL)
			CHECK_STR(out, fx, "build reproduces pending-with-tags.json byte for byte");
	}

	t.id = ID;
	t.shard = "3";
	t.task_type = "ledger \"entry\"";
	t.input_json = input;
	t.tags = tags;
	t.ntags = lengthof(tags);
	t.now_us = INT64CONST(1769591702000000);
	t.available_at_us = INT64CONST(1769595302000000);
	t.timeout_seconds = PG_INT64_MAX;
	t.max_retries = 0;
	out = oq_task_build(&t, &len);
	CHECK(out != NULL, "build with exotic tags and big numbers");
	CHECK(out && strstr(out, input) != NULL, "input spliced verbatim");
	if (out && decode_str(out, &doc, &err))
	{
		CHECK(true, "built task decodes");
		CHECK_STR(field_raw(&doc, OQ_F_INPUT), input, "input read back exactly");
		CHECK_STR(field_str(&doc, OQ_F_TASK_TYPE), "ledger \"entry\"", "task_type read back");
		CHECK_STR(field_str(&doc, OQ_F_STATUS), "pending", "status pending");
		CHECK(doc.ntags == (int) lengthof(tags), "all tags read back");
		for (int i = 0; i < (int) lengthof(tags) && i < doc.ntags; i++)
			CHECK(strcmp(doc.tags[i].key, tags[i].key) == 0 &&
				  strcmp(doc.tags[i].value, tags[i].value) == 0, "tag %s round trips", tags[i].key);
		CHECK(doc.timestamp[OQ_F_CREATED_AT] == t.now_us &&
			  doc.timestamp[OQ_F_UPDATED_AT] == t.now_us &&
			  doc.timestamp[OQ_F_AVAILABLE_AT] == t.available_at_us, "timestamps round trip");
		CHECK_STR(field_str(&doc, OQ_F_AVAILABLE_AT), "2026-01-28T10:15:02.000000Z", "six fraction digits");
		CHECK(doc.integer[OQ_F_TIMEOUT_SECONDS] == PG_INT64_MAX && doc.integer[OQ_F_MAX_RETRIES] == 0,
			  "timeout_seconds and max_retries");
		CHECK(doc.integer[OQ_F_RETRY_COUNT] == 0 && doc.integer[OQ_F_ATTEMPT] == 0 &&
			  doc.integer[OQ_F_RESCHEDULE_COUNT] == 0 && !doc.boolean[OQ_F_CANCEL_REQUESTED],
			  "counters zero, not cancelled");
		CHECK(doc.field[OQ_F_OUTPUT]->type == OQ_JSON_NULL && doc.field[OQ_F_LEASE_ID]->type == OQ_JSON_NULL &&
			  doc.field[OQ_F_LEASE_EXPIRES_AT]->type == OQ_JSON_NULL &&
			  doc.field[OQ_F_COMPLETED_AT]->type == OQ_JSON_NULL &&
			  doc.field[OQ_F_WORKER_ID]->type == OQ_JSON_NULL &&
			  doc.field[OQ_F_LAST_ERROR]->type == OQ_JSON_NULL, "nulls written");
		CHECK_STR(field_raw(&doc, OQ_F_RETRY_POLICY), oq_task_fields[OQ_F_RETRY_POLICY].default_json,
				  "default retry_policy written");
		CHECK(doc.nmembers == 22, "22 members written");
	}
	else
		CHECK(false, "built task decodes: %s", err ? err : "(build failed)");

	/* failures: NULL, never a broken object */
	t.input_json = NULL;
	t.tags = NULL;
	t.ntags = 0;
	out = oq_task_build(&t, &len);
	CHECK(out && strstr(out, "\"input\":null,") && strstr(out, "\"tags\":{}}"),
		  "NULL input is JSON null, no tags is {}");
	t.task_type = "bad \xff";
	CHECK(oq_task_build(&t, &len) == NULL, "invalid UTF-8 task_type: NULL");
	t.task_type = "t";
	t.input_json = "{\"a\":1,}";
	CHECK(oq_task_build(&t, &len) == NULL, "invalid input JSON: NULL");
	t.input_json = "\"\xC0\xAF\"";
	CHECK(oq_task_build(&t, &len) == NULL, "input not UTF-8: NULL");
	t.input_json = "1";
	{
		OqTag		bad[] = {{"k", "v\xff"}};

		t.tags = bad;
		t.ntags = 1;
		CHECK(oq_task_build(&t, &len) == NULL, "invalid UTF-8 tag value: NULL");
	}

	/*
	 * Caught by test/fuzz/fuzz_taskbuild.c: the input sits one level inside
	 * the task object, so an input nested 1000 deep passed build's depth
	 * check but made a 1001-level task that decode refuses.  Build must
	 * refuse what decode would, and keep accepting one level less.
	 */
	{
		StringInfoData deep;

		t.tags = NULL;
		t.ntags = 0;
		initStringInfo(&deep);
		for (int i = 0; i < 999; i++)
			appendStringInfoChar(&deep, '[');
		for (int i = 0; i < 999; i++)
			appendStringInfoChar(&deep, ']');
		t.input_json = deep.data;
		out = oq_task_build(&t, &len);
		CHECK(out != NULL && decode_str(out, &doc, &err),
			  "input nested 999 deep: the task (1000 levels) builds and decodes");
		resetStringInfo(&deep);
		for (int i = 0; i < 1000; i++)
			appendStringInfoChar(&deep, '[');
		for (int i = 0; i < 1000; i++)
			appendStringInfoChar(&deep, ']');
		t.input_json = deep.data;
		out = oq_task_build(&t, &len);
		CHECK(out == NULL, "input nested 1000 deep: NULL, not a task decode refuses");
		t.input_json = "1";
	}

	/* tags_to_json */
	CHECK_STR(oq_tags_to_json(NULL, 0), "{}", "no tags");
	CHECK_STR(oq_tags_to_json(tags, lengthof(tags)),
			  "{\"quote\":\"say \\\"hi\\\"\",\"backslash\":\"a\\\\b\",\"tab\":\"a\\tb\","
			  "\"unicode\":\"Caf\xC3\xA9 \xE6\x9D\xB1\xE4\xBA\xAC \xF0\x9F\x98\x80\","
			  "\"slash\":\"a/b </script>\"}",
			  "escaping, order, UTF-8 kept");
	{
		OqTag		dup[] = {{"a", "1"}, {"b", "2"}, {"a", "3"}};
		OqTag		badkey[] = {{"k\xff", "v"}};
		OqTag		ctl[] = {{"c", "\x01\x1f\n"}};

		CHECK_STR(oq_tags_to_json(dup, 3), "{\"a\":\"3\",\"b\":\"2\"}", "a repeated key: first place, last value");
		CHECK(oq_tags_to_json(badkey, 1) == NULL, "invalid UTF-8 key: NULL");
		CHECK_STR(oq_tags_to_json(ctl, 1), "{\"c\":\"\\u0001\\u001F\\n\"}", "control characters escaped");
	}
}

static void
test_rejections(void)
{
	OqTaskDoc	doc;
	char	   *err;
	StringInfoData deep;

	check_decodes(task_with(""), &doc, "the minimal task");
	CHECK(doc.field[OQ_F_TAGS] == NULL && doc.field[OQ_F_STATUS] == NULL, "absent fields are NULL");

	/* structure */
	check_fails("", "task object is empty", "empty body");
	check_fails("  \n", "task object is not valid JSON: the input ends unexpectedly", "whitespace only");
	check_fails("[1,2]", "task object is an array, not a JSON object", "top-level array");
	check_fails("\"x\"", "task object is a string, not a JSON object", "top-level string");
	check_fails("null", "task object is null, not a JSON object", "top-level null");
	check_fails("{\"id\": tru}", "task object is not valid JSON: token \"tru\" is invalid (line 1)", "bad token");
	check_fails("{\"id\":1} {}", "task object is not valid JSON: expected end of input, but found \"{\" (line 1)",
				"trailing garbage");
	check_fails("{\"a\":1,\n\"b\" 2}", "task object is not valid JSON: expected \":\", but found \"2\" (line 2)",
				"missing colon, line 2");
	check_fails("{\"a\":\"x\ty\"}", "task object is not valid JSON: character with value 0x09 must be escaped (line 1)",
				"raw tab in a string");
	check_fails("{\"a\":\"\\q\"}", "task object is not valid JSON: escape sequence \"\\q\" is invalid (line 1)",
				"bad escape");
	check_fails("{\"a\":\"\\u12G4\"}",
				"task object is not valid JSON: \"\\u\" must be followed by four hexadecimal digits (line 1)",
				"bad \\u escape");
	check_fails("{\"a\":\"caf\xC3\"}", "task object is not valid UTF-8 (at byte 9)", "invalid UTF-8");
	check_fails("{\"a\":\"\xEF\xBB\xBF\"}\xEF\xBB\xBF", "task object is not valid JSON: token \"\xEF\xBB\xBF\" is invalid (line 1)",
				"a BOM is not JSON");
	{
		char		withnul[] = "{\"a\":1}";
		size_t		n = sizeof(withnul);	/* includes the NUL */

		err = NULL;
		CHECK(!oq_task_decode(withnul, n, &doc, &err) && err != NULL, "a NUL byte is refused: %s", err ? err : "");
	}

	/* deep nesting: refused before the parser recurses, in both builds */
	initStringInfo(&deep);
	appendStringInfoString(&deep, "{" BASE_MEMBERS ",\"x\":");
	for (int i = 0; i < 999; i++)
		appendStringInfoChar(&deep, '[');
	for (int i = 0; i < 999; i++)
		appendStringInfoChar(&deep, ']');
	appendStringInfoChar(&deep, '}');
	check_decodes(deep.data, &doc, "1000 levels (object + 999 arrays)");
	resetStringInfo(&deep);
	appendStringInfoString(&deep, "{" BASE_MEMBERS ",\"x\":");
	for (int i = 0; i < 1000; i++)
		appendStringInfoString(&deep, "{\"a\":");
	appendStringInfoString(&deep, "1");
	for (int i = 0; i < 1000; i++)
		appendStringInfoChar(&deep, '}');
	appendStringInfoChar(&deep, '}');
	check_fails(deep.data, "task object nests arrays and objects more than 1000 levels deep", "1001 levels");
	resetStringInfo(&deep);
	for (int i = 0; i < 1000000; i++)
		appendStringInfoChar(&deep, '[');
	check_fails(deep.data, "task object nests arrays and objects more than 1000 levels deep",
				"a million '[' does not crash");
	resetStringInfo(&deep);
	appendStringInfoString(&deep, "{" BASE_MEMBERS ",\"x\":\"");
	for (int i = 0; i < 100000; i++)
		appendStringInfoString(&deep, "[{");
	appendStringInfoString(&deep, "\\\"\"}");
	check_decodes(deep.data, &doc, "brackets inside strings do not count");

	/* fields given twice */
	check_fails(task_with(",\"tags\":{},\"tags\":{\"a\":\"b\"}"), "task field \"tags\" appears more than once",
				"duplicate tags");
	check_fails(task_with(",\"id\":\"" ID "\""), "task field \"id\" appears more than once", "duplicate id");
	check_fails(task_with(",\"\\u0074ags\":{},\"tags\":{}"), "task field \"tags\" appears more than once",
				"duplicate tags, one name escaped");
	check_decodes(task_with(",\"x\":1,\"x\":[2]"), &doc, "an unknown member twice");
	CHECK_STR(raw_of(oq_task_member(&doc, "x")), "[2]", "the last of an unknown name wins");

	/* required */
	check_fails("{\"shard\":\"3\",\"task_type\":\"t\",\"input\":{},\"created_at\":\"" T0
				"\",\"available_at\":\"" T0 "\",\"updated_at\":\"" T0 "\"}",
				"task field \"id\" is missing", "no id");
	check_fails("{\"id\":\"" ID "\",\"shard\":\"3\",\"task_type\":\"t\",\"created_at\":\"" T0
				"\",\"available_at\":\"" T0 "\",\"updated_at\":\"" T0 "\"}",
				"task field \"input\" is missing", "no input");
	check_fails("{}", "task field \"id\" is missing", "empty object");

	/* nulls */
	check_fails(task_with(",\"status\":null"), "task field \"status\" must not be null", "null status");
	check_fails(task_with(",\"tags\":null"), "task field \"tags\" must not be null", "null tags");
	check_fails(task_with(",\"attempt\":null"), "task field \"attempt\" must not be null", "null attempt");
	check_decodes(task_with(",\"output\":null,\"lease_id\":null,\"lease_expires_at\":null,"
							"\"completed_at\":null,\"worker_id\":null,\"last_error\":null,"
							"\"input_ref\":null,\"max_reschedules\":null,\"cancelled_at\":null,"
							"\"cancelled_by\":null,\"expires_at\":null,\"expired_at\":null"),
				  &doc, "nullable fields null");
	CHECK(doc.field[OQ_F_EXPIRED_AT] && doc.field[OQ_F_EXPIRED_AT]->type == OQ_JSON_NULL,
		  "a null field is present, of type null");

	/* integers */
	check_fails(task_with(",\"attempt\":\"3\""), "task field \"attempt\" must be a number, not a string", "string attempt");
	check_fails(task_with(",\"attempt\":2.5"), "task field \"attempt\" must be an integer, not 2.5", "fraction");
	check_fails(task_with(",\"attempt\":2.0"), "task field \"attempt\" must be an integer, not 2.0", "2.0");
	check_fails(task_with(",\"attempt\":1e3"), "task field \"attempt\" must be an integer, not 1e3", "exponent");
	check_fails(task_with(",\"retry_count\":-1"), "task field \"retry_count\" must not be negative, but is -1", "negative");
	/* timeout_seconds is the workers' u64: beyond int64 it is valid, -1 */
	check_decodes(task_with(",\"timeout_seconds\":9223372036854775808"), &doc, "2^63");
	CHECK(doc.integer[OQ_F_TIMEOUT_SECONDS] == -1, "2^63 is stored as -1");
	check_decodes(task_with(",\"timeout_seconds\":18446744073709551615"), &doc, "2^64 - 1");
	CHECK(doc.integer[OQ_F_TIMEOUT_SECONDS] == -1, "2^64 - 1 is stored as -1");
	check_fails(task_with(",\"timeout_seconds\":18446744073709551616"),
				"task field \"timeout_seconds\" is out of range for a 64-bit unsigned integer: 18446744073709551616", "2^64");
	check_fails(task_with(",\"timeout_seconds\":123456789012345678901234567890"),
				"task field \"timeout_seconds\" is out of range for a 64-bit unsigned integer: 123456789012345678901234567890",
				"way out of range");
	check_fails(task_with(",\"attempt\":9223372036854775808"),
				"task field \"attempt\" is out of range for a 64-bit integer: 9223372036854775808", "2^63 attempt");
	check_fails(task_with(",\"max_retries\":true"), "task field \"max_retries\" must be a number, not a boolean", "bool");
	check_decodes(task_with(",\"timeout_seconds\":9223372036854775807,\"attempt\":-0,\"max_reschedules\":0"),
				  &doc, "int64 max, -0");
	CHECK(doc.integer[OQ_F_TIMEOUT_SECONDS] == PG_INT64_MAX && doc.integer[OQ_F_ATTEMPT] == 0 &&
		  doc.integer[OQ_F_MAX_RESCHEDULES] == 0, "integer values");
	CHECK_STR(field_str(&doc, OQ_F_TIMEOUT_SECONDS), "9223372036854775807", "number str is its text");

	/* strings, uuids, timestamps, booleans, objects */
	check_fails(task_with(",\"status\":1"), "task field \"status\" must be a string, not a number", "numeric status");
	check_fails(task_with(",\"worker_id\":[]"), "task field \"worker_id\" must be a string, not an array", "array worker");
	check_fails("{\"id\":\"3F2B8C1E-9D4A-4E6B-8F00-1C2D3E4F5A6B\",\"shard\":\"3\",\"task_type\":\"t\",\"input\":{},"
				"\"created_at\":\"" T0 "\",\"available_at\":\"" T0 "\",\"updated_at\":\"" T0 "\"}",
				"task field \"id\" is not a lowercase hyphenated UUID: \"3F2B8C1E-9D4A-4E6B-8F00-1C2D3E4F5A6B\"",
				"uppercase id");
	check_decodes(task_with(",\"lease_id\":\"9E8D7C6B-5a4f-4e3d-8c2b-1a0f9e8d7c6b\""), &doc, "any-case lease_id");
	CHECK_STR(field_str(&doc, OQ_F_LEASE_ID), "9E8D7C6B-5a4f-4e3d-8c2b-1a0f9e8d7c6b", "lease_id stored as given");
	check_fails(task_with(",\"lease_id\":\"not-a-uuid\""), "task field \"lease_id\" is not a UUID: \"not-a-uuid\"",
				"bad lease_id");
	check_fails(task_with(",\"lease_id\":\"9e8d7c6b5a4f4e3d8c2b1a0f9e8d7c6b\""),
				"task field \"lease_id\" is not a UUID: \"9e8d7c6b5a4f4e3d8c2b1a0f9e8d7c6b\"", "unhyphenated lease_id");
	check_fails(task_with(",\"completed_at\":\"2026-01-28 09:15:02Z\""),
				"task field \"completed_at\" is not an RFC 3339 timestamp: \"2026-01-28 09:15:02Z\"", "bad timestamp");
	check_fails(task_with(",\"expires_at\":1769591702"),
				"task field \"expires_at\" must be a string, not a number", "numeric timestamp");
	check_fails(task_with(",\"cancel_requested\":\"false\""),
				"task field \"cancel_requested\" must be true or false, not a string", "string bool");
	check_fails(task_with(",\"retry_policy\":[]"), "task field \"retry_policy\" must be an object, not an array",
				"array retry_policy");
	check_fails(task_with(",\"tags\":[\"a\"]"), "task field \"tags\" must be an object, not an array", "array tags");
	check_decodes(task_with(",\"\\u0073tatus\":\"run\\u006eing\",\"cancel_requested\":true"),
				  &doc, "escaped member name and value");
	CHECK_STR(field_str(&doc, OQ_F_STATUS), "running", "escaped status de-escaped");
	CHECK(doc.boolean[OQ_F_CANCEL_REQUESTED], "boolean true");

	/* tags */
	/* another producer's values of any JSON type: read as their JSON text */
	check_decodes(task_with(",\"tags\":{\"a\":\"x\",\"customer\":5,\"n\":null,\"o\":{\"p\": [1, {\"q\":\"}\"}]},"
							"\"e\":[],\"b\":false,\"big\":123456789012345678901234567890.50}"),
				  &doc, "tags that are not strings");
	CHECK(doc.ntags == 7, "every tag is kept");
	CHECK_STR(oq_task_tag(&doc, "a"), "x", "string tag");
	CHECK(oq_task_tag(&doc, "customer") == NULL, "number tag has no string value");
	CHECK_STR(oq_task_tag_find(&doc, "customer")->json, "5", "number tag's JSON");
	CHECK_STR(oq_task_tag_find(&doc, "n")->json, "null", "null tag's JSON");
	CHECK_STR(oq_task_tag_find(&doc, "o")->json, "{\"p\": [1, {\"q\":\"}\"}]}", "nested object kept verbatim");
	CHECK_STR(oq_task_tag_find(&doc, "e")->json, "[]", "empty array");
	CHECK_STR(oq_task_tag_find(&doc, "b")->json, "false", "boolean tag's JSON");
	CHECK_STR(oq_task_tag_find(&doc, "big")->json, "123456789012345678901234567890.50", "long number exact");
	CHECK(oq_task_tag_find(&doc, "missing") == NULL, "absent tag");
	CHECK_STR(oq_tags_to_json(doc.tags, doc.ntags),
			  "{\"a\":\"x\",\"customer\":5,\"n\":null,\"o\":{\"p\": [1, {\"q\":\"}\"}]},"
			  "\"e\":[],\"b\":false,\"big\":123456789012345678901234567890.50}",
			  "tags with foreign values written back verbatim");
	check_decodes(task_with(",\"tags\":{\"k\":1,\"k\":\"s\",\"j\":\"s\",\"j\":[2]}"), &doc,
				  "repeated keys, string and not");
	CHECK(doc.ntags == 2 && oq_task_tag(&doc, "k") != NULL && oq_task_tag(&doc, "j") == NULL &&
		  strcmp(oq_task_tag_find(&doc, "j")->json, "[2]") == 0, "repeated keys: last value, of either kind");
	/* \u0000 in tags: valid for the workers, left out and noted */
	check_decodes(task_with(",\"tags\":{\"v\":\"a\\u0000b\",\"w\":\"x\",\"k\\u0000\":\"y\"}"), &doc,
				  "NUL in a tag value and a tag key");
	CHECK(doc.ntags == 1 && strcmp(doc.tags[0].key, "w") == 0 && doc.tags_why == OQ_WHY_NUL,
		  "tags text cannot hold are left out, tags_why says why");
	check_decodes(task_with(",\"tags\":{\"w\":\"x\"}"), &doc, "plain tags");
	CHECK(doc.tags_why == NULL, "plain tags: no tags_why");
	check_fails(task_with(",\"tags\":{\"v\":\"a\\ud800\"}"),
				"value of tag \"v\" contains an unpaired UTF-16 surrogate escape", "lone surrogate in a tag value");
	check_decodes(task_with(",\"tags\":{\"o\":{\"p\":\"a\\u0000b\"},\"w\":5}"), &doc,
				  "NUL inside a tag value that is not a string");
	CHECK(doc.ntags == 1 && strcmp(doc.tags[0].key, "w") == 0 && doc.tags_why == OQ_WHY_NUL,
		  "that tag is left out too");
	check_fails(task_with(",\"tags\":{\"o\":[\"\\ud800\"]}"),
				"value of tag \"o\" contains an unpaired UTF-16 surrogate escape",
				"lone surrogate inside a tag value that is not a string");
	check_decodes(task_with(",\"tags\":{\"a\":\"1\",\"b\":\"2\",\"a\":\"3\",\"c\":\"4\",\"b\":\"5\"}"), &doc,
				  "repeated tag keys");
	CHECK(doc.ntags == 3 && strcmp(doc.tags[0].key, "a") == 0 && strcmp(doc.tags[0].value, "3") == 0 &&
		  strcmp(doc.tags[1].key, "b") == 0 && strcmp(doc.tags[1].value, "5") == 0 &&
		  strcmp(doc.tags[2].key, "c") == 0, "repeated keys: first place, last value");
	check_decodes(task_with(",\"tags\":{\"Not Valid!\":\"x\\ny\",\"k\":\"\\ud83d\\ude00\"}"), &doc,
				  "tag rules are not applied when reading");
	CHECK_STR(oq_task_tag(&doc, "Not Valid!"), "x\ny", "an invalid tag is read as stored");
	CHECK_STR(oq_task_tag(&doc, "k"), "\xF0\x9F\x98\x80", "surrogate pair decoded to UTF-8");
	check_decodes(task_with(",\"tags\":{\"k\":\"\\u00E9\\uD83D\\uDE00\\u00e9\\/\\b\\f\\r\"}"), &doc,
				  "uppercase and lowercase hex escapes");
	CHECK_STR(oq_task_tag(&doc, "k"), "\xC3\xA9\xF0\x9F\x98\x80\xC3\xA9/\b\f\r", "every escape decoded");
	{
		StringInfoData many;

		initStringInfo(&many);
		appendStringInfoString(&many, "{" BASE_MEMBERS ",\"tags\":{");
		for (int i = 0; i < 20000; i++)
			appendStringInfo(&many, "%s\"k%d\":\"v%d\"", i ? "," : "", i % 15000, i);
		appendStringInfoString(&many, "}}");
		check_decodes(many.data, &doc, "20000 tags, 5000 of them repeated");
		CHECK(doc.ntags == 15000 && strcmp(oq_task_tag(&doc, "k3"), "v15003") == 0 &&
			  strcmp(oq_task_tag(&doc, "k14999"), "v14999") == 0, "many tags deduplicated");
	}

	/* escapes that text cannot hold */
	check_decodes(task_with(",\"worker_id\":\"a\\u0000\""), &doc, "NUL in worker_id");
	CHECK(doc.field[OQ_F_WORKER_ID]->str == NULL &&
		  doc.field[OQ_F_WORKER_ID]->str_why == OQ_WHY_NUL, "NUL: str NULL, str_why says why");
	check_fails(task_with(",\"lease_id\":\"a\\u0000\""),
				"task field \"lease_id\" contains \\u0000, which PostgreSQL text and jsonb cannot hold",
				"NUL in a UUID field");
	check_fails(task_with(",\"output\":[\"\\ud800\"]"),
				"task field \"output\" contains an unpaired UTF-16 surrogate escape", "lone surrogate in output");
	check_fails(task_with(",\"worker_id\":\"\\ud800x\""),
				"task field \"worker_id\" contains an unpaired UTF-16 surrogate escape", "lone high surrogate");
	check_fails(task_with(",\"worker_id\":\"\\udc00\""),
				"task field \"worker_id\" contains an unpaired UTF-16 surrogate escape", "lone low surrogate");
	check_decodes(task_with(",\"a\\u0000\":1"), &doc, "NUL in a member name");
	check_fails(task_with(",\"a\\udc00\":1"),
				"task object has a member name containing an unpaired UTF-16 surrogate escape",
				"lone surrogate in a member name");
	check_decodes(task_with(",\"note\":\"x\\u0000\",\"input2\":{\"s\":\"\\u0000\\ud800\"}"), &doc,
				  "\\u0000 and lone surrogates outside our fields are carried");
	CHECK(oq_task_member(&doc, "note")->str == NULL, "an unknown string that text cannot hold has str NULL");
	check_decodes("{" BASE_MEMBERS ",\"output\":{\"s\":\"\\u0000\"}}", &doc, "\\u0000 inside output is fine");

	/* oq_json_text_problem */
	CHECK(oq_json_text_problem("{\"a\":\"x\"}", 9, false) == NULL, "no escapes");
	CHECK(oq_json_text_problem("\"\\\\u0000\"", 10, false) == NULL, "an escaped backslash, then text");
	CHECK(oq_json_text_problem("\"\\u0000\"", 8, false) == OQ_WHY_NUL, "\\u0000");
	CHECK(oq_json_text_problem("\"\\u0000\"", 8, true) == NULL, "\\u0000, allowed");
	CHECK(oq_json_text_problem("{\"\\u0000\":1}", 12, false) == OQ_WHY_NUL, "\\u0000 in a key");
	CHECK(oq_json_text_problem("\"\\ud83d\\ude00\"", 14, false) == NULL, "a surrogate pair");
	CHECK(oq_json_text_problem("\"\\ud83d\"", 8, true) == OQ_WHY_SURROGATE, "a lone high surrogate at the end");
	CHECK(oq_json_text_problem("\"\\ud83dx\\ude00\"", 15, true) == OQ_WHY_SURROGATE, "a high surrogate, then text");
	CHECK(oq_json_text_problem("\"\\ude00\"", 8, true) == OQ_WHY_SURROGATE, "a lone low surrogate");

	err = NULL;
	CHECK(!oq_task_decode("[]", 2, &doc, NULL), "errmsg may be NULL");
}

int
main(void)
{
	test_field_table();
	test_fixtures();
	test_rewrite();
	test_build();
	test_rejections();
	return unit_done();
}
