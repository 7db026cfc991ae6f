/*
 * fuzz_taskbuild.c - building new task objects and tags objects.
 *
 * The input's first 32 bytes give the times and counters of a new task;
 * the rest is cut at 0x00 bytes into the shard, the task type, the input
 * JSON text and tag keys and values.  Properties:
 *
 *  - oq_task_build() fails exactly when a string is not valid UTF-8 or the
 *    input text is not what the decoder accepts as the value of "input"
 *    (decided by decoding a minimal task that holds it), and otherwise
 *    gives a task that oq_task_decode() accepts, with the same id, shard,
 *    task type, the input text verbatim, the tags (a repeated key keeps
 *    its first place and its last value), the times, the counters and the
 *    defaults of a new task.
 *  - oq_tags_to_json() fails exactly when a key or value is not valid
 *    UTF-8, and otherwise decodes to the same tags.
 */
#include "fuzz.h"

#include "rfc3339.h"
#include "taskjson.h"

#define ID "0f4e3a1c-7a52-4f0e-9d7b-2f1c5a9e8b31"
#define MAX_TAGS 24

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* s without the JSON whitespace around it */
static char *
trimmed(const char *s)
{
	size_t		n = strlen(s);

	while (n > 0 && is_space(s[n - 1]))
		n--;
	while (n > 0 && is_space(*s))
		s++, n--;
	return pnstrdup(s, n);
}

/*
 * Whether the decoder takes this text as the value of "input": a minimal
 * task holding it decodes and its input is exactly that text.
 */
static bool
decoder_accepts_input(const char *input)
{
	char	   *body = psprintf("{\"id\":\"" ID "\",\"shard\":\"0\",\"task_type\":\"t\","
								"\"input\":%s,"
								"\"created_at\":\"2026-01-28T12:34:56Z\","
								"\"available_at\":\"2026-01-28T12:34:56Z\","
								"\"updated_at\":\"2026-01-28T12:34:56Z\"}", input);
	OqTaskDoc	doc;
	const OqJsonMember *m;
	char	   *want = trimmed(input);

	if (!oq_task_decode(body, strlen(body), &doc, NULL))
		return false;
	m = doc.field[OQ_F_INPUT];
	return m->raw_len == (int) strlen(want) && memcmp(m->raw, want, m->raw_len) == 0;
}

/* Tags as an object keeps them: first place, last value */
static int
dedup(const OqTag *tags, int ntags, OqTag *out)
{
	int			n = 0;

	for (int i = 0; i < ntags; i++)
	{
		int			j;

		for (j = 0; j < n; j++)
			if (strcmp(out[j].key, tags[i].key) == 0)
				break;
		out[j] = tags[i];
		if (j == n)
			n++;
	}
	return n;
}

static void
check_tags(const OqTaskDoc *doc, const OqTag *want, int nwant)
{
	FUZZ_CHECK(doc->ntags == nwant, "%d tags expected, %d read", nwant, doc->ntags);
	for (int i = 0; i < nwant; i++)
		FUZZ_CHECK(strcmp(doc->tags[i].key, want[i].key) == 0 &&
				   strcmp(doc->tags[i].value, want[i].value) == 0,
				   "tag %d: %s=%s expected, %s=%s read", i, want[i].key,
				   want[i].value, doc->tags[i].key, doc->tags[i].value);
}

static int64
in_range(uint64 raw)
{
	const uint64 span = (uint64) (OQ_RFC3339_MAX_US - OQ_RFC3339_MIN_US) + 1;

	return OQ_RFC3339_MIN_US + (int64) (raw % span);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FuzzInput	in = {data, size, 0};
	OqNewTask	t;
	OqTag		tags[MAX_TAGS];
	OqTag		want[MAX_TAGS];
	int			nwant;
	bool		tags_ok;
	bool		strings_ok;
	bool		expect_ok;
	char	   *piece;
	char	   *built;
	char	   *tags_json;
	size_t		len = 0;
	OqTaskDoc	doc;
	char	   *errmsg = NULL;

	memset(&t, 0, sizeof(t));
	t.id = ID;
	t.now_us = in_range(fuzz_u64(&in));
	t.available_at_us = in_range(fuzz_u64(&in));
	t.timeout_seconds = (int64) (fuzz_u64(&in) & PG_INT64_MAX);
	t.max_retries = (int64) (fuzz_u64(&in) & PG_INT64_MAX);
	t.shard = (piece = fuzz_piece(&in)) ? piece : "0";
	t.task_type = (piece = fuzz_piece(&in)) ? piece : "t";
	t.input_json = fuzz_piece(&in);	/* NULL: JSON null */
	while (t.ntags < MAX_TAGS && (piece = fuzz_piece(&in)) != NULL)
	{
		tags[t.ntags].key = piece;
		tags[t.ntags].value = (piece = fuzz_piece(&in)) ? piece : "";
		tags[t.ntags].json = NULL;
		t.ntags++;
	}
	t.tags = tags;
	nwant = dedup(tags, t.ntags, want);

	tags_ok = true;
	for (int i = 0; i < t.ntags; i++)
		tags_ok &= fuzz_cstr_utf8_ok(tags[i].key) && fuzz_cstr_utf8_ok(tags[i].value);
	strings_ok = tags_ok && fuzz_cstr_utf8_ok(t.shard) && fuzz_cstr_utf8_ok(t.task_type);

	/* tags alone */
	tags_json = oq_tags_to_json(tags, t.ntags);
	FUZZ_CHECK((tags_json != NULL) == tags_ok,
			   "oq_tags_to_json() returned %s for %s tags",
			   tags_json ? "text" : "NULL", tags_ok ? "valid" : "invalid");
	if (tags_json)
	{
		char	   *body = psprintf("{\"id\":\"" ID "\",\"shard\":\"0\",\"task_type\":\"t\","
									"\"input\":null,\"tags\":%s,"
									"\"created_at\":\"2026-01-28T12:34:56Z\","
									"\"available_at\":\"2026-01-28T12:34:56Z\","
									"\"updated_at\":\"2026-01-28T12:34:56Z\"}", tags_json);

		FUZZ_CHECK(oq_task_decode(body, strlen(body), &doc, &errmsg),
				   "tags object %s does not decode: %s", tags_json, errmsg);
		check_tags(&doc, want, nwant);
	}

	/* a whole task */
	expect_ok = strings_ok &&
		(t.input_json == NULL || decoder_accepts_input(t.input_json));
	built = oq_task_build(&t, &len);
	FUZZ_CHECK((built != NULL) == expect_ok,
			   "oq_task_build() returned %s; expected %s (strings %s, input %s)",
			   built ? "a task" : "NULL", expect_ok ? "a task" : "NULL",
			   strings_ok ? "valid" : "invalid",
			   t.input_json ? (decoder_accepts_input(t.input_json) ? "accepted" : "refused") : "null");
	if (built == NULL)
	{
		fuzz_arena_reset();
		return 0;
	}
	FUZZ_CHECK(len == strlen(built), "length");
	FUZZ_CHECK(oq_task_decode(built, len, &doc, &errmsg),
			   "built task does not decode: %s\n%s", errmsg, built);
	FUZZ_CHECK(strcmp(doc.field[OQ_F_ID]->str, ID) == 0 &&
			   fuzz_streq(doc.field[OQ_F_SHARD]->str, t.shard) &&
			   fuzz_streq(doc.field[OQ_F_TASK_TYPE]->str, t.task_type),
			   "id, shard or task_type changed");
	{
		char	   *want_input = t.input_json ? trimmed(t.input_json) : "null";
		const OqJsonMember *m = doc.field[OQ_F_INPUT];

		FUZZ_CHECK(m->raw_len == (int) strlen(want_input) &&
				   memcmp(m->raw, want_input, m->raw_len) == 0,
				   "input changed: %s -> %.*s", want_input, m->raw_len, m->raw);
	}
	check_tags(&doc, want, nwant);
	FUZZ_CHECK(doc.timestamp[OQ_F_CREATED_AT] == t.now_us &&
			   doc.timestamp[OQ_F_UPDATED_AT] == t.now_us &&
			   doc.timestamp[OQ_F_AVAILABLE_AT] == t.available_at_us, "times changed");
	FUZZ_CHECK(doc.integer[OQ_F_TIMEOUT_SECONDS] == t.timeout_seconds &&
			   doc.integer[OQ_F_MAX_RETRIES] == t.max_retries &&
			   doc.integer[OQ_F_RETRY_COUNT] == 0 && doc.integer[OQ_F_ATTEMPT] == 0 &&
			   doc.integer[OQ_F_RESCHEDULE_COUNT] == 0, "counters changed");
	FUZZ_CHECK(strcmp(doc.field[OQ_F_STATUS]->str, "pending") == 0 &&
			   doc.field[OQ_F_CANCEL_REQUESTED] && !doc.boolean[OQ_F_CANCEL_REQUESTED],
			   "not a pending task");

	fuzz_arena_reset();
	return 0;
}
