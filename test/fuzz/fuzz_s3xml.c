/*
 * fuzz_s3xml.c - the parsers of S3's XML replies.
 *
 * Two uses of each input.  First, the bytes are fed as they are to the
 * ListObjectsV2, ListObjectVersions and error parsers.  Properties:
 *
 *  - on failure a listing parser leaves the page zeroed and nothing
 *    palloc'd but its error message (s3xml.c frees the partial page), and
 *    the error parser leaves every field NULL and allocates nothing;
 *  - on success every key, prefix, StartAfter and NextKeyMarker is
 *    non-empty (keys) valid UTF-8, a truncated page has its continuation
 *    token or key marker, and a delete marker has no ETag and size 0.
 *
 * Second, the input is cut at 0x00 bytes into object keys, and listings
 * are written holding them: url-encoded (as with encoding-type=url, a space
 * sometimes as '+', the way AWS form-encodes) and raw (XML-escaped, some in
 * CDATA sections, and without EncodingType, so a '%' must stay).  The
 * parsers must return exactly those keys, in order, whenever they are
 * valid S3 keys (non-empty UTF-8; the raw listing also needs characters
 * XML can carry), and refuse the url-encoded listing otherwise.
 *
 * libxml2 and its documents are plain malloc: LeakSanitizer checks that
 * every document is freed.
 */
#include "fuzz.h"

#include "s3sign.h"
#include "s3xml.h"

#define NS "http://s3.amazonaws.com/doc/2006-03-01/"
#define MAX_KEYS 32

static bool
valid_text(const char *s, bool empty_ok)
{
	return s != NULL && (empty_ok || s[0] != '\0') && fuzz_cstr_utf8_ok(s);
}

static void
check_list(const char *xml, size_t len, bool url)
{
	OqS3ListPage page;
	char	   *errmsg = NULL;
	long		before = fuzz_arena_live();

	if (!oq_s3xml_parse_list(xml, len, url, &page, &errmsg))
	{
		FUZZ_CHECK(errmsg != NULL && valid_text(errmsg, false),
				   "listing refused without a valid message");
		FUZZ_CHECK(page.nobjects == 0 && page.objects == NULL &&
				   page.nprefixes == 0 && page.common_prefixes == NULL &&
				   page.next_continuation_token == NULL && page.start_after == NULL &&
				   !page.is_truncated, "refused listing left a page behind");
		FUZZ_CHECK(fuzz_arena_live() == before + 1,
				   "refused listing left %ld chunks allocated besides its message (%s)",
				   fuzz_arena_live() - before - 1, errmsg);
		return;
	}
	for (int i = 0; i < page.nobjects; i++)
	{
		FUZZ_CHECK(valid_text(page.objects[i].key, false),
				   "object %d has an empty or invalid key", i);
		FUZZ_CHECK(page.objects[i].size >= 0, "negative size");
	}
	for (int i = 0; i < page.nprefixes; i++)
		FUZZ_CHECK(valid_text(page.common_prefixes[i], false),
				   "common prefix %d is empty or invalid", i);
	FUZZ_CHECK(!page.is_truncated || valid_text(page.next_continuation_token, false),
			   "truncated listing without a token");
	FUZZ_CHECK(page.is_truncated || page.next_continuation_token == NULL,
			   "token on a complete listing");
	FUZZ_CHECK(page.start_after == NULL || valid_text(page.start_after, false),
			   "StartAfter is invalid");
}

static void
check_versions(const char *xml, size_t len, bool url)
{
	OqS3VersionPage page;
	char	   *errmsg = NULL;
	long		before = fuzz_arena_live();

	if (!oq_s3xml_parse_versions(xml, len, url, &page, &errmsg))
	{
		FUZZ_CHECK(errmsg != NULL && valid_text(errmsg, false),
				   "version listing refused without a valid message");
		FUZZ_CHECK(page.nversions == 0 && page.versions == NULL &&
				   page.next_key_marker == NULL && page.next_version_id_marker == NULL &&
				   !page.is_truncated, "refused version listing left a page behind");
		FUZZ_CHECK(fuzz_arena_live() == before + 1,
				   "refused version listing left %ld chunks allocated besides its message (%s)",
				   fuzz_arena_live() - before - 1, errmsg);
		return;
	}
	for (int i = 0; i < page.nversions; i++)
	{
		OqS3Version *v = &page.versions[i];

		FUZZ_CHECK(valid_text(v->key, false), "version %d has an invalid key", i);
		FUZZ_CHECK(v->version_id != NULL && v->version_id[0] != '\0',
				   "version %d has no version id", i);
		FUZZ_CHECK(!v->is_delete_marker || (v->etag == NULL && v->size == 0),
				   "delete marker %d has an ETag or a size", i);
		FUZZ_CHECK(v->size >= 0, "negative size");
	}
	FUZZ_CHECK(!page.is_truncated || valid_text(page.next_key_marker, false),
			   "truncated version listing without a valid key marker");
}

static void
check_error(const char *xml, size_t len)
{
	OqS3Error	err;
	long		before = fuzz_arena_live();

	if (!oq_s3xml_parse_error(xml, len, &err))
	{
		FUZZ_CHECK(err.code == NULL && err.message == NULL && err.request_id == NULL &&
				   err.key == NULL && err.bucket_name == NULL,
				   "refused error body left fields set");
		FUZZ_CHECK(fuzz_arena_live() == before, "refused error body left memory");
		return;
	}
	/* empty elements read as absent */
	FUZZ_CHECK(err.code == NULL || valid_text(err.code, false), "bad Code");
	FUZZ_CHECK(err.message == NULL || valid_text(err.message, false), "bad Message");
	FUZZ_CHECK(err.request_id == NULL || valid_text(err.request_id, false), "bad RequestId");
}

/* ---------- listings written from keys ---------- */

/* Characters XML 1.0 can carry at all (as text or as a character reference) */
static bool
xml_can_carry(const char *s)
{
	const unsigned char *p = (const unsigned char *) s;

	for (; *p; p++)
	{
		if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
			return false;
		/* U+FFFE and U+FFFF: EF BF BE / EF BF BF */
		if (p[0] == 0xEF && p[1] == 0xBF && (p[2] == 0xBE || p[2] == 0xBF))
			return false;
	}
	return true;
}

static void
append_xml_escaped(StringInfo buf, const char *s, bool cdata)
{
	if (cdata && strstr(s, "]]>") == NULL && strchr(s, '\r') == NULL)
	{
		appendStringInfo(buf, "<![CDATA[%s]]>", s);
		return;
	}
	for (; *s; s++)
	{
		switch (*s)
		{
			case '&':
				appendStringInfoString(buf, "&amp;");
				break;
			case '<':
				appendStringInfoString(buf, "&lt;");
				break;
			case '>':
				appendStringInfoString(buf, "&gt;");
				break;
			case '\r':			/* a literal CR would read as LF */
				appendStringInfoString(buf, "&#13;");
				break;
			default:
				appendStringInfoChar(buf, *s);
		}
	}
}

/* S3's encoding-type=url: %XX, '/' kept, a space as '+' when plus */
static void
append_url_encoded(StringInfo buf, const char *s, bool plus)
{
	for (; *s; s++)
	{
		if (*s == ' ' && plus)
			appendStringInfoChar(buf, '+');
		else
			oq_uri_encode(buf, s, 1, true);
	}
}

static void
check_written(char **keys, int nkeys, uint8_t flags)
{
	bool		all_valid = true;
	bool		all_carried = true;
	StringInfoData enc;
	StringInfoData raw;
	StringInfoData ver;
	OqS3ListPage page;
	OqS3VersionPage vpage;
	char	   *errmsg;

	for (int i = 0; i < nkeys; i++)
	{
		all_valid &= valid_text(keys[i], false);
		all_carried &= xml_can_carry(keys[i]);
	}

	initStringInfo(&enc);
	initStringInfo(&raw);
	initStringInfo(&ver);
	appendStringInfoString(&enc, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
						   "<ListBucketResult xmlns=\"" NS "\"><Name>b</Name>"
						   "<EncodingType>url</EncodingType>");
	/* AWS's namespace, or none (as other servers send) */
	appendStringInfo(&raw, "<ListBucketResult%s>", (flags & 1) ? " xmlns=\"" NS "\"" : "");
	appendStringInfo(&ver, "<ListVersionsResult xmlns=\"" NS "\">%s",
					 (flags & 2) ? "" : "<EncodingType>url</EncodingType>");
	for (int i = 0; i < nkeys; i++)
	{
		appendStringInfoString(&enc, "<Contents><Key>");
		append_url_encoded(&enc, keys[i], (flags & 4) != 0);
		appendStringInfo(&enc, "</Key><Size>%d</Size><ETag>&quot;e%d&quot;</ETag></Contents>", i, i);

		appendStringInfoString(&raw, "<Contents>\n  <Key>");
		append_xml_escaped(&raw, keys[i], i % 2 == 1);
		appendStringInfo(&raw, "</Key>\n  <Size>%d</Size>\n</Contents>\n", i);

		appendStringInfo(&ver, "<%s><Key>", i % 3 == 2 ? "DeleteMarker" : "Version");
		if (flags & 2)
			append_xml_escaped(&ver, keys[i], false);
		else
			append_url_encoded(&ver, keys[i], false);
		appendStringInfo(&ver, "</Key><VersionId>v%d</VersionId><IsLatest>%s</IsLatest>%s</%s>",
						 i, i == 0 ? "true" : "false",
						 i % 3 == 2 ? "" : "<Size>7</Size>",
						 i % 3 == 2 ? "DeleteMarker" : "Version");
	}
	appendStringInfoString(&enc, "<IsTruncated>true</IsTruncated>"
						   "<NextContinuationToken>1%2F+x==</NextContinuationToken>"
						   "</ListBucketResult>");
	appendStringInfoString(&raw, "</ListBucketResult>");
	appendStringInfoString(&ver, "<IsTruncated>false</IsTruncated></ListVersionsResult>");

	errmsg = NULL;
	if (oq_s3xml_parse_list(enc.data, enc.len, true, &page, &errmsg))
	{
		FUZZ_CHECK(all_valid, "url-encoded listing with an invalid key accepted");
		FUZZ_CHECK(page.nobjects == nkeys, "%d keys written, %d read", nkeys, page.nobjects);
		for (int i = 0; i < nkeys; i++)
			FUZZ_CHECK(strcmp(page.objects[i].key, keys[i]) == 0 &&
					   page.objects[i].size == i &&
					   fuzz_streq(page.objects[i].etag, psprintf("e%d", i)),
					   "url-encoded key %d: wrote \"%s\", read \"%s\"", i, keys[i],
					   page.objects[i].key);
		/* the token is opaque: never decoded */
		FUZZ_CHECK(fuzz_streq(page.next_continuation_token, "1%2F+x=="),
				   "continuation token changed: %s", page.next_continuation_token);
	}
	else
		FUZZ_CHECK(!all_valid, "url-encoded listing of valid keys refused: %s", errmsg);

	if (all_valid && all_carried)
	{
		errmsg = NULL;
		FUZZ_CHECK(oq_s3xml_parse_list(raw.data, raw.len, (flags & 8) != 0, &page, &errmsg),
				   "raw listing refused: %s", errmsg);
		FUZZ_CHECK(page.nobjects == nkeys && !page.is_truncated,
				   "%d raw keys written, %d read", nkeys, page.nobjects);
		for (int i = 0; i < nkeys; i++)
			FUZZ_CHECK(strcmp(page.objects[i].key, keys[i]) == 0,
					   "raw key %d: wrote \"%s\", read \"%s\"", i, keys[i],
					   page.objects[i].key);
	}

	if (all_valid && (all_carried || !(flags & 2)))
	{
		errmsg = NULL;
		FUZZ_CHECK(oq_s3xml_parse_versions(ver.data, ver.len, true, &vpage, &errmsg),
				   "version listing refused: %s", errmsg);
		FUZZ_CHECK(vpage.nversions == nkeys, "%d versions written, %d read",
				   nkeys, vpage.nversions);
		for (int i = 0; i < nkeys; i++)
			FUZZ_CHECK(strcmp(vpage.versions[i].key, keys[i]) == 0 &&
					   vpage.versions[i].is_delete_marker == (i % 3 == 2) &&
					   vpage.versions[i].is_latest == (i == 0),
					   "version %d: wrote \"%s\", read \"%s\"", i, keys[i],
					   vpage.versions[i].key);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FuzzInput	in = {data, size, 0};
	char	   *keys[MAX_KEYS];
	int			nkeys = 0;
	char	   *piece;
	bool		url = size > 0 && (data[0] & 1);

	check_list((const char *) data, size, url);
	check_versions((const char *) data, size, url);
	check_error((const char *) data, size);

	while (nkeys < MAX_KEYS && (piece = fuzz_piece(&in)) != NULL)
		keys[nkeys++] = piece;
	check_written(keys, nkeys, size > 0 ? data[size - 1] : 0);

	fuzz_arena_reset();
	return 0;
}
