/*
 * test_tags.c - tag rules and tag index keys (src/tags.c).
 *
 * SHA-256 values were computed independently (Python's hashlib).
 */
#include "postgres_fe.h"

#include "s3sign.h"
#include "tags.h"
#include "unit.h"

#define ID "3f2b8c1e-9d4a-4e6b-8f00-1c2d3e4f5a6b"
#define GRIN "\xF0\x9F\x98\x80"	/* U+1F600, four bytes */
#define E_ACUTE "\xC3\xA9"		/* U+00E9, two bytes */

static char *
repeat(const char *s, int n)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < n; i++)
		appendStringInfoString(&buf, s);
	return buf.data;
}

static char *
segment(const char *value)
{
	StringInfoData buf;

	initStringInfo(&buf);
	oq_tag_index_segment(&buf, value);
	return buf.data;
}

static void
check_valid(const char *key, const char *value, const char *what)
{
	char	   *err = NULL;
	bool		ok = oq_tag_check(key, value, &err);

	CHECK(ok && err == NULL, "valid: %s%s%s", what, err ? " -- " : "", err ? err : "");
}

static void
check_invalid(const char *key, const char *value, const char *want)
{
	char	   *err = NULL;
	bool		ok = oq_tag_check(key, value, &err);

	CHECK(!ok, "invalid: %s", want);
	CHECK_STR(err, want, "message");
}

/* Only A-Z a-z 0-9 - . _ % (and '~' first, for a hash) in a segment */
static bool
segment_chars_ok(const char *seg)
{
	if (seg[0] == '~')
	{
		if (strlen(seg) != 65)
			return false;
		for (const char *p = seg + 1; *p; p++)
			if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
				return false;
		return true;
	}
	for (const char *p = seg; *p; p++)
	{
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			  (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
			  *p == '_' || *p == '%'))
			return false;
	}
	return true;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

int
main(void)
{
	char	   *err;

	/* ---- rules: valid tags ---- */
	check_valid("customer", "acme-corp", "the tagging specification's example");
	check_valid("batch_id", "batch-2026-01-28", "underscore in key");
	check_valid("a", "", "one-character key, empty value");
	check_valid("0-9_x", "x", "digits, hyphen, underscore");
	check_valid("oq", "x", "\"oq\" without the underscore is not reserved");
	check_valid("xoq_", "x", "\"oq_\" not at the start is fine");
	check_valid(repeat("k", 64), "x", "64-character key");
	check_valid("note", "tab\there, quotes \"q\" and back\\slash", "tab, quotes, backslash");
	check_valid("customer", "Caf" E_ACUTE " / \xE6\x9D\xB1\xE4\xBA\xAC % & <x>", "non-ASCII, slash, percent");
	check_valid("v", repeat(GRIN, 256), "256 four-byte characters (1024 bytes)");
	check_valid("v", repeat("x", 256), "256 ASCII characters");

	/* ---- rules: invalid tags, each message naming the key ---- */
	check_invalid("", "x", "tag key must not be empty");
	check_invalid(repeat("k", 65), "x",
				  psprintf("tag key \"%s...\" is longer than 64 characters", repeat("k", 64)));
	check_invalid("Customer", "x", "tag key \"Customer\" may contain only a-z, 0-9, \"-\" and \"_\"");
	check_invalid("cust omer", "x", "tag key \"cust omer\" may contain only a-z, 0-9, \"-\" and \"_\"");
	check_invalid("a/b", "x", "tag key \"a/b\" may contain only a-z, 0-9, \"-\" and \"_\"");
	check_invalid("a.b", "x", "tag key \"a.b\" may contain only a-z, 0-9, \"-\" and \"_\"");
	check_invalid("caf" E_ACUTE, "x", "tag key \"caf" E_ACUTE "\" may contain only a-z, 0-9, \"-\" and \"_\"");
	check_invalid("bad\xff", "x", "tag key \"bad?\" may contain only a-z, 0-9, \"-\" and \"_\"");
	check_invalid("oq_internal", "x", "tag key \"oq_internal\" starts with \"oq_\", which is reserved for the system");
	check_invalid("oq_", "x", "tag key \"oq_\" starts with \"oq_\", which is reserved for the system");
	check_invalid("_private", "x", "tag key \"_private\" starts with \"_\", which is reserved for internal use");
	check_invalid("k", NULL, "tag \"k\" has a null value; tag values must be strings");
	check_invalid("note", "line\nbreak", "value of tag \"note\" contains a line break (LF or CR), which tag values may not");
	check_invalid("note", "carriage\rreturn", "value of tag \"note\" contains a line break (LF or CR), which tag values may not");
	check_invalid("note", "\n", "value of tag \"note\" contains a line break (LF or CR), which tag values may not");
	check_invalid("v", "bad \xff byte", "value of tag \"v\" is not valid UTF-8");
	check_invalid("v", "overlong \xC0\xAF", "value of tag \"v\" is not valid UTF-8");
	check_invalid("v", "surrogate \xED\xA0\x80", "value of tag \"v\" is not valid UTF-8");
	check_invalid("v", "truncated \xE6\x9D", "value of tag \"v\" is not valid UTF-8");
	check_invalid("v", repeat(GRIN, 257), "value of tag \"v\" has 257 characters, more than the limit of 256");
	check_invalid("v", repeat("x", 257), "value of tag \"v\" has 257 characters, more than the limit of 256");
	CHECK(!oq_tag_check("Bad", "x", NULL), "errmsg may be NULL");

	/* ---- count ---- */
	/* texts ->> can give for a value that is not a string */
	CHECK(oq_tag_text_maybe_nonstring("5"), "a number's text");
	CHECK(oq_tag_text_maybe_nonstring("-0.5"), "a negative number's text");
	CHECK(oq_tag_text_maybe_nonstring("true") && oq_tag_text_maybe_nonstring("false"), "booleans");
	CHECK(oq_tag_text_maybe_nonstring("{\"a\": 1}") && oq_tag_text_maybe_nonstring("[]"), "containers");
	CHECK(oq_tag_text_maybe_nonstring("0") && oq_tag_text_maybe_nonstring("123456789012345678901234567890.50"),
		  "zero, a long decimal");
	CHECK(!oq_tag_text_maybe_nonstring("acme-corp") && !oq_tag_text_maybe_nonstring("") &&
		  !oq_tag_text_maybe_nonstring("null") && !oq_tag_text_maybe_nonstring("True") &&
		  !oq_tag_text_maybe_nonstring(" 5") && !oq_tag_text_maybe_nonstring("5 ") &&
		  !oq_tag_text_maybe_nonstring("1e2") && !oq_tag_text_maybe_nonstring("2026-01-28") &&
		  !oq_tag_text_maybe_nonstring("-") && !oq_tag_text_maybe_nonstring("5.") &&
		  !oq_tag_text_maybe_nonstring(".5") && !oq_tag_text_maybe_nonstring("b-17"),
		  "texts only a string gives (numbers print without exponent)");
	{
		OqTag		s1 = {"k", "5", NULL};
		OqTag		s2 = {"k", "5", NULL};
		OqTag		n1 = {"k", NULL, "5"};
		OqTag		n2 = {"k", NULL, "5"};
		OqTag		n3 = {"k", NULL, "5.0"};

		CHECK(oq_tag_same_value(&s1, &s2) && oq_tag_same_value(&n1, &n2), "same values");
		CHECK(!oq_tag_same_value(&s1, &n1) && !oq_tag_same_value(&n1, &s1) &&
			  !oq_tag_same_value(&n1, &n3), "a string is not a number; JSON text compared exactly");
	}

	CHECK(oq_tag_check_count(0, NULL), "no tags is fine");
	CHECK(oq_tag_check_count(20, NULL), "20 tags is fine");
	err = NULL;
	CHECK(!oq_tag_check_count(21, &err), "21 tags is too many");
	CHECK_STR(err, "a task may have at most 20 tags, and this one would have 21", "count message");

	/* ---- message quoting ---- */
	CHECK_STR(oq_quote_for_message("abc", 3, 64), "abc", "short text unchanged");
	CHECK_STR(oq_quote_for_message("abcdef", 6, 3), "abc...", "long text clipped");
	CHECK_STR(oq_quote_for_message(GRIN GRIN GRIN, 12, 2), GRIN GRIN "...", "clipped at a character boundary");
	CHECK_STR(oq_quote_for_message("a\xff" "b\xE6\x9D", 5, 64), "a?b??", "invalid bytes shown as ?");

	/* ---- segments: the encoding ---- */
	CHECK_STR(segment("acme-corp"), "acme-corp", "plain value unchanged");
	CHECK_STR(segment("A.Z_09-x"), "A.Z_09-x", "unreserved characters kept");
	CHECK_STR(segment("a/b"), "a%2Fb", "slash encoded");
	CHECK_STR(segment("a%2Fb"), "a%252Fb", "percent encoded");
	CHECK_STR(segment("a b"), "a%20b", "space encoded as %%20");
	CHECK_STR(segment("a+b"), "a%2Bb", "plus encoded");
	CHECK_STR(segment("~abc"), "%7Eabc", "tilde encoded too");
	CHECK_STR(segment("a~b~"), "a%7Eb%7E", "every tilde encoded");
	CHECK_STR(segment("Caf" E_ACUTE), "Caf%C3%A9", "UTF-8 bytes encoded, uppercase hex");
	CHECK_STR(segment("tab\t<&>\"'\\"), "tab%09%3C%26%3E%22%27%5C", "tab and punctuation encoded");
	CHECK_STR(segment("..."), "...", "three dots are an ordinary segment");
	CHECK_STR(segment(".a"), ".a", "a leading dot is fine");

	/* ---- segments: the hashed forms ---- */
	CHECK_STR(segment(""), "~" OQ_EMPTY_SHA256_HEX, "empty value hashed");
	CHECK_STR(segment("."), "~cdb4ee2aea69cc6a83331bbe96dc2caa9a299d21329efb0336fc02a82e1839a8", "\".\" hashed");
	CHECK_STR(segment(".."), "~5ec1f7e700f37c3d0b2981d04855fc34b94aaa15457b05ca571817442d228f81", "\"..\" hashed");
	CHECK_STR(segment(repeat(GRIN, 256)),
			  "~8041e66714937367b6c831f9d738485d4a463226cfc984dcdc52f9b469b2e5fb",
			  "256 four-byte characters hashed");
	CHECK_STR(segment(repeat(E_ACUTE, 171)),
			  "~7465d647e02de38aeb3b6aecf24fbdf3c2593d9ea224999a075759ae9e374f39",
			  "171 two-byte characters (1026 encoded bytes) hashed");
	/* the 512-byte boundary, for encoded and raw lengths */
	CHECK_STR(segment(repeat("x", 512)), repeat("x", 512), "512 plain bytes kept");
	CHECK(segment(repeat("x", 513))[0] == '~', "513 plain bytes hashed");
	CHECK_STR(segment(psprintf("%sab", repeat("/", 170))),
			  psprintf("%sab", repeat("%2F", 170)), "encoded length 512 kept");
	CHECK_STR(segment(repeat("/", 171)),
			  "~f027e607640bebc467f60eb7a5f78b8934efe84796df60152b7b909628157832",
			  "encoded length 513 hashed");
	{
		StringInfoData buf;

		initStringInfo(&buf);
		appendStringInfoString(&buf, "prefix/");
		oq_tag_index_segment(&buf, "");
		CHECK_STR(buf.data, "prefix/~" OQ_EMPTY_SHA256_HEX, "segment appends to what is in buf");
		resetStringInfo(&buf);
		appendStringInfoString(&buf, "p/");
		oq_tag_index_segment(&buf, repeat("/", 171));
		CHECK(strncmp(buf.data, "p/~f027e6", 9) == 0 && strlen(buf.data) == 67,
			  "a dropped encoding leaves buf's earlier text intact");
	}

	/* a literal "~..." value can never equal a hashed segment */
	{
		char	   *hashed = segment("");
		char	   *lit = segment(hashed);

		CHECK(strcmp(lit, hashed) != 0 && lit[0] != '~' && strncmp(lit, "%7E", 3) == 0,
			  "value \"%s\" encodes to %s, not the hash", hashed, lit);
	}

	/* ---- key lengths ---- */
	{
		char	   *maxkey = oq_tag_index_key(repeat("k", 64), repeat(GRIN, 256), ID);
		char	   *bigplain = oq_tag_index_key(repeat("k", 64), repeat("x", 512), ID);

		CHECK(strlen(maxkey) <= 1024, "longest tag (64-char key, 256 four-byte chars) gives a %zu-byte key",
			  strlen(maxkey));
		CHECK(strlen(maxkey) == 5 + 64 + 1 + 65 + 1 + 36, "which is the hashed length");
		CHECK(strlen(bigplain) == 5 + 64 + 1 + 512 + 1 + 36 && strlen(bigplain) <= 1024,
			  "the longest unhashed segment gives a %zu-byte key", strlen(bigplain));
	}

	/* ---- properties over many values ---- */
	{
		/* awkward pieces, combined in pairs and triples */
		const char *pieces[] = {
			"", "a", "A", "/", "%", "%2F", "%25", " ", "+", "~", ".", "..", "-",
			"_", "\t", "\"", "\\", "&", "<", "?", "#", "=", E_ACUTE, GRIN,
			"\xE6\x9D\xB1", "~abc", "%7E", "%7e", "a b", "a/b", "a%2Fb",
		};
		int			np = lengthof(pieces);
		int			n = 0;
		char	  **segs = palloc(sizeof(char *) * np * np * np);
		char	  **vals = palloc(sizeof(char *) * np * np * np);
		bool		chars_ok = true;
		bool		no_slash = true;
		bool		hashed_only_when_due = true;
		int			dups = 0;

		for (int i = 0; i < np; i++)
			for (int j = 0; j < np; j++)
				for (int k = 0; k < np; k++)
				{
					/* the same value can arise from several triples */
					char	   *v = psprintf("%s%s%s", pieces[i], pieces[j], pieces[k]);

					vals[n] = v;
					segs[n] = segment(v);
					if (!segment_chars_ok(segs[n]))
						chars_ok = false;
					if (strchr(segs[n], '/') != NULL)
						no_slash = false;
					if ((segs[n][0] == '~') !=
						(v[0] == '\0' || strcmp(v, ".") == 0 || strcmp(v, "..") == 0))
						hashed_only_when_due = false;
					n++;
				}

		/* distinct values must give distinct segments */
		{
			char	  **sorted_vals = palloc(sizeof(char *) * n);
			char	  **sorted_segs = palloc(sizeof(char *) * n);
			int			nvals = 0;

			memcpy(sorted_vals, vals, sizeof(char *) * n);
			qsort(sorted_vals, n, sizeof(char *), cmp_str);
			for (int i = 0; i < n; i++)
				if (i == 0 || strcmp(sorted_vals[i], sorted_vals[i - 1]) != 0)
					sorted_segs[nvals++] = segment(sorted_vals[i]);
			qsort(sorted_segs, nvals, sizeof(char *), cmp_str);
			for (int i = 1; i < nvals; i++)
				if (strcmp(sorted_segs[i], sorted_segs[i - 1]) == 0)
					dups++;
			CHECK(dups == 0, "%d distinct values map to distinct segments (%d collisions)",
				  nvals, dups);
		}
		CHECK(chars_ok, "every segment uses only A-Z a-z 0-9 - . _ %% (or is ~hash)");
		CHECK(no_slash, "no segment contains '/'");
		CHECK(hashed_only_when_due, "short values are hashed only when empty, \".\" or \"..\"");
		CHECK(strcmp(segment("a/b"), segment("a%2Fb")) != 0 &&
			  strcmp(segment("a/b"), segment("a b")) != 0 &&
			  strcmp(segment("a%2Fb"), segment("a b")) != 0,
			  "\"a/b\", \"a%%2Fb\" and \"a b\" are three segments");
		CHECK(strcmp(segment("x"), segment("x")) == 0, "the mapping is deterministic");
	}

	/* ---- index keys and prefixes ---- */
	CHECK_STR(oq_tag_index_key("customer", "acme-corp", ID),
			  "tags/customer/acme-corp/" ID, "index key");
	CHECK_STR(oq_tag_index_key("customer", "Caf" E_ACUTE " / \xE6\x9D\xB1", ID),
			  "tags/customer/Caf%C3%A9%20%2F%20%E6%9D%B1/" ID, "index key of an exotic value");
	CHECK_STR(oq_tag_index_key("batch_id", "", ID),
			  "tags/batch_id/~" OQ_EMPTY_SHA256_HEX "/" ID, "index key of an empty value");
	CHECK_STR(oq_tag_index_value_prefix("customer", "acme-corp"),
			  "tags/customer/acme-corp/", "value prefix");
	CHECK_STR(oq_tag_index_value_prefix("customer", "a/b"),
			  "tags/customer/a%2Fb/", "value prefix, encoded");
	CHECK_STR(oq_tag_index_key_prefix("customer"), "tags/customer/", "key prefix");

	/* ---- parse_key ---- */
	{
		char	   *k,
				   *s,
				   *id;
		const char *values[] = {"acme-corp", "", "a/b", "~x", repeat(GRIN, 256), ".."};

		for (int i = 0; i < (int) lengthof(values); i++)
		{
			char	   *key = oq_tag_index_key("customer", values[i], ID);

			k = s = id = NULL;
			CHECK(oq_tag_index_parse_key(key, &k, &s, &id) &&
				  strcmp(k, "customer") == 0 && strcmp(s, segment(values[i])) == 0 &&
				  strcmp(id, ID) == 0, "parse_key splits %s", key);
		}
		CHECK(!oq_tag_index_parse_key("tags/customer/acme", &k, &s, &id), "no id: refused");
		CHECK(!oq_tag_index_parse_key("tags/customer/acme/", &k, &s, &id), "empty id: refused");
		CHECK(!oq_tag_index_parse_key("tags//acme/" ID, &k, &s, &id), "empty key: refused");
		CHECK(!oq_tag_index_parse_key("tags/customer//" ID, &k, &s, &id), "empty segment: refused");
		CHECK(!oq_tag_index_parse_key("tags/customer/a/b/" ID, &k, &s, &id), "extra level: refused");
		CHECK(!oq_tag_index_parse_key("tasks/customer/acme/" ID, &k, &s, &id), "other prefix: refused");
		CHECK(!oq_tag_index_parse_key("tags/", &k, &s, &id), "bare prefix: refused");
		CHECK(!oq_tag_index_parse_key("", &k, &s, &id), "empty: refused");
	}

	/* ---- indexable keys, lookup ---- */
	{
		OqTag		tags[] = {{"customer", "acme"}, {"region", "us-west"}};

		CHECK(oq_tag_key_indexable("customer"), "a valid key is indexed");
		CHECK(oq_tag_key_indexable(repeat("k", 64)), "a 64-character key is indexed");
		CHECK(!oq_tag_key_indexable("Customer"), "an uppercase key is not");
		CHECK(!oq_tag_key_indexable("a/b"), "a key with '/' is not: it would leave its prefix");
		CHECK(!oq_tag_key_indexable(""), "the empty key is not");
		CHECK(!oq_tag_key_indexable("oq_x") && !oq_tag_key_indexable("_x"),
			  "reserved keys are not");
		CHECK(oq_tag_find(tags, 2, "region") == 1, "find: present");
		CHECK(oq_tag_find(tags, 2, "regio") == -1, "find: absent");
		CHECK(oq_tag_find(tags, 0, "customer") == -1, "find: empty list");
	}

	return unit_done();
}
