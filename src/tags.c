/*-------------------------------------------------------------------------
 *
 * tags.c
 *		Task tags: the tagging specification's rules for a tag, and the keys
 *		of the tag index tags/{key}/{value segment}/{task id}.
 *
 * The rules (at most 20 tags; keys of 1-64 characters of a-z 0-9 - _, not
 * starting with the reserved "oq_" or "_"; values of at most 256 UTF-8
 * characters without a line break) are enforced on what this extension
 * writes.  Readers accept whatever a task object holds.
 *
 * The index needs one S3 key segment per tag value, and a value may hold
 * anything but a line break: '/', '%', spaces, any Unicode.  The segment is
 *
 *		UriEncode(value) with '~' encoded too	normally,
 *		"~" + hex SHA-256 of the value bytes	when that is empty, "." or "..",
 *												or longer than 512 bytes.
 *
 * UriEncode (the SigV4 encoding, shared with the S3 client so keys are
 * encoded one way everywhere) leaves only A-Z a-z 0-9 - . _ unescaped and
 * writes every other byte as %XX, so the segment never holds '/', and since
 * it is a bijection distinct values give distinct segments ("a/b" is
 * "a%2Fb", the value "a%2Fb" is "a%252Fb").  Encoding '~' as well keeps '~'
 * out of every encoded segment, so a hashed segment, which starts with '~',
 * can never equal the encoding of any value.  Empty, "." and ".." segments
 * are hashed because "tags/k//id" and dot segments are rewritten or
 * rejected by some S3 clients and proxies that normalize paths.  The length
 * cap keeps every index key within S3's 1024 bytes: "tags/" + 64-byte key +
 * "/" + at most 512 + "/" + 36-byte id is at most 619 bytes, while a
 * 256-character value could encode to 3 * 1024 bytes.
 *
 *-------------------------------------------------------------------------
 */
#ifdef FRONTEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include "keys.h"
#include "mb/pg_wchar.h"
#include "s3sign.h"
#include "tags.h"

/* Characters of a key, and of a key or value quoted in a message */
#define MESSAGE_QUOTE_MAX_CHARS 64

/*
 * A copy of s fit to quote in an error message: at most maxchars UTF-8
 * characters (then "..."), cut at a character boundary, with every byte
 * that is not valid UTF-8 shown as '?', so a bad key never makes the
 * message itself invalid text.
 */
char *
oq_quote_for_message(const char *s, size_t len, int maxchars)
{
	StringInfoData buf;
	size_t		i = 0;
	int			nchars = 0;

	initStringInfo(&buf);
	while (i < len)
	{
		int			l = pg_utf_mblen((const unsigned char *) s + i);

		if (nchars == maxchars)
		{
			appendStringInfoString(&buf, "...");
			break;
		}
		if (i + l > len || s[i] == '\0' ||
			!pg_utf8_islegal((const unsigned char *) s + i, l))
		{
			appendStringInfoChar(&buf, '?');
			l = 1;
		}
		else
			appendBinaryStringInfo(&buf, s + i, l);
		i += l;
		nchars++;
	}
	return buf.data;
}

static char *
quote_key(const char *key)
{
	return oq_quote_for_message(key, strlen(key), MESSAGE_QUOTE_MAX_CHARS);
}

static bool
set_error(char **errmsg, char *msg)
{
	if (errmsg)
		*errmsg = msg;
	return false;
}

int
oq_tag_find(const OqTag *tags, int ntags, const char *key)
{
	for (int i = 0; i < ntags; i++)
	{
		if (strcmp(tags[i].key, key) == 0)
			return i;
	}
	return -1;
}

bool
oq_tag_same_value(const OqTag *a, const OqTag *b)
{
	if (a->value != NULL && b->value != NULL)
		return strcmp(a->value, b->value) == 0;
	if (a->value == NULL && b->value == NULL)
		return strcmp(a->json, b->json) == 0;
	return false;
}

bool
oq_tags_equal(const OqTag *a, int na, const OqTag *b, int nb)
{
	if (na != nb)
		return false;
	for (int i = 0; i < na; i++)
	{
		int			at = oq_tag_find(b, nb, a[i].key);

		if (at < 0 || !oq_tag_same_value(&a[i], &b[at]))
			return false;
	}
	return true;
}

/* -?[0-9]+(\.[0-9]+)?: how numeric_out prints any JSON number */
static bool
is_numeric_text(const char *p)
{
	const char *digits;

	if (*p == '-')
		p++;
	digits = p;
	while (*p >= '0' && *p <= '9')
		p++;
	if (p == digits)
		return false;
	if (*p == '.')
	{
		digits = ++p;
		while (*p >= '0' && *p <= '9')
			p++;
		if (p == digits)
			return false;
	}
	return *p == '\0';
}

bool
oq_tag_text_maybe_nonstring(const char *text)
{
	/* jsonb prints containers starting with '{' or '[' */
	return text[0] == '{' || text[0] == '[' ||
		strcmp(text, "true") == 0 || strcmp(text, "false") == 0 ||
		is_numeric_text(text);
}

bool
oq_tag_check(const char *key, const char *value, char **errmsg)
{
	size_t		keylen = strlen(key);
	size_t		vlen;
	int			nchars;

	if (keylen == 0)
		return set_error(errmsg, pstrdup(_("tag key must not be empty")));
	if (keylen > OQ_TAG_KEY_MAX_LEN)
		return set_error(errmsg,
						 psprintf(_("tag key \"%s\" is longer than %d characters"),
								  quote_key(key), OQ_TAG_KEY_MAX_LEN));
	for (const char *p = key; *p; p++)
	{
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
			  *p == '-' || *p == '_'))
			return set_error(errmsg,
							 psprintf(_("tag key \"%s\" may contain only a-z, 0-9, \"-\" and \"_\""),
									  quote_key(key)));
	}
	if (strncmp(key, "oq_", 3) == 0)
		return set_error(errmsg,
						 psprintf(_("tag key \"%s\" starts with \"oq_\", which is reserved for the system"),
								  key));
	if (key[0] == '_')
		return set_error(errmsg,
						 psprintf(_("tag key \"%s\" starts with \"_\", which is reserved for internal use"),
								  key));

	if (value == NULL)
		return set_error(errmsg,
						 psprintf(_("tag \"%s\" has a null value; tag values must be strings"),
								  key));
	vlen = strlen(value);
	if (vlen > PG_INT32_MAX ||
		pg_encoding_verifymbstr(PG_UTF8, value, (int) vlen) != (int) vlen)
		return set_error(errmsg,
						 psprintf(_("value of tag \"%s\" is not valid UTF-8"), key));
	if (strpbrk(value, "\n\r") != NULL)
		return set_error(errmsg,
						 psprintf(_("value of tag \"%s\" contains a line break (LF or CR), which tag values may not"),
								  key));
	/* count characters, not bytes: the limit is 256 UTF-8 characters */
	nchars = 0;
	for (size_t i = 0; i < vlen; i += pg_utf_mblen((const unsigned char *) value + i))
		nchars++;
	if (nchars > OQ_TAG_VALUE_MAX_CHARS)
		return set_error(errmsg,
						 psprintf(_("value of tag \"%s\" has %d characters, more than the limit of %d"),
								  key, nchars, OQ_TAG_VALUE_MAX_CHARS));
	return true;
}

bool
oq_tag_key_indexable(const char *key)
{
	/* the empty value passes every value rule: only the key is judged */
	return oq_tag_check(key, "", NULL);
}

bool
oq_tag_check_count(int ntags, char **errmsg)
{
	if (ntags > OQ_TAG_MAX_COUNT)
		return set_error(errmsg,
						 psprintf(_("a task may have at most %d tags, and this one would have %d"),
								  OQ_TAG_MAX_COUNT, ntags));
	return true;
}

void
oq_tag_index_segment(StringInfo buf, const char *value)
{
	size_t		len = strlen(value);
	int			start = buf->len;
	int			seglen;
	char		hex[65];

	/*
	 * A value of more than 512 bytes encodes to more than 512 (UriEncode
	 * never shortens), so it skips straight to the hash.
	 */
	if (len <= OQ_TAG_SEGMENT_MAX_LEN)
	{
		const char *run = value;

		for (const char *p = value;; p++)
		{
			if (*p == '~' || *p == '\0')
			{
				oq_uri_encode(buf, run, p - run, false);
				if (*p == '\0')
					break;
				appendStringInfoString(buf, "%7E");
				run = p + 1;
			}
		}
		seglen = buf->len - start;
		if (seglen > 0 && seglen <= OQ_TAG_SEGMENT_MAX_LEN &&
			strcmp(buf->data + start, ".") != 0 &&
			strcmp(buf->data + start, "..") != 0)
			return;

		/* not usable as a segment: drop it and hash instead */
		buf->len = start;
		buf->data[start] = '\0';
	}

	oq_sha256_hex(value, len, hex);
	appendStringInfoChar(buf, '~');
	appendStringInfoString(buf, hex);
}

char *
oq_tag_index_key(const char *key, const char *value, const char *task_id)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, OQ_TAGS_PREFIX "%s/", key);
	oq_tag_index_segment(&buf, value);
	appendStringInfo(&buf, "/%s", task_id);
	return buf.data;
}

char *
oq_tag_index_value_prefix(const char *key, const char *value)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, OQ_TAGS_PREFIX "%s/", key);
	oq_tag_index_segment(&buf, value);
	appendStringInfoChar(&buf, '/');
	return buf.data;
}

char *
oq_tag_index_key_prefix(const char *key)
{
	return psprintf(OQ_TAGS_PREFIX "%s/", key);
}

bool
oq_tag_index_parse_key(const char *index_key, char **tag_key, char **segment,
					   char **task_id)
{
	const char *k;
	const char *s;
	const char *id;

	if (strncmp(index_key, OQ_TAGS_PREFIX, strlen(OQ_TAGS_PREFIX)) != 0)
		return false;
	k = index_key + strlen(OQ_TAGS_PREFIX);
	s = strchr(k, '/');
	if (s == NULL || s == k)
		return false;
	s++;
	id = strchr(s, '/');
	if (id == NULL || id == s)
		return false;
	id++;
	if (*id == '\0' || strchr(id, '/') != NULL)
		return false;

	*tag_key = pnstrdup(k, s - 1 - k);
	*segment = pnstrdup(s, id - 1 - s);
	*task_id = pstrdup(id);
	return true;
}
