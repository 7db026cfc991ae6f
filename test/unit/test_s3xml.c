/*
 * test_s3xml.c - unit tests of src/s3xml.c: S3 listings and error bodies as
 * AWS, Ceph RGW and moto send them, hostile documents (external entities,
 * broken XML, garbage numbers), and the url-encoded key forms.
 *
 * Everything returned is freed, so that a SANITIZE=1 run also proves the
 * parser leaks nothing, libxml2 memory included.
 */
#include "postgres_fe.h"

#include <stdlib.h>
#include <unistd.h>

#include <libxml/xmlerror.h>

#include "lib/stringinfo.h"
#include "s3xml.h"
#include "unit.h"

#define NS "http://s3.amazonaws.com/doc/2006-03-01/"
#define XMLDECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define LIST(body) XMLDECL "<ListBucketResult xmlns=\"" NS "\">" body "</ListBucketResult>"
#define VERSIONS(body) XMLDECL "<ListVersionsResult xmlns=\"" NS "\">" body "</ListVersionsResult>"
#define URL "<EncodingType>url</EncodingType>"
#define OBJ(key, size) "<Contents><Key>" key "</Key><Size>" size "</Size></Contents>"

/* list_fails(): take the length of the NUL-terminated document */
#define STRLEN ((size_t) -1)

/* A marker put into hostile documents: it must never reach an errmsg */
#define SECRET "SECRETDOC"

static void
free_list(OqS3ListPage *page)
{
	for (int i = 0; i < page->nobjects; i++)
	{
		pfree(page->objects[i].key);
		if (page->objects[i].etag)
			pfree(page->objects[i].etag);
		if (page->objects[i].last_modified)
			pfree(page->objects[i].last_modified);
	}
	for (int i = 0; i < page->nprefixes; i++)
		pfree(page->common_prefixes[i]);
	if (page->objects)
		pfree(page->objects);
	if (page->common_prefixes)
		pfree(page->common_prefixes);
	if (page->next_continuation_token)
		pfree(page->next_continuation_token);
	if (page->start_after)
		pfree(page->start_after);
}

static void
free_versions(OqS3VersionPage *page)
{
	for (int i = 0; i < page->nversions; i++)
	{
		OqS3Version *v = &page->versions[i];

		pfree(v->key);
		pfree(v->version_id);
		if (v->etag)
			pfree(v->etag);
		if (v->last_modified)
			pfree(v->last_modified);
	}
	if (page->versions)
		pfree(page->versions);
	if (page->next_key_marker)
		pfree(page->next_key_marker);
	if (page->next_version_id_marker)
		pfree(page->next_version_id_marker);
}

static void
free_error(OqS3Error *err)
{
	char	   *fields[] = {err->code, err->message, err->request_id,
	err->key, err->bucket_name};

	for (int i = 0; i < (int) lengthof(fields); i++)
		if (fields[i])
			pfree(fields[i]);
}

static bool
list_ok(const char *what, const char *xml, bool url, OqS3ListPage *page)
{
	char	   *errmsg = NULL;
	bool		ok = oq_s3xml_parse_list(xml, strlen(xml), url, page, &errmsg);

	CHECK(ok, "%s: parses", what);
	if (!ok)
		printf("#   errmsg: %s\n", errmsg ? errmsg : "(null)");
	if (errmsg)
		pfree(errmsg);
	return ok;
}

/* The listing must be refused with exactly 'want', naming no document text */
static void
list_fails(const char *what, const char *xml, size_t len, const char *want)
{
	OqS3ListPage page;
	char	   *errmsg = NULL;
	bool		ok;

	if (len == STRLEN)
		len = strlen(xml);
	ok = oq_s3xml_parse_list(xml, len, true, &page, &errmsg);
	CHECK(!ok, "%s: refused", what);
	CHECK_STR(errmsg, want, "%s: errmsg", what);
	CHECK(errmsg == NULL || (strstr(errmsg, SECRET) == NULL &&
							 strstr(errmsg, "root:") == NULL),
		  "%s: errmsg holds no document text", what);
	CHECK(page.nobjects == 0 && page.objects == NULL && page.nprefixes == 0 &&
		  page.next_continuation_token == NULL && page.start_after == NULL,
		  "%s: page left empty", what);
	if (ok)
		free_list(&page);
	if (errmsg)
		pfree(errmsg);
}

static bool
versions_ok(const char *what, const char *xml, bool url, OqS3VersionPage *page)
{
	char	   *errmsg = NULL;
	bool		ok = oq_s3xml_parse_versions(xml, strlen(xml), url, page, &errmsg);

	CHECK(ok, "%s: parses", what);
	if (!ok)
		printf("#   errmsg: %s\n", errmsg ? errmsg : "(null)");
	if (errmsg)
		pfree(errmsg);
	return ok;
}

static void
versions_fail(const char *what, const char *xml, const char *want)
{
	OqS3VersionPage page;
	char	   *errmsg = NULL;
	bool		ok = oq_s3xml_parse_versions(xml, strlen(xml), true, &page,
											 &errmsg);

	CHECK(!ok, "%s: refused", what);
	CHECK_STR(errmsg, want, "%s: errmsg", what);
	CHECK(errmsg == NULL || strstr(errmsg, SECRET) == NULL,
		  "%s: errmsg holds no document text", what);
	CHECK(page.nversions == 0 && page.versions == NULL &&
		  page.next_key_marker == NULL, "%s: page left empty", what);
	if (ok)
		free_versions(&page);
	if (errmsg)
		pfree(errmsg);
}

/* The body is not an S3 error document: false, every field NULL */
static void
error_not_parsed(const char *what, const char *xml, size_t len)
{
	OqS3Error	err;
	bool		ok = oq_s3xml_parse_error(xml, len, &err);

	CHECK(!ok, "error body %s: not an error document", what);
	CHECK(err.code == NULL && err.message == NULL && err.request_id == NULL &&
		  err.key == NULL && err.bucket_name == NULL,
		  "error body %s: fields NULL", what);
	if (ok)
		free_error(&err);
}

static void
test_aws_listing(void)
{
	/* As AWS sends it, pretty-printed, with elements we do not read */
	const char *xml = XMLDECL
		"<ListBucketResult xmlns=\"" NS "\">\n"
		"  <Name>oq-bucket</Name>\n"
		"  <Prefix>tasks/</Prefix>\n"
		"  <KeyCount>2</KeyCount>\n"
		"  <MaxKeys>1000</MaxKeys>\n"
		"  <IsTruncated>false</IsTruncated>\n"
		"  <Contents>\n"
		"    <Key>tasks/0a/0a1b2c3d-0000-4000-8000-000000000001.json</Key>\n"
		"    <LastModified>2026-01-28T12:34:56.000Z</LastModified>\n"
		"    <ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag>\n"
		"    <ChecksumAlgorithm>CRC64NVME</ChecksumAlgorithm>\n"
		"    <Size>1234</Size>\n"
		"    <Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID></Owner>\n"
		"    <StorageClass>STANDARD</StorageClass>\n"
		"  </Contents>\n"
		"  <Contents>\n"
		"    <Key>tasks/ff/ff000000-0000-4000-8000-000000000002.json</Key>\n"
		"    <LastModified>2026-01-28T12:35:00.000Z</LastModified>\n"
		"    <ETag>\"d41d8cd98f00b204e9800998ecf8427e-2\"</ETag>\n"
		"    <Size>0</Size>\n"
		"    <StorageClass>STANDARD</StorageClass>\n"
		"  </Contents>\n"
		"</ListBucketResult>\n";
	OqS3ListPage page;

	if (!list_ok("AWS listing", xml, true, &page))
		return;
	CHECK(page.nobjects == 2, "AWS listing: 2 objects");
	CHECK_STR(page.objects[0].key,
			  "tasks/0a/0a1b2c3d-0000-4000-8000-000000000001.json",
			  "AWS listing: key 0");
	CHECK_STR(page.objects[0].etag, "9b2cf535f27731c974343645a3985328",
			  "AWS listing: ETag sent as &quot; loses its quotes");
	CHECK(page.objects[0].size == 1234, "AWS listing: size of object 0");
	CHECK_STR(page.objects[0].last_modified, "2026-01-28T12:34:56.000Z",
			  "AWS listing: LastModified as sent");
	CHECK_STR(page.objects[1].key,
			  "tasks/ff/ff000000-0000-4000-8000-000000000002.json",
			  "AWS listing: key 1");
	CHECK_STR(page.objects[1].etag, "d41d8cd98f00b204e9800998ecf8427e-2",
			  "AWS listing: multipart ETag loses its quotes");
	CHECK(page.objects[1].size == 0, "AWS listing: size of object 1");
	CHECK(page.nprefixes == 0 && page.common_prefixes == NULL,
		  "AWS listing: no common prefixes");
	CHECK(!page.is_truncated && page.next_continuation_token == NULL,
		  "AWS listing: not truncated, no token");
	CHECK(page.start_after == NULL, "AWS listing: no StartAfter");
	free_list(&page);
}

static void
test_namespaces(void)
{
	OqS3ListPage page;

	/* Some servers send no namespace at all */
	if (list_ok("no namespace",
				"<ListBucketResult><IsTruncated>false</IsTruncated>"
				"<Contents><Key>a</Key><ETag>e1</ETag><Size>7</Size></Contents>"
				"</ListBucketResult>", false, &page))
	{
		CHECK(page.nobjects == 1 && strcmp(page.objects[0].key, "a") == 0 &&
			  page.objects[0].size == 7, "no namespace: the object is read");
		CHECK_STR(page.objects[0].etag, "e1", "no namespace: unquoted ETag kept");
		CHECK(page.objects[0].last_modified == NULL,
			  "no namespace: absent LastModified is NULL");
		free_list(&page);
	}

	/* A prefixed namespace: matched by local name too */
	if (list_ok("prefixed namespace",
				"<s3:ListBucketResult xmlns:s3=\"" NS "\">"
				"<s3:IsTruncated>true</s3:IsTruncated>"
				"<s3:NextContinuationToken>tok</s3:NextContinuationToken>"
				"<s3:Contents><s3:Key>b</s3:Key><s3:Size>1</s3:Size></s3:Contents>"
				"</s3:ListBucketResult>", false, &page))
	{
		CHECK(page.nobjects == 1 && strcmp(page.objects[0].key, "b") == 0,
			  "prefixed namespace: the object is read");
		CHECK(page.is_truncated, "prefixed namespace: truncated");
		CHECK_STR(page.next_continuation_token, "tok",
				  "prefixed namespace: token");
		free_list(&page);
	}
}

static void
test_empty_listing(void)
{
	OqS3ListPage page;

	if (!list_ok("empty listing",
				 LIST("<Name>oq-bucket</Name><Prefix>ready/</Prefix>"
					  "<KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys>"
					  "<IsTruncated>false</IsTruncated>"), true, &page))
		return;
	CHECK(page.nobjects == 0 && page.objects == NULL, "empty listing: no objects");
	CHECK(page.nprefixes == 0 && page.common_prefixes == NULL,
		  "empty listing: no prefixes");
	CHECK(!page.is_truncated && page.next_continuation_token == NULL,
		  "empty listing: not truncated");
	free_list(&page);

	/* moto's form: <Prefix/>, no IsTruncated at all means not truncated */
	if (list_ok("empty listing, moto form",
				LIST("<Name>b</Name><Prefix/><MaxKeys>1000</MaxKeys>"
					 "<KeyCount>0</KeyCount>"), false, &page))
	{
		CHECK(page.nobjects == 0 && !page.is_truncated,
			  "empty listing, moto form: empty");
		free_list(&page);
	}
}

static void
test_truncated(void)
{
	OqS3ListPage page;

	/* AWS tokens hold '/', '+' and '='; kept as sent, even under url */
	if (list_ok("truncated AWS page",
				LIST(URL "<KeyCount>1</KeyCount><MaxKeys>1</MaxKeys>"
					 "<IsTruncated>true</IsTruncated>"
					 "<ContinuationToken>prev+/=</ContinuationToken>"
					 "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM+a%2F=</NextContinuationToken>"
					 OBJ("k", "1")), true, &page))
	{
		CHECK(page.is_truncated, "truncated AWS page: truncated");
		CHECK_STR(page.next_continuation_token,
				  "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM+a%2F=",
				  "truncated AWS page: token verbatim, never decoded");
		free_list(&page);
	}

	/* RGW uses the last key: spaces, also leading and trailing, non-ASCII */
	if (list_ok("truncated RGW page",
				LIST("<IsTruncated>true</IsTruncated>"
					 "<NextContinuationToken> tags/a b+c/Café &amp; x </NextContinuationToken>"
					 OBJ("k", "1")), true, &page))
	{
		CHECK_STR(page.next_continuation_token, " tags/a b+c/Café & x ",
				  "truncated RGW page: token verbatim, spaces kept");
		free_list(&page);
	}

	/* A token on a last page is ignored: NULL unless truncated */
	if (list_ok("last page with a token",
				LIST("<IsTruncated>false</IsTruncated>"
					 "<NextContinuationToken>x</NextContinuationToken>"),
				false, &page))
	{
		CHECK(page.next_continuation_token == NULL,
			  "last page with a token: token NULL");
		free_list(&page);
	}

	if (list_ok("IsTruncated in capitals",
				LIST("<IsTruncated>True</IsTruncated>"
					 "<NextContinuationToken>t</NextContinuationToken>"),
				false, &page))
	{
		CHECK(page.is_truncated, "IsTruncated in capitals: truncated");
		free_list(&page);
	}

	/* A client would stop early or loop forever on these */
	list_fails("truncated without a token",
			   LIST("<IsTruncated>true</IsTruncated>" OBJ("k", "1")), STRLEN,
			   "ListBucketResult is truncated but has no NextContinuationToken");
}

static void
test_entities_and_utf8(void)
{
	OqS3ListPage page;

	if (!list_ok("XML entities in keys",
				 LIST("<IsTruncated>false</IsTruncated>"
					  OBJ("a&amp;b&lt;c&gt;d&quot;e&apos;f&#x4E2D;&#20013;", "1")
					  OBJ("<![CDATA[cdata<&>key]]>", "2")
					  OBJ("données/日本語/ключ.json", "3")
					  OBJ(" spaced key ", "4")
					  OBJ("a\"b'c", "5")), false, &page))
		return;
	CHECK(page.nobjects == 5, "XML entities in keys: 5 objects");
	CHECK_STR(page.objects[0].key, "a&b<c>d\"e'f中中",
			  "predefined entities and character references expanded");
	CHECK_STR(page.objects[1].key, "cdata<&>key", "CDATA key read");
	CHECK_STR(page.objects[2].key, "données/日本語/ключ.json",
			  "non-ASCII UTF-8 key");
	CHECK_STR(page.objects[3].key, " spaced key ",
			  "leading and trailing spaces kept");
	CHECK_STR(page.objects[4].key, "a\"b'c", "raw quotes in a key");
	free_list(&page);

	/* Declared in another encoding: libxml2 converts, we return UTF-8 */
	{
		const char *latin1 = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"
			"<ListBucketResult><Contents><Key>caf\xe9</Key><Size>1</Size>"
			"</Contents></ListBucketResult>";

		if (list_ok("ISO-8859-1 document", latin1, false, &page))
		{
			CHECK_STR(page.objects[0].key, "café",
					  "ISO-8859-1 document: key returned as UTF-8");
			free_list(&page);
		}
	}
}

static void
test_url_encoded(void)
{
	OqS3ListPage page;

	if (!list_ok("url-encoded listing",
				 LIST(URL "<Prefix>tags%2F</Prefix><Delimiter>%2F</Delimiter>"
					  "<StartAfter>tags%2Fx%20y%2B+z</StartAfter>"
					  "<IsTruncated>true</IsTruncated>"
					  "<NextContinuationToken>a%20b+c</NextContinuationToken>"
					  OBJ("tags/customer/Caf%C3%A9%20%2F%20x/abc", "1")
					  OBJ("a+b.txt", "2")
					  OBJ("a%2Bb.txt", "3")
					  OBJ("100%25.csv", "4")
					  OBJ("%ED%95%9C%EA%B8%80/x.txt", "5")
					  OBJ("tags/t/Caf%25C3%25A9/id", "6")
					  OBJ("ctl%01%0A%0D", "7")
					  "<CommonPrefixes><Prefix>run+books/</Prefix></CommonPrefixes>"
					  "<CommonPrefixes><Prefix>%ED%95%9C%EA%B8%80/</Prefix></CommonPrefixes>"),
				 true, &page))
		return;
	CHECK(page.nobjects == 7, "url-encoded listing: 7 objects");
	CHECK_STR(page.objects[0].key, "tags/customer/Café / x/abc",
			  "url-encoded: %%C3%%A9, %%20 and %%2F decoded");
	CHECK_STR(page.objects[1].key, "a b.txt", "url-encoded: AWS '+' is a space");
	CHECK_STR(page.objects[2].key, "a+b.txt", "url-encoded: %%2B is a '+'");
	CHECK_STR(page.objects[3].key, "100%.csv", "url-encoded: %%25 is a '%%'");
	CHECK_STR(page.objects[4].key, "한글/x.txt", "url-encoded: non-ASCII");
	CHECK_STR(page.objects[5].key, "tags/t/Caf%C3%A9/id",
			  "url-encoded: decoded once only");
	CHECK_STR(page.objects[6].key, "ctl\x01\n\r",
			  "url-encoded: control characters XML cannot carry");
	CHECK(page.nprefixes == 2, "url-encoded: 2 common prefixes");
	CHECK_STR(page.common_prefixes[0], "run books/",
			  "url-encoded: common prefix decoded ('+')");
	CHECK_STR(page.common_prefixes[1], "한글/",
			  "url-encoded: common prefix decoded (%%XX)");
	CHECK_STR(page.start_after, "tags/x y+ z", "url-encoded: StartAfter decoded");
	CHECK_STR(page.next_continuation_token, "a%20b+c",
			  "url-encoded: continuation token not decoded");
	free_list(&page);

	/*
	 * The request asked for url encoding but the reply has no EncodingType:
	 * the server ignored it and sent raw keys, which must stay as they are.
	 */
	if (list_ok("url asked, not honoured",
				LIST("<IsTruncated>false</IsTruncated>"
					 OBJ("k +x%zz%", "1")
					 "<CommonPrefixes><Prefix>a+b%/</Prefix></CommonPrefixes>"),
				true, &page))
	{
		CHECK_STR(page.objects[0].key, "k +x%zz%",
				  "url asked, not honoured: key verbatim");
		CHECK_STR(page.common_prefixes[0], "a+b%/",
				  "url asked, not honoured: prefix verbatim");
		free_list(&page);
	}

	/* The reply says url although the caller did not ask: still decoded */
	if (list_ok("url not asked, sent anyway",
				LIST("<EncodingType>URL</EncodingType>" OBJ("a%20b", "1")),
				false, &page))
	{
		CHECK_STR(page.objects[0].key, "a b",
				  "url not asked, sent anyway: decoded");
		free_list(&page);
	}

#define BAD_KEY "ListBucketResult has a Contents entry whose Key is not validly percent-encoded"
	list_fails("bad escape %G1", LIST(URL OBJ(SECRET "%G1", "1")), STRLEN, BAD_KEY);
	list_fails("truncated escape %4", LIST(URL OBJ(SECRET "%4", "1")), STRLEN, BAD_KEY);
	list_fails("trailing %", LIST(URL OBJ(SECRET "%", "1")), STRLEN, BAD_KEY);
	list_fails("escaped NUL", LIST(URL OBJ(SECRET "%00x", "1")), STRLEN, BAD_KEY);
	list_fails("escape giving invalid UTF-8",
			   LIST(URL OBJ(SECRET "%C3%28", "1")), STRLEN, BAD_KEY);
	list_fails("bad escape in a common prefix",
			   LIST(URL "<CommonPrefixes><Prefix>" SECRET "%zz/</Prefix></CommonPrefixes>"),
			   STRLEN,
			   "ListBucketResult has a CommonPrefixes Prefix that is not validly percent-encoded");
	list_fails("bad escape in StartAfter",
			   LIST(URL "<StartAfter>" SECRET "%</StartAfter>"), STRLEN,
			   "ListBucketResult has a StartAfter that is not validly percent-encoded");
}

static void
test_common_prefixes_and_etags(void)
{
	OqS3ListPage page;

	if (list_ok("common prefixes",
				LIST("<Prefix>tags/</Prefix><Delimiter>/</Delimiter>"
					 "<IsTruncated>false</IsTruncated>"
					 "<CommonPrefixes><Prefix>tags/customer/</Prefix></CommonPrefixes>"
					 "<CommonPrefixes><Prefix>tags/priority/</Prefix></CommonPrefixes>"),
				false, &page))
	{
		CHECK(page.nobjects == 0 && page.nprefixes == 2,
			  "common prefixes: 2 prefixes, no objects");
		CHECK_STR(page.common_prefixes[0], "tags/customer/", "common prefix 0");
		CHECK_STR(page.common_prefixes[1], "tags/priority/", "common prefix 1");
		free_list(&page);
	}

	if (list_ok("ETag forms",
				LIST("<Contents><Key>q</Key><ETag>\"abc\"</ETag><Size>1</Size></Contents>"
					 "<Contents><Key>u</Key><ETag>abc</ETag><Size>1</Size></Contents>"
					 "<Contents><Key>e</Key><ETag>&quot;abc-2&quot;</ETag><Size>1</Size></Contents>"
					 "<Contents><Key>n</Key><Size>1</Size></Contents>"
					 "<Contents><Key>x</Key><ETag></ETag><Size>1</Size></Contents>"
					 "<Contents><Key>h</Key><ETag>\"</ETag><Size>1</Size></Contents>"),
				false, &page))
	{
		CHECK_STR(page.objects[0].etag, "abc", "ETag with quotes");
		CHECK_STR(page.objects[1].etag, "abc", "ETag without quotes");
		CHECK_STR(page.objects[2].etag, "abc-2", "ETag with &quot; entities");
		CHECK(page.objects[3].etag == NULL, "absent ETag is NULL");
		CHECK(page.objects[4].etag == NULL, "empty ETag is NULL");
		CHECK_STR(page.objects[5].etag, "\"", "a lone quote is not stripped");
		free_list(&page);
	}

	list_fails("common prefix without Prefix",
			   LIST("<CommonPrefixes></CommonPrefixes>"), STRLEN,
			   "ListBucketResult has a CommonPrefixes entry without a Prefix");
	list_fails("common prefix with an empty Prefix",
			   LIST("<CommonPrefixes><Prefix/></CommonPrefixes>"), STRLEN,
			   "ListBucketResult has a CommonPrefixes entry without a Prefix");
}

static void
test_sizes_and_fields(void)
{
	OqS3ListPage page;

#define BAD_SIZE "ListBucketResult has a Contents entry with a missing or invalid Size"
	if (list_ok("largest Size",
				LIST(OBJ("k", "9223372036854775807") OBJ("z", "000")), false,
				&page))
	{
		CHECK(page.objects[0].size == PG_INT64_MAX, "Size of 2^63-1 read");
		CHECK(page.objects[1].size == 0, "Size with leading zeros read");
		free_list(&page);
	}
	list_fails("Size 2^63", LIST(OBJ("k", "9223372036854775808")), STRLEN, BAD_SIZE);
	list_fails("huge Size", LIST(OBJ("k", "99999999999999999999999999999999")),
			   STRLEN, BAD_SIZE);
	list_fails("garbage Size", LIST(OBJ("k", "12" SECRET)), STRLEN, BAD_SIZE);
	list_fails("negative Size", LIST(OBJ("k", "-1")), STRLEN, BAD_SIZE);
	list_fails("Size with a plus", LIST(OBJ("k", "+1")), STRLEN, BAD_SIZE);
	list_fails("Size with a space", LIST(OBJ("k", " 12")), STRLEN, BAD_SIZE);
	list_fails("hex Size", LIST(OBJ("k", "0x10")), STRLEN, BAD_SIZE);
	list_fails("float Size", LIST(OBJ("k", "1e3")), STRLEN, BAD_SIZE);
	list_fails("empty Size", LIST(OBJ("k", "")), STRLEN, BAD_SIZE);
	list_fails("missing Size", LIST("<Contents><Key>k</Key></Contents>"),
			   STRLEN, BAD_SIZE);

	list_fails("Contents without a Key",
			   LIST(OBJ("a", "1") "<Contents><Size>1</Size><ETag>" SECRET "</ETag></Contents>"),
			   STRLEN, "ListBucketResult has a Contents entry without a Key");
	list_fails("Contents with an empty Key", LIST(OBJ("", "1")), STRLEN,
			   "ListBucketResult has a Contents entry without a Key");
	list_fails("garbage IsTruncated", LIST("<IsTruncated>" SECRET "</IsTruncated>"),
			   STRLEN, "ListBucketResult has an invalid IsTruncated");
}

static void
test_not_a_listing(void)
{
	const char *truncated = LIST(OBJ("a", "1") OBJ("b", "2"));

#define NOT_XML "S3 listing is not valid XML"
	list_fails("empty body", "", 0, "S3 listing is empty");
	list_fails("NULL body", NULL, 0, "S3 listing is empty");
	list_fails("plain text", "not xml " SECRET, STRLEN, NOT_XML);
	list_fails("truncated document", truncated, strlen(truncated) - 30, NOT_XML);
	list_fails("cut after the root start tag", truncated, 120, NOT_XML);
	list_fails("mismatched tags", LIST("<Contents><Key>a</Size></Contents>"),
			   STRLEN, NOT_XML);
	list_fails("undeclared entity", LIST(OBJ("&" SECRET ";", "1")), STRLEN,
			   NOT_XML);
	list_fails("HTML error page",
			   "<html><body><h1>502 Bad Gateway</h1><br></body></html>",
			   STRLEN, NOT_XML);
	list_fails("garbage after the root", LIST("") "<x/>", STRLEN, NOT_XML);
	{
		/* NUL byte inside the body: never read as end of document */
		char		buf[] = "<ListBucketResult><Contents><Key>a\0b</Key><Size>1</Size></Contents></ListBucketResult>";

		list_fails("NUL byte in the body", buf, sizeof(buf) - 1, NOT_XML);
	}
	list_fails("an Error document",
			   XMLDECL "<Error><Code>AccessDenied</Code><Message>" SECRET "</Message></Error>",
			   STRLEN, "S3 listing is not a ListBucketResult document");
	list_fails("a versions listing", VERSIONS(""), STRLEN,
			   "S3 listing is not a ListBucketResult document");
}

/*
 * External entities must never be loaded or expanded.  The DOCTYPE is
 * refused outright; the documents point at a file holding a marker and at
 * /etc/passwd, and neither may show up anywhere.
 */
static void
test_doctype_and_entities(void)
{
	char		path[] = "/tmp/oq_s3xml_xxe_XXXXXX";
	int			fd = mkstemp(path);
	char	   *xml;

#define DOCTYPE_MSG "S3 listing has a DOCTYPE, which S3 never sends"
	if (fd < 0 || write(fd, SECRET "\n", strlen(SECRET) + 1) < 0)
	{
		CANNOT_RUN("write a temporary file for the external entity tests");
		return;
	}
	close(fd);

	xml = psprintf("<?xml version=\"1.0\"?>"
				   "<!DOCTYPE ListBucketResult [<!ENTITY e SYSTEM \"file://%s\">]>"
				   "<ListBucketResult><Contents><Key>&e;</Key><Size>1</Size>"
				   "</Contents></ListBucketResult>", path);
	list_fails("external entity (temp file)", xml, strlen(xml), DOCTYPE_MSG);
	error_not_parsed("external entity", xml, strlen(xml));
	pfree(xml);

	list_fails("external entity (/etc/passwd)",
			   "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>"
			   "<ListBucketResult><Contents><Key>&e;</Key><Size>1</Size>"
			   "</Contents></ListBucketResult>", STRLEN, DOCTYPE_MSG);
	list_fails("external parameter entity",
			   "<!DOCTYPE x [<!ENTITY % p SYSTEM \"file:///etc/passwd\"> %p;]>"
			   "<ListBucketResult/>", STRLEN, DOCTYPE_MSG);
	list_fails("external DTD",
			   "<!DOCTYPE ListBucketResult SYSTEM \"file:///etc/passwd\">"
			   "<ListBucketResult/>", STRLEN, DOCTYPE_MSG);
	list_fails("network DTD",
			   "<!DOCTYPE ListBucketResult PUBLIC \"-//x//y\" \"http://127.0.0.1:9/x.dtd\">"
			   "<ListBucketResult/>", STRLEN, DOCTYPE_MSG);
	list_fails("billion laughs",
			   "<!DOCTYPE x [<!ENTITY a \"" SECRET SECRET SECRET "\">"
			   "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
			   "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">"
			   "<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">]>"
			   "<ListBucketResult>" OBJ("&d;", "1") "</ListBucketResult>",
			   STRLEN, DOCTYPE_MSG);
	list_fails("empty DOCTYPE", "<!DOCTYPE ListBucketResult><ListBucketResult/>",
			   STRLEN, DOCTYPE_MSG);
	versions_fail("external entity in a versions listing",
				  "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>"
				  "<ListVersionsResult><Version><Key>&e;</Key></Version></ListVersionsResult>",
				  "S3 version listing has a DOCTYPE, which S3 never sends");
	unlink(path);
}

static void
test_versions(void)
{
	const char *xml = VERSIONS(
		"<Name>oq-bucket</Name><Prefix>tasks/</Prefix>"
		"<KeyMarker></KeyMarker><VersionIdMarker></VersionIdMarker>"
		"<MaxKeys>4</MaxKeys><IsTruncated>true</IsTruncated>"
		"<NextKeyMarker>tasks/c</NextKeyMarker>"
		"<NextVersionIdMarker>3/L4kqtJl+cSfw==</NextVersionIdMarker>"
		"<Version><Key>tasks/a</Key><VersionId>null</VersionId>"
		"<IsLatest>true</IsLatest><LastModified>2026-01-28T12:00:00.000Z</LastModified>"
		"<ETag>&quot;aaa&quot;</ETag><Size>10</Size>"
		"<Owner><ID>x</ID></Owner><StorageClass>STANDARD</StorageClass></Version>"
		"<DeleteMarker><Owner><ID>x</ID></Owner><Key>tasks/b</Key>"
		"<VersionId>dm1</VersionId><IsLatest>true</IsLatest>"
		"<LastModified>2026-01-28T13:00:00.000Z</LastModified></DeleteMarker>"
		"<Version><Key>tasks/b</Key><VersionId>v2</VersionId>"
		"<IsLatest>false</IsLatest><ETag>\"bbb\"</ETag><Size>20</Size></Version>"
		"<Version><Key>tasks/c</Key><VersionId>v3</VersionId>"
		"<IsLatest>true</IsLatest><ETag>ccc</ETag><Size>0</Size></Version>");
	OqS3VersionPage page;

	if (versions_ok("versions listing", xml, true, &page))
	{
		CHECK(page.nversions == 4, "versions listing: 4 entries");
		CHECK(strcmp(page.versions[0].key, "tasks/a") == 0 &&
			  strcmp(page.versions[1].key, "tasks/b") == 0 &&
			  strcmp(page.versions[2].key, "tasks/b") == 0 &&
			  strcmp(page.versions[3].key, "tasks/c") == 0,
			  "versions listing: document order kept");
		CHECK_STR(page.versions[0].version_id, "null",
				  "version id \"null\" of a pre-versioning object");
		CHECK(page.versions[0].is_latest && !page.versions[0].is_delete_marker,
			  "version 0: latest, not a marker");
		CHECK_STR(page.versions[0].etag, "aaa", "version 0: ETag unquoted");
		CHECK(page.versions[0].size == 10, "version 0: size");
		CHECK_STR(page.versions[0].last_modified, "2026-01-28T12:00:00.000Z",
				  "version 0: LastModified");
		CHECK(page.versions[1].is_delete_marker && page.versions[1].is_latest,
			  "entry 1: delete marker, latest");
		CHECK(page.versions[1].etag == NULL && page.versions[1].size == 0,
			  "delete marker: no ETag, size 0");
		CHECK_STR(page.versions[1].version_id, "dm1", "delete marker: version id");
		CHECK(!page.versions[2].is_latest && !page.versions[2].is_delete_marker,
			  "version 2: not latest");
		CHECK_STR(page.versions[2].etag, "bbb", "version 2: ETag");
		CHECK(page.versions[3].last_modified == NULL,
			  "version 3: absent LastModified is NULL");
		CHECK(page.is_truncated, "versions listing: truncated");
		CHECK_STR(page.next_key_marker, "tasks/c", "NextKeyMarker");
		CHECK_STR(page.next_version_id_marker, "3/L4kqtJl+cSfw==",
				  "NextVersionIdMarker verbatim");
		free_versions(&page);
	}

	xml = VERSIONS(URL "<IsTruncated>true</IsTruncated>"
				   "<NextKeyMarker>a+b%2F%C3%A9</NextKeyMarker>"
				   "<NextVersionIdMarker>v%2B1+</NextVersionIdMarker>"
				   "<Version><Key>k+%2Bx</Key><VersionId>v%2B1+</VersionId>"
				   "<IsLatest>true</IsLatest><Size>1</Size></Version>"
				   "<DeleteMarker><Key>Caf%C3%A9</Key><VersionId>d</VersionId></DeleteMarker>");
	if (versions_ok("url-encoded versions", xml, true, &page))
	{
		CHECK_STR(page.versions[0].key, "k +x", "url-encoded versions: key decoded");
		CHECK_STR(page.versions[0].version_id, "v%2B1+",
				  "url-encoded versions: version id verbatim");
		CHECK_STR(page.versions[1].key, "Café",
				  "url-encoded versions: marker key decoded");
		CHECK(!page.versions[1].is_latest,
			  "url-encoded versions: absent IsLatest is false");
		CHECK_STR(page.next_key_marker, "a b/é",
				  "url-encoded versions: NextKeyMarker decoded");
		CHECK_STR(page.next_version_id_marker, "v%2B1+",
				  "url-encoded versions: NextVersionIdMarker verbatim");
		free_versions(&page);
	}

	/*
	 * Ceph RGW 16.2: the keys encoded, NextKeyMarker (the last key) raw;
	 * decoding it would turn its '+' into a space
	 */
	xml = VERSIONS(URL "<IsTruncated>true</IsTruncated>"
				   "<NextKeyMarker>w/a b+c%</NextKeyMarker>"
				   "<NextVersionIdMarker>.qXV9</NextVersionIdMarker>"
				   "<Version><Key>w%2Fa%20b%2Bc%25</Key><VersionId>VM8F</VersionId>"
				   "<IsLatest>true</IsLatest><Size>1</Size></Version>"
				   "<Version><Key>w%2Fa%20b%2Bc%25</Key><VersionId>.qXV9</VersionId>"
				   "<IsLatest>false</IsLatest><Size>1</Size></Version>");
	if (versions_ok("RGW versions", xml, true, &page))
	{
		CHECK_STR(page.versions[1].key, "w/a b+c%", "RGW versions: key decoded");
		CHECK_STR(page.next_key_marker, "w/a b+c%",
				  "RGW versions: raw NextKeyMarker equal to the last key kept as is");
		free_versions(&page);
	}
	/* the same marker before another key is still decoded */
	xml = VERSIONS(URL "<IsTruncated>true</IsTruncated>"
				   "<NextKeyMarker>w/a+b%2Bc</NextKeyMarker>"
				   "<Version><Key>w/a+b%2Bc</Key><VersionId>v</VersionId><Size>1</Size></Version>");
	if (versions_ok("AWS versions", xml, true, &page))
	{
		CHECK_STR(page.next_key_marker, "w/a b+c",
				  "AWS versions: encoded NextKeyMarker equal to the last encoded key decoded");
		free_versions(&page);
	}

	/* moto 5.2.1 ignores encoding-type=url here: raw keys, no EncodingType */
	xml = VERSIONS("<IsTruncated>false</IsTruncated><KeyMarker/><VersionIdMarker/>"
				   "<NextKeyMarker>ignored</NextKeyMarker>"
				   "<Version><ETag>\"5d41402abc4b2a76b9719d911017c592\"</ETag><Size>5</Size>"
				   "<StorageClass>STANDARD</StorageClass><Key>k +x%</Key>"
				   "<VersionId>null</VersionId><IsLatest>true</IsLatest></Version>");
	if (versions_ok("moto versions", xml, true, &page))
	{
		CHECK_STR(page.versions[0].key, "k +x%", "moto versions: raw key verbatim");
		CHECK(!page.is_truncated && page.next_key_marker == NULL &&
			  page.next_version_id_marker == NULL,
			  "moto versions: markers NULL when not truncated");
		free_versions(&page);
	}

	if (versions_ok("empty versions listing", VERSIONS(""), false, &page))
		CHECK(page.nversions == 0 && page.versions == NULL && !page.is_truncated,
			  "empty versions listing: empty");

#define VBAD(what) "ListVersionsResult has " what
	versions_fail("version without a Key",
				  VERSIONS("<Version><VersionId>" SECRET "</VersionId><Size>1</Size></Version>"),
				  VBAD("a Version entry without a Key"));
	versions_fail("delete marker without a VersionId",
				  VERSIONS("<Version><Key>a</Key><VersionId>v</VersionId><Size>1</Size></Version>"
						   "<DeleteMarker><Key>" SECRET "</Key></DeleteMarker>"),
				  VBAD("a DeleteMarker entry without a VersionId"));
	versions_fail("version with a garbage Size",
				  VERSIONS("<Version><Key>a</Key><VersionId>v</VersionId><Size>1" SECRET "</Size></Version>"),
				  VBAD("a Version entry with a missing or invalid Size"));
	versions_fail("version with a huge Size",
				  VERSIONS("<Version><Key>a</Key><VersionId>v</VersionId><Size>18446744073709551616</Size></Version>"),
				  VBAD("a Version entry with a missing or invalid Size"));
	versions_fail("garbage IsLatest",
				  VERSIONS("<Version><Key>a</Key><VersionId>v</VersionId><IsLatest>" SECRET "</IsLatest><Size>1</Size></Version>"),
				  VBAD("a Version entry with an invalid IsLatest"));
	versions_fail("bad escape in a version key",
				  VERSIONS(URL "<DeleteMarker><Key>" SECRET "%Z</Key><VersionId>v</VersionId></DeleteMarker>"),
				  VBAD("a DeleteMarker entry whose Key is not validly percent-encoded"));
	versions_fail("truncated without NextKeyMarker",
				  VERSIONS("<IsTruncated>true</IsTruncated>"),
				  "ListVersionsResult is truncated but has no NextKeyMarker");
	versions_fail("garbage IsTruncated", VERSIONS("<IsTruncated>1</IsTruncated>"),
				  VBAD("an invalid IsTruncated"));
	versions_fail("bad escape in NextKeyMarker",
				  VERSIONS(URL "<IsTruncated>true</IsTruncated><NextKeyMarker>%</NextKeyMarker>"),
				  VBAD("a NextKeyMarker that is not validly percent-encoded"));
	versions_fail("a ListBucketResult", LIST(""),
				  "S3 version listing is not a ListVersionsResult document");
	versions_fail("not XML", "<ListVersionsResult>" SECRET,
				  "S3 version listing is not valid XML");
}

static void
test_error_bodies(void)
{
	OqS3Error	err;
	const char *xml;
	bool		ok;

	xml = XMLDECL "<Error><Code>NoSuchKey</Code>"
		"<Message>The specified key does not exist.</Message>"
		"<Key>tasks/0a/x.json</Key><RequestId>4442587FB7D0A2F9</RequestId>"
		"<HostId>0M1tb+EXAMPLE=</HostId></Error>";
	ok = oq_s3xml_parse_error(xml, strlen(xml), &err);
	CHECK(ok, "AWS NoSuchKey: parses");
	CHECK_STR(err.code, "NoSuchKey", "AWS NoSuchKey: code");
	CHECK_STR(err.message, "The specified key does not exist.", "AWS NoSuchKey: message");
	CHECK_STR(err.key, "tasks/0a/x.json", "AWS NoSuchKey: key");
	CHECK_STR(err.request_id, "4442587FB7D0A2F9", "AWS NoSuchKey: request id");
	CHECK(err.bucket_name == NULL, "AWS NoSuchKey: no bucket name");
	free_error(&err);

	xml = "<Error><Code>PreconditionFailed</Code>"
		"<Message>At least one of the pre-conditions you specified did not hold</Message>"
		"<Condition>If-Match</Condition><RequestId>R1</RequestId></Error>";
	ok = oq_s3xml_parse_error(xml, strlen(xml), &err);
	CHECK(ok &&
		  strcmp(err.code, "PreconditionFailed") == 0 && err.key == NULL,
		  "AWS PreconditionFailed: parses, no key");
	free_error(&err);

	/* RGW: empty Message, NoSuchKey without a Key */
	xml = XMLDECL "<Error><Code>NoSuchKey</Code><Message></Message>"
		"<BucketName>oq</BucketName>"
		"<RequestId>tx000004f4b0e1c3a3b0c1d-0065b1e2f3-1234-default</RequestId>"
		"<HostId>1234-default-default</HostId></Error>";
	ok = oq_s3xml_parse_error(xml, strlen(xml), &err);
	CHECK(ok, "RGW NoSuchKey: parses");
	CHECK_STR(err.code, "NoSuchKey", "RGW NoSuchKey: code");
	CHECK(err.message == NULL, "RGW NoSuchKey: empty Message is NULL");
	CHECK(err.key == NULL, "RGW NoSuchKey: absent Key is NULL");
	CHECK_STR(err.bucket_name, "oq", "RGW NoSuchKey: bucket");
	CHECK_STR(err.request_id, "tx000004f4b0e1c3a3b0c1d-0065b1e2f3-1234-default",
			  "RGW NoSuchKey: request id");
	free_error(&err);

	xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>UnknownError</Code>"
		"<Message/><RequestId/></Error>";
	ok = oq_s3xml_parse_error(xml, strlen(xml), &err);
	CHECK(ok &&
		  strcmp(err.code, "UnknownError") == 0 && err.message == NULL &&
		  err.request_id == NULL, "RGW UnknownError: self-closed fields NULL");
	free_error(&err);

	/* moto 5.2.1, as captured */
	xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
		"<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message>"
		"<BucketName>nobucket</BucketName>"
		"<RequestId>1B8GO75k8mudCrrMXPkyFhElOtTj3CH5nbYK1WkjBST2xnw95wSR</RequestId>"
		"<HostId>9Gjjt1m+cjU4OPvX9O9/8RuvnG41MRb/18Oux2o5H5MY7ISNTlXN+Dz9IG62/ILVxhAGI0qyPfg=</HostId></Error>";
	ok = oq_s3xml_parse_error(xml, strlen(xml), &err);
	CHECK(ok, "moto NoSuchBucket: parses");
	CHECK_STR(err.code, "NoSuchBucket", "moto NoSuchBucket: code");
	CHECK_STR(err.bucket_name, "nobucket", "moto NoSuchBucket: bucket");
	CHECK_STR(err.request_id, "1B8GO75k8mudCrrMXPkyFhElOtTj3CH5nbYK1WkjBST2xnw95wSR",
			  "moto NoSuchBucket: request id");
	free_error(&err);

	/* Older clones: RequestID, CDATA message, entities */
	xml = "<Error>\n  <Code>SignatureDoesNotMatch</Code>\n"
		"  <Message><![CDATA[The request signature & the <one> computed]]></Message>\n"
		"  <RequestID>7a62c49f</RequestID>\n</Error>";
	ok = oq_s3xml_parse_error(xml, strlen(xml), &err);
	CHECK(ok, "RequestID spelling: parses");
	CHECK_STR(err.request_id, "7a62c49f", "RequestID spelling: request id");
	CHECK_STR(err.message, "The request signature & the <one> computed",
			  "CDATA message");
	free_error(&err);

	xml = "<Error></Error>";
	ok = oq_s3xml_parse_error(xml, strlen(xml), &err);
	CHECK(ok && err.code == NULL,
		  "empty Error element: parses, code NULL");
	free_error(&err);

	error_not_parsed("empty", "", 0);
	error_not_parsed("NULL", NULL, 0);
	error_not_parsed("whitespace", "  \r\n", 4);
	error_not_parsed("plain text", "Service Unavailable", 19);
	error_not_parsed("HTML", "<html><body>502</body></html>", 29);
	error_not_parsed("listing", LIST(""), strlen(LIST("")));
	error_not_parsed("truncated", "<Error><Code>NoSuch", 19);
	error_not_parsed("unclosed", "<Error><Code>NoSuchKey</Code>", 29);
}

/* Many entries: arrays sized right, nothing lost */
static void
test_many(void)
{
	StringInfoData buf;
	OqS3ListPage page;
	bool		all = true;

	initStringInfo(&buf);
	appendStringInfoString(&buf, XMLDECL "<ListBucketResult xmlns=\"" NS "\">" URL);
	for (int i = 0; i < 1000; i++)
		appendStringInfo(&buf, "<Contents><Key>k%%2F%04d</Key><Size>%d</Size></Contents>"
						 "<CommonPrefixes><Prefix>p%d/</Prefix></CommonPrefixes>", i, i, i);
	appendStringInfoString(&buf, "</ListBucketResult>");
	if (list_ok("1000 entries", buf.data, true, &page))
	{
		CHECK(page.nobjects == 1000 && page.nprefixes == 1000,
			  "1000 entries: all read");
		for (int i = 0; i < page.nobjects; i++)
		{
			char		want[16];

			snprintf(want, sizeof(want), "k/%04d", i);
			if (strcmp(page.objects[i].key, want) != 0 || page.objects[i].size != i)
				all = false;
		}
		CHECK(all, "1000 entries: keys and sizes in order");
		free_list(&page);
	}
	pfree(buf.data);
}

static int	global_handler_calls;

/* libxml2 2.12 made the error pointer const */
#if LIBXML_VERSION >= 21200
static void
count_global_errors(void *ctx, const xmlError *error)
#else
static void
count_global_errors(void *ctx, xmlErrorPtr error)
#endif
{
	global_handler_calls++;
}

/*
 * libxml2 must print nothing on hostile input: check that stderr stays
 * empty while bad documents are parsed, and that a global error handler
 * (PostgreSQL's xml.c installs one while it works) is never called.
 */
static void
test_silence(void)
{
	const char *bad[] = {
		"<ListBucketResult><Contents>",
		"<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>",
		"<ListBucketResult>&undefined;</ListBucketResult>",
		"<?xml version=\"1.0\" encoding=\"no-such-charset\"?><a/>",
		"\xff\xfe<\0a\0/\0>\0",
		"<a></b>",
		"text",
	};
	FILE	   *tmp = tmpfile();
	int			saved = dup(2);
	long		written;

	if (tmp == NULL || saved < 0)
	{
		CANNOT_RUN("redirect stderr");
		return;
	}
	fflush(stderr);
	dup2(fileno(tmp), 2);
	xmlSetStructuredErrorFunc(NULL, count_global_errors);
	for (int i = 0; i < (int) lengthof(bad); i++)
	{
		OqS3ListPage page;
		OqS3Error	err;
		char	   *errmsg = NULL;

		if (oq_s3xml_parse_list(bad[i], strlen(bad[i]), true, &page, &errmsg))
			free_list(&page);
		if (errmsg)
			pfree(errmsg);
		if (oq_s3xml_parse_error(bad[i], strlen(bad[i]), &err))
			free_error(&err);
	}
	xmlSetStructuredErrorFunc(NULL, NULL);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	fseek(tmp, 0, SEEK_END);
	written = ftell(tmp);
	fclose(tmp);
	CHECK(written == 0, "nothing printed on stderr for bad documents (%ld bytes)",
		  written);
	CHECK(global_handler_calls == 0,
		  "global libxml2 error handler not called (%d calls)",
		  global_handler_calls);
}

int
main(void)
{
	test_aws_listing();
	test_namespaces();
	test_empty_listing();
	test_truncated();
	test_entities_and_utf8();
	test_url_encoded();
	test_common_prefixes_and_etags();
	test_sizes_and_fields();
	test_not_a_listing();
	test_doctype_and_entities();
	test_versions();
	test_error_bodies();
	test_many();
	test_silence();
	return unit_done();
}
