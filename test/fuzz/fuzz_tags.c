/*
 * fuzz_tags.c - tag rules, tag index keys, task object keys.
 *
 * The input is cut at 0x00 bytes into a tag key, a value, and a second
 * value (derived from the first when absent).  Properties:
 *
 *  - oq_tag_check() agrees with the rules as written again here: key of
 *    1-64 bytes of a-z 0-9 - _, not starting with "oq_" or "_"; value
 *    valid UTF-8 of at most 256 characters without LF or CR.  Its error
 *    message, when it refuses, is valid UTF-8 (it reaches ereport).
 *  - oq_tag_index_segment() never holds '/'; it is either the value
 *    UriEncoded with '~' encoded too (so it decodes back to the value) and
 *    1-512 bytes long, not "." or "..", or "~" and 64 hex digits, and the
 *    latter exactly when the former is not usable.  Distinct values give
 *    distinct segments.
 *  - oq_tag_index_key() of a valid key parses back with
 *    oq_tag_index_parse_key() into the key, the segment and the id; and
 *    what oq_tag_index_parse_key() accepts is tags/K/S/ID with no '/' in
 *    the parts.
 *  - oq_quote_for_message() writes valid UTF-8 of at most maxchars
 *    characters (then "...").
 *  - oq_task_key_parse() accepts exactly the keys oq_task_key() writes.
 */
#include "fuzz.h"

#include "keys.h"
#include "s3sign.h"
#include "tags.h"

static bool
reference_tag_ok(const char *key, const char *value)
{
	size_t		klen = strlen(key);
	int			nchars = 0;

	if (klen < 1 || klen > 64 || strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789-_") != klen)
		return false;
	if (key[0] == '_' || strncmp(key, "oq_", 3) == 0)
		return false;
	if (value == NULL || !fuzz_cstr_utf8_ok(value) || strpbrk(value, "\r\n"))
		return false;
	for (const unsigned char *p = (const unsigned char *) value; *p; p++)
		nchars += (*p & 0xC0) != 0x80;	/* count lead bytes */
	return nchars <= 256;
}

static void
check_tag(const char *key, const char *value)
{
	char	   *err = NULL;
	bool		ok = oq_tag_check(key, value, &err);

	FUZZ_CHECK(ok == reference_tag_ok(key, value),
			   "oq_tag_check(\"%s\", \"%s\") = %d", key, value ? value : "(null)", ok);
	if (!ok)
		FUZZ_CHECK(fuzz_cstr_utf8_ok(err), "error message is not valid UTF-8");
	FUZZ_CHECK(oq_tag_check(key, value, NULL) == ok, "result depends on errmsg");
}

static bool
is_hashed(const char *seg)
{
	return seg[0] == '~' && strlen(seg) == 65 &&
		strspn(seg + 1, "0123456789abcdef") == 64;
}

/* The segment of value, after checking what it may be */
static char *
check_segment(const char *value)
{
	StringInfoData buf;
	StringInfoData enc;
	char	   *seg;
	bool		usable;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "tags/k/");	/* appends, after a prefix */
	oq_tag_index_segment(&buf, value);
	seg = buf.data + strlen("tags/k/");
	FUZZ_CHECK(strncmp(buf.data, "tags/k/", 7) == 0, "prefix overwritten");
	FUZZ_CHECK(strlen(seg) == (size_t) buf.len - 7, "segment holds a NUL");
	FUZZ_CHECK(strchr(seg, '/') == NULL, "segment \"%s\" holds '/'", seg);

	/* the plain form: UriEncode, with '~' encoded as well */
	initStringInfo(&enc);
	for (const char *p = value; *p; p++)
	{
		if (*p == '~')
			appendStringInfoString(&enc, "%7E");
		else
			oq_uri_encode(&enc, p, 1, false);
	}
	usable = enc.len > 0 && enc.len <= OQ_TAG_SEGMENT_MAX_LEN &&
		strcmp(enc.data, ".") != 0 && strcmp(enc.data, "..") != 0;
	if (usable)
	{
		StringInfoData dec;

		FUZZ_CHECK(strcmp(seg, enc.data) == 0,
				   "segment \"%s\", expected \"%s\"", seg, enc.data);
		FUZZ_CHECK(strchr(seg, '~') == NULL, "plain segment holds '~'");
		initStringInfo(&dec);
		FUZZ_CHECK(oq_uri_decode(&dec, seg, strlen(seg)) &&
				   strcmp(dec.data, value) == 0, "segment does not decode to the value");
	}
	else
	{
		char		hex[65];

		FUZZ_CHECK(is_hashed(seg), "segment \"%.80s\" should be hashed", seg);
		oq_sha256_hex(value, strlen(value), hex);
		FUZZ_CHECK(strcmp(seg + 1, hex) == 0, "hashed segment is not sha256");
	}
	return seg;
}

static void
check_index_key(const char *key, const char *value)
{
	static const char *id = "0f4e3a1c-7a52-4f0e-9d7b-2f1c5a9e8b31";
	char	   *k = oq_tag_index_key(key, value, id);
	char	   *vp = oq_tag_index_value_prefix(key, value);
	char	   *kp = oq_tag_index_key_prefix(key);
	char	   *pk;
	char	   *ps;
	char	   *pid;

	FUZZ_CHECK(strlen(k) <= 1024, "index key longer than S3's 1024 bytes");
	FUZZ_CHECK(strncmp(k, vp, strlen(vp)) == 0 && strncmp(vp, kp, strlen(kp)) == 0,
			   "prefixes do not nest: %s, %s, %s", kp, vp, k);
	FUZZ_CHECK(oq_tag_index_parse_key(k, &pk, &ps, &pid),
			   "index key \"%s\" does not parse", k);
	FUZZ_CHECK(strcmp(pk, key) == 0 && strcmp(pid, id) == 0 &&
			   strncmp(vp + strlen(kp), ps, strlen(ps)) == 0,
			   "index key \"%s\" parses into %s / %s / %s", k, pk, ps, pid);
}

/* Whatever parses is tags/K/S/ID, each part non-empty and without '/' */
static void
check_parse_key(const char *s)
{
	char	   *k;
	char	   *seg;
	char	   *id;

	if (!oq_tag_index_parse_key(s, &k, &seg, &id))
		return;
	FUZZ_CHECK(k[0] && seg[0] && id[0] && !strchr(k, '/') && !strchr(seg, '/') &&
			   !strchr(id, '/'), "\"%s\" parsed into bad parts", s);
	FUZZ_CHECK(strcmp(psprintf("tags/%s/%s/%s", k, seg, id), s) == 0,
			   "\"%s\" parsed into %s / %s / %s", s, k, seg, id);
}

static void
check_quote(const uint8_t *data, size_t size, int maxchars)
{
	char	   *q = oq_quote_for_message((const char *) data, size, maxchars);
	size_t		n = strlen(q);
	int			nchars = 0;

	FUZZ_CHECK(fuzz_cstr_utf8_ok(q), "quoted text is not valid UTF-8");
	for (const unsigned char *p = (const unsigned char *) q; *p; p++)
		nchars += (*p & 0xC0) != 0x80;
	if (n >= 3 && strcmp(q + n - 3, "...") == 0 && nchars > maxchars)
		nchars -= 3;
	FUZZ_CHECK(nchars <= maxchars, "%d characters quoted for a limit of %d",
			   nchars, maxchars);
}

static void
check_task_key(const char *s, int prefix_len)
{
	char		id[OQ_UUID_LEN + 1];
	char	   *err = NULL;

	if (oq_task_key_parse(s, prefix_len, id, &err))
	{
		FUZZ_CHECK(oq_uuid_is_canonical(id, strlen(id)), "id \"%s\" not canonical", id);
		FUZZ_CHECK(strcmp(oq_task_key(id, prefix_len), s) == 0,
				   "\"%s\" parsed, but its id's key is %s", s,
				   oq_task_key(id, prefix_len));
	}
	else
		FUZZ_CHECK(err != NULL, "refused without a message");
	if (strlen(s) >= OQ_UUID_LEN && oq_uuid_is_canonical(s, OQ_UUID_LEN))
	{
		char	   *key = pnstrdup(s, OQ_UUID_LEN);

		FUZZ_CHECK(oq_task_key_parse(oq_task_key(key, prefix_len), prefix_len, id, NULL) &&
				   strcmp(id, key) == 0, "oq_task_key(%s) does not parse back", key);
		FUZZ_CHECK(strncmp(oq_ready_key(key, prefix_len, 1769603696), "ready/", 6) == 0,
				   "ready key");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FuzzInput	in = {data, size, 0};
	char	   *key = fuzz_piece(&in);
	char	   *value = fuzz_piece(&in);
	char	   *value2 = fuzz_piece(&in);
	char	   *seg1;
	char	   *seg2;

	if (key == NULL)
		key = pstrdup("");
	if (value == NULL)
		value = pstrdup("");
	if (value2 == NULL)
	{
		/* a near neighbour: the value with its last byte changed */
		size_t		n = strlen(value);

		value2 = psprintf("%s%c", value, n ? 'x' : '.');
		if (n > 0 && value[n - 1] != '~')
			value2[n - 1] = value[n - 1] == '%' ? '~' : '%';
	}

	check_tag(key, value);
	check_tag(key, NULL);
	check_tag(value, key);

	seg1 = check_segment(value);
	seg2 = check_segment(value2);
	FUZZ_CHECK((strcmp(value, value2) == 0) == (strcmp(seg1, seg2) == 0),
			   "values \"%s\" and \"%s\" have segments \"%s\" and \"%s\"",
			   value, value2, seg1, seg2);
	if (oq_tag_check(key, value, NULL))
		check_index_key(key, value);
	check_index_key("k", value);

	check_parse_key(key);
	check_parse_key(psprintf("tags/%s", key));
	check_quote(data, size, 0);
	check_quote(data, size, 1 + (size ? data[0] % 80 : 0));
	check_task_key(key, 1 + (size ? data[size - 1] % 4 : 0));

	fuzz_arena_reset();
	return 0;
}
