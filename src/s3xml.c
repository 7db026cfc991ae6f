/*-------------------------------------------------------------------------
 *
 * s3xml.c
 *		Parsing of S3's XML replies (ListObjectsV2, ListObjectVersions,
 *		error bodies) with libxml2, and of STS's replies with credentials.
 *
 * S3 answers in XML, and object keys may hold anything XML can carry ('&',
 * '<', non-ASCII) or, with encoding-type=url, percent-escapes of anything at
 * all, so these replies get a real parser rather than string searches.
 *
 * The same libxml2 instance serves PostgreSQL's own xml.c in the backend,
 * so this file touches none of libxml2's global state: no global error
 * handler, no entity loader, no xmlCleanupParser().  Silence comes from the
 * parser options and a per-context error sink.  S3 never sends a DOCTYPE,
 * so a document that has one is refused as soon as the parser meets it: no
 * entity, internal or external, is ever declared, loaded or expanded,
 * whatever the libxml2 version.
 *
 * Elements are matched by local name, ignoring namespaces: AWS puts its
 * replies in the http://s3.amazonaws.com/doc/2006-03-01/ namespace, some
 * other servers use none.
 *
 * Everything returned is palloc'd in CurrentMemoryContext.  The libxml2
 * document is freed on every path, including an out-of-memory error thrown
 * by palloc while the tree is read (PG_CATCH in the backend).  On failure
 * the page is freed and zeroed, so fuzzers and unit tests see no leaks.
 *
 *-------------------------------------------------------------------------
 */
#ifdef FRONTEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include <limits.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xmlversion.h>

#include "common/int.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "rfc3339.h"
#include "s3sign.h"
#include "s3xml.h"

/*
 * Options for every document: no network, nothing printed.  Never
 * XML_PARSE_NOENT or XML_PARSE_DTDLOAD, which would load external entities.
 * From 2.13 on, the per-context handler (read_document) silences errors;
 * XML_PARSE_NOERROR would then hand them to the global handler instead
 * (seen with 2.15).
 */
#if LIBXML_VERSION >= 21300
#define OQ_XML_OPTIONS XML_PARSE_NONET
#else
#define OQ_XML_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)
#endif

typedef const char *(*DocReader) (xmlNodePtr root, void *out);

/*
 * SAX hook for <!DOCTYPE ...>: note it and stop the parser before the
 * internal subset, and so any entity declaration, is read.  This is a
 * per-context copy of the SAX handler, not libxml2's global one.
 */
static void
refuse_doctype(void *ctx, const xmlChar *name, const xmlChar *ExternalID,
			   const xmlChar *SystemID)
{
	xmlParserCtxtPtr ctxt = (xmlParserCtxtPtr) ctx;

	*(bool *) ctxt->_private = true;
	xmlStopParser(ctxt);
}

/* Same for entity declarations, should one ever be reached */
static void
refuse_entity(void *ctx, const xmlChar *name, int type,
			  const xmlChar *publicId, const xmlChar *systemId,
			  xmlChar *content)
{
	xmlParserCtxtPtr ctxt = (xmlParserCtxtPtr) ctx;

	*(bool *) ctxt->_private = true;
	xmlStopParser(ctxt);
}

/*
 * Per-context sink for parse errors.  libxml2 hands errors to this handler
 * before any global one (which PostgreSQL's xml.c installs while it works),
 * so ours never reach anybody else; ctxt->wellFormed still records them.
 * libxml2 2.12 made the error pointer const.
 */
#if LIBXML_VERSION >= 21200
static void
ignore_error(void *userData, const xmlError *error)
#else
static void
ignore_error(void *userData, xmlErrorPtr error)
#endif
{
}

/*
 * Parse 'len' bytes into a document.  Returns NULL and sets *problem (the
 * end of a sentence) when the body is not a well-formed, DTD-free document.
 */
static xmlDocPtr
read_document(const char *xml, size_t len, const char **problem)
{
	xmlParserCtxtPtr ctxt;
	xmlDocPtr	doc;
	bool		had_doctype = false;
	bool		well_formed;

	if (xml == NULL || len == 0)
	{
		*problem = "is empty";
		return NULL;
	}
	if (len > INT_MAX)
	{
		*problem = "is too large to parse";
		return NULL;
	}

	xmlInitParser();
	ctxt = xmlCreateMemoryParserCtxt(xml, (int) len);
	if (ctxt == NULL)
	{
		*problem = "could not be parsed (out of memory)";
		return NULL;
	}
	xmlCtxtUseOptions(ctxt, OQ_XML_OPTIONS);
	ctxt->sax->internalSubset = refuse_doctype;
	ctxt->sax->entityDecl = refuse_entity;
	/* 2.13's per-context handler takes precedence over every other one */
#if LIBXML_VERSION >= 21300
	xmlCtxtSetErrorHandler(ctxt, ignore_error, NULL);
#else
	ctxt->sax->serror = ignore_error;
#endif
	ctxt->_private = &had_doctype;

	(void) xmlParseDocument(ctxt);
	doc = ctxt->myDoc;
	well_formed = ctxt->wellFormed;
	ctxt->myDoc = NULL;
	xmlFreeParserCtxt(ctxt);

	/* xmlStopParser() does not clear wellFormed: test the flag first */
	if (had_doctype || !well_formed || doc == NULL ||
		xmlDocGetRootElement(doc) == NULL)
	{
		if (doc)
			xmlFreeDoc(doc);
		*problem = had_doctype ? "has a DOCTYPE, which S3 never sends" :
			"is not valid XML";
		return NULL;
	}
	return doc;
}

/*
 * Run 'reader' on the root element, then free the document, also when
 * palloc throws an out-of-memory error (the backend only: the frontend's
 * palloc exits instead).  PG_CATCH rather than PG_FINALLY, whose own
 * variable trips -Wclobbered.
 */
static const char *
read_and_free(xmlDocPtr doc, DocReader reader, void *out)
{
	const char *problem;

#ifndef FRONTEND
	PG_TRY();
	{
		problem = reader(xmlDocGetRootElement(doc), out);
	}
	PG_CATCH();
	{
		xmlFreeDoc(doc);
		PG_RE_THROW();
	}
	PG_END_TRY();
#else
	problem = reader(xmlDocGetRootElement(doc), out);
#endif
	xmlFreeDoc(doc);
	return problem;
}

/*
 * Parse a listing document into 'page' with 'reader'; on failure free what
 * was read ('freer') and describe the problem ('what' names the document).
 */
static bool
parse_page(const char *xml, size_t len, const char *what, DocReader reader,
		   void (*freer) (void *page), void *page, char **errmsg)
{
	const char *problem;
	xmlDocPtr	doc = read_document(xml, len, &problem);

	if (doc == NULL)
	{
		*errmsg = psprintf("%s %s", what, problem);
		return false;
	}
	problem = read_and_free(doc, reader, page);
	if (problem)
	{
		freer(page);
		*errmsg = pstrdup(problem);
		return false;
	}
	return true;
}

static bool
is_element(xmlNodePtr node, const char *local_name)
{
	return node->type == XML_ELEMENT_NODE &&
		strcmp((const char *) node->name, local_name) == 0;
}

/* First child element with this local name, or NULL */
static xmlNodePtr
child_element(xmlNodePtr parent, const char *local_name)
{
	for (xmlNodePtr node = parent->children; node; node = node->next)
		if (is_element(node, local_name))
			return node;
	return NULL;
}

static int
count_children(xmlNodePtr parent, const char *name1, const char *name2)
{
	int			n = 0;

	for (xmlNodePtr node = parent->children; node; node = node->next)
		if (is_element(node, name1) || (name2 && is_element(node, name2)))
			n++;
	return n;
}

/*
 * Text of the child element 'local_name': NULL when there is no such
 * element, "" when it is empty.  Reads the text and CDATA children rather
 * than calling xmlNodeGetContent(), so libxml2 mallocs nothing here that a
 * palloc error could leak.  Entity references cannot occur (no DTD), and
 * the text is kept verbatim: keys and tokens may start or end with spaces.
 */
static char *
child_text(xmlNodePtr parent, const char *local_name)
{
	xmlNodePtr	elem = child_element(parent, local_name);
	StringInfoData buf;

	if (elem == NULL)
		return NULL;
	initStringInfo(&buf);
	for (xmlNodePtr node = elem->children; node; node = node->next)
		if ((node->type == XML_TEXT_NODE ||
			 node->type == XML_CDATA_SECTION_NODE) && node->content)
			appendStringInfoString(&buf, (const char *) node->content);
	return buf.data;
}

/* As child_text, but NULL also for an empty element */
static char *
child_text_or_null(xmlNodePtr parent, const char *local_name)
{
	char	   *s = child_text(parent, local_name);

	if (s && s[0] == '\0')
	{
		pfree(s);
		s = NULL;
	}
	return s;
}

/*
 * Whether the reply says its keys are url-encoded.  This, not what the
 * request asked for, decides: a server may ignore encoding-type=url (moto
 * 5.2.1 does for ListObjectVersions) and then sends raw keys, which must not
 * be decoded.  AWS, RGW and moto's ListObjectsV2 all send <EncodingType>url
 * whenever they encode.
 */
static bool
says_url_encoded(xmlNodePtr root)
{
	char	   *s = child_text(root, "EncodingType");
	bool		url = (s != NULL && pg_strcasecmp(s, "url") == 0);

	if (s)
		pfree(s);
	return url;
}

/*
 * Percent-decode *s in place when 'decode'.  AWS form-encodes, a space as
 * '+' and a '+' as %2B, while RGW and moto send %20 and %2B: a bare '+' is
 * always a space, and oq_uri_decode() leaves '+' alone, so it is turned into
 * a space first.  A NUL byte (it would silently cut the key short) and
 * invalid UTF-8 (S3 keys are UTF-8) are refused like a malformed escape.
 */
static bool
decode_if(char **s, bool decode)
{
	StringInfoData buf;
	bool		ok;

	if (!decode || *s == NULL)
		return true;
	for (char *p = *s; *p; p++)
		if (*p == '+')
			*p = ' ';
	initStringInfo(&buf);
	ok = oq_uri_decode(&buf, *s, strlen(*s)) &&
		memchr(buf.data, '\0', buf.len) == NULL &&
		pg_encoding_verifymbstr(PG_UTF8, buf.data, buf.len) == buf.len;
	if (!ok)
	{
		pfree(buf.data);
		return false;
	}
	pfree(*s);
	*s = buf.data;
	return true;
}

/* "true" or "false" (any case); absent means false, anything else fails */
static bool
parse_bool_child(xmlNodePtr parent, const char *local_name, bool *value)
{
	char	   *s = child_text(parent, local_name);
	bool		ok = true;

	*value = false;
	if (s == NULL)
		return true;
	if (pg_strcasecmp(s, "true") == 0)
		*value = true;
	else if (pg_strcasecmp(s, "false") != 0)
		ok = false;
	pfree(s);
	return ok;
}

/* Decimal digits only, fitting in int64; no sign, no spaces */
static bool
parse_size_child(xmlNodePtr parent, int64 *value)
{
	char	   *s = child_text(parent, "Size");
	bool		ok = (s != NULL && s[0] != '\0');
	int64		v = 0;

	for (const char *p = s; ok && *p; p++)
	{
		if (*p < '0' || *p > '9' ||
			pg_mul_s64_overflow(v, 10, &v) ||
			pg_add_s64_overflow(v, *p - '0', &v))
			ok = false;
	}
	if (s)
		pfree(s);
	*value = ok ? v : 0;
	return ok;
}

/* Drop the quotes S3 puts around ETags (sent as '"' or "&quot;") */
static char *
etag_child(xmlNodePtr parent)
{
	char	   *s = child_text_or_null(parent, "ETag");
	size_t		n = s ? strlen(s) : 0;

	if (n >= 2 && s[0] == '"' && s[n - 1] == '"')
	{
		memmove(s, s + 1, n - 2);
		s[n - 2] = '\0';
	}
	return s;
}

static void
pfree_if(void *p)
{
	if (p)
		pfree(p);
}

/* ---------- ListObjectsV2 ---------- */

static void
free_list_page(void *p)
{
	OqS3ListPage *page = (OqS3ListPage *) p;

	for (int i = 0; i < page->nobjects; i++)
	{
		pfree(page->objects[i].key);
		pfree_if(page->objects[i].etag);
		pfree_if(page->objects[i].last_modified);
	}
	for (int i = 0; i < page->nprefixes; i++)
		pfree(page->common_prefixes[i]);
	pfree_if(page->objects);
	pfree_if(page->common_prefixes);
	pfree_if(page->next_continuation_token);
	pfree_if(page->start_after);
	memset(page, 0, sizeof(*page));
}

/* One <Contents>: Key and Size are required, ETag and LastModified not */
static const char *
read_object(xmlNodePtr node, bool decode, OqS3Object *obj)
{
	const char *problem = NULL;

	memset(obj, 0, sizeof(*obj));
	obj->key = child_text(node, "Key");
	if (obj->key == NULL || obj->key[0] == '\0')
		problem = "ListBucketResult has a Contents entry without a Key";
	else if (!decode_if(&obj->key, decode))
		problem = "ListBucketResult has a Contents entry whose Key is not validly percent-encoded";
	else if (!parse_size_child(node, &obj->size))
		problem = "ListBucketResult has a Contents entry with a missing or invalid Size";
	if (problem)
	{
		pfree_if(obj->key);
		return problem;
	}
	obj->etag = etag_child(node);
	obj->last_modified = child_text_or_null(node, "LastModified");
	return NULL;
}

static const char *
read_list(xmlNodePtr root, void *out)
{
	OqS3ListPage *page = (OqS3ListPage *) out;
	bool		decode;
	int			nobjects;
	int			nprefixes;

	if (!is_element(root, "ListBucketResult"))
		return "S3 listing is not a ListBucketResult document";
	decode = says_url_encoded(root);

	nobjects = count_children(root, "Contents", NULL);
	nprefixes = count_children(root, "CommonPrefixes", NULL);
	if (nobjects > 0)
		page->objects = palloc0(nobjects * sizeof(OqS3Object));
	if (nprefixes > 0)
		page->common_prefixes = palloc0(nprefixes * sizeof(char *));

	/* counts grow only with complete entries, for free_list_page() */
	for (xmlNodePtr node = root->children; node; node = node->next)
	{
		if (is_element(node, "Contents"))
		{
			const char *problem = read_object(node, decode,
											  &page->objects[page->nobjects]);

			if (problem)
				return problem;
			page->nobjects++;
		}
		else if (is_element(node, "CommonPrefixes"))
		{
			char	   *prefix = child_text(node, "Prefix");

			if (prefix == NULL || prefix[0] == '\0')
			{
				pfree_if(prefix);
				return "ListBucketResult has a CommonPrefixes entry without a Prefix";
			}
			if (!decode_if(&prefix, decode))
			{
				pfree(prefix);
				return "ListBucketResult has a CommonPrefixes Prefix that is not validly percent-encoded";
			}
			page->common_prefixes[page->nprefixes++] = prefix;
		}
	}

	if (!parse_bool_child(root, "IsTruncated", &page->is_truncated))
		return "ListBucketResult has an invalid IsTruncated";

	/* The token is opaque: passed back as sent, never decoded */
	if (page->is_truncated)
	{
		page->next_continuation_token =
			child_text_or_null(root, "NextContinuationToken");
		if (page->next_continuation_token == NULL)
			return "ListBucketResult is truncated but has no NextContinuationToken";
	}

	page->start_after = child_text_or_null(root, "StartAfter");
	if (!decode_if(&page->start_after, decode))
		return "ListBucketResult has a StartAfter that is not validly percent-encoded";
	return NULL;
}

/*
 * 'url_encoded' is what the request asked for; the reply's own EncodingType
 * decides whether keys are decoded (see says_url_encoded()).
 */
bool
oq_s3xml_parse_list(const char *xml, size_t len, bool url_encoded,
					OqS3ListPage *page, char **errmsg)
{
	memset(page, 0, sizeof(*page));
	return parse_page(xml, len, "S3 listing", read_list, free_list_page, page, errmsg);
}

/* ---------- ListObjectVersions ---------- */

static void
free_version(OqS3Version *v)
{
	pfree_if(v->key);
	pfree_if(v->version_id);
	pfree_if(v->etag);
	pfree_if(v->last_modified);
	memset(v, 0, sizeof(*v));
}

static void
free_version_page(void *p)
{
	OqS3VersionPage *page = (OqS3VersionPage *) p;

	for (int i = 0; i < page->nversions; i++)
		free_version(&page->versions[i]);
	pfree_if(page->versions);
	pfree_if(page->next_key_marker);
	pfree_if(page->next_version_id_marker);
	memset(page, 0, sizeof(*page));
}

/*
 * One <Version> or <DeleteMarker>.  Key and VersionId are required (S3
 * sends VersionId "null" for objects written before versioning); a Version
 * also needs a Size.  A delete marker has no ETag and a size of 0.
 */
static const char *
read_version(xmlNodePtr node, bool decode, OqS3Version *v)
{
	bool		is_marker = is_element(node, "DeleteMarker");
	const char *problem = NULL;

/* static messages, so that the caller need not know who allocated what */
#define VERSION_PROBLEM(tail) (is_marker ? \
	"ListVersionsResult has a DeleteMarker entry " tail : \
	"ListVersionsResult has a Version entry " tail)

	memset(v, 0, sizeof(*v));
	v->is_delete_marker = is_marker;
	v->key = child_text(node, "Key");
	v->version_id = child_text_or_null(node, "VersionId");
	if (v->key == NULL || v->key[0] == '\0')
		problem = VERSION_PROBLEM("without a Key");
	else if (!decode_if(&v->key, decode))
		problem = VERSION_PROBLEM("whose Key is not validly percent-encoded");
	else if (v->version_id == NULL)
		problem = VERSION_PROBLEM("without a VersionId");
	else if (!parse_bool_child(node, "IsLatest", &v->is_latest))
		problem = VERSION_PROBLEM("with an invalid IsLatest");
	else if (!is_marker && !parse_size_child(node, &v->size))
		problem = VERSION_PROBLEM("with a missing or invalid Size");
#undef VERSION_PROBLEM
	if (problem)
	{
		free_version(v);
		return problem;
	}
	if (!is_marker)
		v->etag = etag_child(node);
	v->last_modified = child_text_or_null(node, "LastModified");
	return NULL;
}

static const char *
read_versions(xmlNodePtr root, void *out)
{
	OqS3VersionPage *page = (OqS3VersionPage *) out;
	bool		decode;
	int			n;

	if (!is_element(root, "ListVersionsResult"))
		return "S3 version listing is not a ListVersionsResult document";
	decode = says_url_encoded(root);

	n = count_children(root, "Version", "DeleteMarker");
	if (n > 0)
		page->versions = palloc0(n * sizeof(OqS3Version));
	for (xmlNodePtr node = root->children; node; node = node->next)
	{
		if (is_element(node, "Version") || is_element(node, "DeleteMarker"))
		{
			const char *problem = read_version(node, decode,
											   &page->versions[page->nversions]);

			if (problem)
				return problem;
			page->nversions++;
		}
	}

	if (!parse_bool_child(root, "IsTruncated", &page->is_truncated))
		return "ListVersionsResult has an invalid IsTruncated";

	/*
	 * The key marker is a key (decoded, the client encodes it again); the
	 * version id marker is opaque.
	 */
	if (page->is_truncated)
	{
		page->next_key_marker = child_text_or_null(root, "NextKeyMarker");
		page->next_version_id_marker =
			child_text_or_null(root, "NextVersionIdMarker");
		if (page->next_key_marker == NULL)
			return "ListVersionsResult is truncated but has no NextKeyMarker";

		/*
		 * Ceph RGW 16.2 encodes the Keys but sends NextKeyMarker as it is,
		 * under EncodingType url: decoding "a b+c" gives "a b c", which
		 * sorts before the key, and the next page would start over.  A
		 * marker that is, as sent, the page's last (decoded) key is that
		 * key: the one S3 means, and for a key that needs no encoding the
		 * same as decoding it.
		 */
		if (decode && page->nversions > 0 &&
			strcmp(page->next_key_marker,
				   page->versions[page->nversions - 1].key) == 0)
			;
		else if (!decode_if(&page->next_key_marker, decode))
			return "ListVersionsResult has a NextKeyMarker that is not validly percent-encoded";
	}
	return NULL;
}

/* 'url_encoded' as for oq_s3xml_parse_list() */
bool
oq_s3xml_parse_versions(const char *xml, size_t len, bool url_encoded,
						OqS3VersionPage *page, char **errmsg)
{
	memset(page, 0, sizeof(*page));
	return parse_page(xml, len, "S3 version listing", read_versions,
					  free_version_page, page, errmsg);
}

/* ---------- Error bodies ---------- */

/*
 * Fields are NULL when absent or empty: RGW sends <Message></Message>.
 * The query APIs (STS) wrap the Error in an ErrorResponse that holds the
 * RequestId; moto puts an <Errors> between the two.
 */
static const char *
read_error(xmlNodePtr root, void *out)
{
	OqS3Error  *err = (OqS3Error *) out;

	if (is_element(root, "ErrorResponse"))
	{
		xmlNodePtr	error = child_element(root, "Error");
		xmlNodePtr	errors;

		/* moto wraps it once more: <Errors><Error> */
		if (error == NULL && (errors = child_element(root, "Errors")) != NULL)
			error = child_element(errors, "Error");
		if (error == NULL)
			return "ErrorResponse without an Error";
		err->code = child_text_or_null(error, "Code");
		err->message = child_text_or_null(error, "Message");
		err->request_id = child_text_or_null(root, "RequestId");
		if (err->request_id == NULL)
			err->request_id = child_text_or_null(root, "RequestID");
		return NULL;
	}
	if (!is_element(root, "Error"))
		return "not an Error document";
	err->code = child_text_or_null(root, "Code");
	err->message = child_text_or_null(root, "Message");
	err->request_id = child_text_or_null(root, "RequestId");
	if (err->request_id == NULL)	/* the spelling of some S3 clones */
		err->request_id = child_text_or_null(root, "RequestID");
	err->key = child_text_or_null(root, "Key");
	err->bucket_name = child_text_or_null(root, "BucketName");
	return NULL;
}

bool
oq_s3xml_parse_error(const char *xml, size_t len, OqS3Error *err)
{
	const char *problem;
	xmlDocPtr	doc;

	memset(err, 0, sizeof(*err));
	doc = read_document(xml, len, &problem);
	if (doc == NULL)
		return false;
	return read_and_free(doc, read_error, err) == NULL;
}

/* ---------- STS credentials ---------- */

static void
free_credentials(OqCredentials *creds)
{
	/* they are secrets: wipe before freeing */
	oq_cred_wipe(creds);
	pfree_if(creds->access_key_id);
	pfree_if(creds->secret_access_key);
	pfree_if(creds->session_token);
	creds->access_key_id = creds->secret_access_key = creds->session_token = NULL;
	creds->expires_at_us = 0;
}

/*
 * <AssumeRoleResponse><AssumeRoleResult><Credentials> (and the same for
 * AssumeRoleWithWebIdentity): the result element is named after the
 * response's root.  Problems name fields, never their values.
 */
static const char *
read_sts_credentials(xmlNodePtr root, void *out)
{
	OqCredentials *creds = (OqCredentials *) out;
	const char *root_name = (const char *) root->name;
	size_t		root_len = strlen(root_name);
	char	   *result_name;
	xmlNodePtr	result;
	xmlNodePtr	node;
	char	   *expiration;
	bool		expiration_ok;

	if (is_element(root, "ErrorResponse"))
		return "STS reply is an error document";
	if (root->type != XML_ELEMENT_NODE || root_len <= strlen("Response") ||
		strcmp(root_name + root_len - strlen("Response"), "Response") != 0)
		return "STS reply is not a ...Response document";
	result_name = psprintf("%.*sResult", (int) (root_len - strlen("Response")),
						   root_name);
	result = child_element(root, result_name);
	pfree(result_name);
	if (result == NULL)
		return "STS reply has no ...Result element";
	node = child_element(result, "Credentials");
	if (node == NULL)
		return "STS reply has no Credentials";

	creds->access_key_id = child_text(node, "AccessKeyId");
	creds->secret_access_key = child_text(node, "SecretAccessKey");
	creds->session_token = child_text(node, "SessionToken");
	expiration = child_text(node, "Expiration");
	expiration_ok = expiration != NULL &&
		oq_rfc3339_parse(expiration, strlen(expiration), &creds->expires_at_us);
	pfree_if(expiration);

	if (!oq_credential_string_ok(creds->access_key_id) ||
		!oq_credential_string_ok(creds->secret_access_key) ||
		!oq_credential_string_ok(creds->session_token) || !expiration_ok)
	{
		const char *problem =
			!oq_credential_string_ok(creds->access_key_id) ?
			"STS Credentials have a missing or invalid AccessKeyId" :
			!oq_credential_string_ok(creds->secret_access_key) ?
			"STS Credentials have a missing or invalid SecretAccessKey" :
			!oq_credential_string_ok(creds->session_token) ?
			"STS Credentials have a missing or invalid SessionToken" :
			"STS Credentials have a missing or invalid Expiration";

		free_credentials(creds);
		return problem;
	}
	return NULL;
}

bool
oq_s3xml_parse_sts_credentials(const char *xml, size_t len, OqCredentials *creds,
							   char **errmsg)
{
	const char *problem;
	xmlDocPtr	doc;
	OqCredentials parsed;

	memset(&parsed, 0, sizeof(parsed));
	doc = read_document(xml, len, &problem);
	if (doc != NULL)
		problem = read_and_free(doc, read_sts_credentials, &parsed);
	else if (strncmp(problem, "has a DOCTYPE", 13) == 0)
		problem = "STS reply has a DOCTYPE, which STS never sends";
	else
		problem = psprintf("STS reply %s", problem);
	if (problem)
	{
		*errmsg = pstrdup(problem);
		return false;
	}
	creds->access_key_id = parsed.access_key_id;
	creds->secret_access_key = parsed.secret_access_key;
	creds->session_token = parsed.session_token;
	creds->expires_at_us = parsed.expires_at_us;
	return true;
}
