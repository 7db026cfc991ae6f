/*
 * fuzz_uri.c - the URI encoding of S3 keys and query strings, and SigV4.
 *
 * The input is a byte string; every function gets it whole, and the query
 * parameters and headers are cut from it at 0x00 bytes.  Properties:
 *
 *  - oq_uri_encode() writes only A-Z a-z 0-9 - . _ ~ and %XX (uppercase
 *    hex), plus '/' when keep_slash; exactly one %XX per other byte; and
 *    oq_uri_decode() of it gives the input back, byte for byte.
 *  - oq_uri_decode() of arbitrary text fails exactly when a '%' is not
 *    followed by two hex digits; when it succeeds, encoding and decoding
 *    again is the identity on its result.
 *  - oq_sigv4_canonical_query() writes name=value pairs of encoded text
 *    joined by '&', sorted, and gives the same string for any order of the
 *    same parameters.
 *  - oq_sigv4_sign() is deterministic and independent of the order of the
 *    query parameters and of headers with distinct names; its signature is
 *    64 hex digits, and no result holds the secret key.
 */
#include "fuzz.h"

#include "s3sign.h"

static bool
is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

static bool
is_upper_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

static bool
is_hex(unsigned char c)
{
	return is_upper_hex(c) || (c >= 'a' && c <= 'f');
}

/* Encoded text: unreserved bytes, %XX, and '/' when allowed */
static void
check_encoded(const char *enc, size_t len, bool slash_ok, const char *what)
{
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) enc[i];

		if (c == '%')
		{
			FUZZ_CHECK(i + 2 < len, "%s: truncated escape at %zu", what, i);
			FUZZ_CHECK(is_upper_hex(enc[i + 1]) && is_upper_hex(enc[i + 2]),
					   "%s: escape at %zu is not %%XX in uppercase", what, i);
			i += 2;
		}
		else
			FUZZ_CHECK(is_unreserved(c) || (slash_ok && c == '/'),
					   "%s: byte 0x%02x at %zu left unencoded", what, c, i);
	}
}

static void
check_encode(const uint8_t *data, size_t size, bool keep_slash)
{
	StringInfoData enc;
	StringInfoData dec;
	size_t		expect_len = 0;

	initStringInfo(&enc);
	oq_uri_encode(&enc, (const char *) data, size, keep_slash);
	check_encoded(enc.data, enc.len, keep_slash, "oq_uri_encode");
	for (size_t i = 0; i < size; i++)
		expect_len += (is_unreserved(data[i]) || (keep_slash && data[i] == '/')) ? 1 : 3;
	FUZZ_CHECK((size_t) enc.len == expect_len,
			   "encoded length %d, expected %zu", enc.len, expect_len);

	initStringInfo(&dec);
	FUZZ_CHECK(oq_uri_decode(&dec, enc.data, enc.len),
			   "decoding our own encoding failed");
	FUZZ_CHECK((size_t) dec.len == size && memcmp(dec.data, data, size) == 0,
			   "decode(encode(x)) != x (keep_slash=%d)", keep_slash);
}

static void
check_decode(const uint8_t *data, size_t size)
{
	StringInfoData dec;
	StringInfoData enc;
	StringInfoData again;
	bool		well_formed = true;
	bool		ok;

	for (size_t i = 0; i < size; i++)
	{
		if (data[i] != '%')
			continue;
		if (size - i < 3 || !is_hex(data[i + 1]) || !is_hex(data[i + 2]))
		{
			well_formed = false;
			break;
		}
		i += 2;
	}
	initStringInfo(&dec);
	ok = oq_uri_decode(&dec, (const char *) data, size);
	FUZZ_CHECK(ok == well_formed, "oq_uri_decode returned %d for %s input",
			   ok, well_formed ? "well-formed" : "malformed");
	if (!ok)
		return;
	FUZZ_CHECK((size_t) dec.len <= size, "decoding lengthened the text");
	if (memchr(data, '%', size) == NULL)
		FUZZ_CHECK((size_t) dec.len == size && memcmp(dec.data, data, size) == 0,
				   "decoding text without '%%' changed it");

	initStringInfo(&enc);
	oq_uri_encode(&enc, dec.data, dec.len, false);
	initStringInfo(&again);
	FUZZ_CHECK(oq_uri_decode(&again, enc.data, enc.len), "re-decode failed");
	FUZZ_CHECK(again.len == dec.len && memcmp(again.data, dec.data, dec.len) == 0,
			   "decode(encode(decode(x))) != decode(x)");
}

/* The canonical query's pairs are encoded and in order */
static void
check_canonical_query(const char *q, int nquery)
{
	const char *prev = NULL;
	size_t		prev_len = 0;
	int			npairs = 0;
	const char *p = q;

	if (nquery == 0)
	{
		FUZZ_CHECK(q[0] == '\0', "no parameters but query \"%s\"", q);
		return;
	}
	for (;;)
	{
		const char *amp = strchr(p, '&');
		size_t		n = amp ? (size_t) (amp - p) : strlen(p);
		const char *eq = memchr(p, '=', n);

		FUZZ_CHECK(eq != NULL, "pair %d has no '='", npairs);
		check_encoded(p, eq - p, false, "query name");
		check_encoded(eq + 1, n - (eq + 1 - p), false, "query value");
		if (prev)
		{
			/*
			 * By name, then by value, so the two are compared apart:
			 * comparing whole "name=value" strings would let '=' decide
			 * between "a=..." and "a-b=...".
			 */
			size_t		pn = (const char *) memchr(prev, '=', prev_len) - prev;
			size_t		cn = eq - p;
			int			c = strncmp(prev, p, Min(pn, cn));

			if (c == 0)
				c = (pn > cn) - (pn < cn);
			if (c == 0)
			{
				size_t		pv = prev_len - pn - 1;
				size_t		cv = n - cn - 1;

				c = strncmp(prev + pn + 1, eq + 1, Min(pv, cv));
				if (c == 0)
					c = (pv > cv) - (pv < cv);
			}
			FUZZ_CHECK(c <= 0, "canonical query pairs %d and %d out of order",
					   npairs - 1, npairs);
		}
		prev = p;
		prev_len = n;
		npairs++;
		if (!amp)
			break;
		p = amp + 1;
	}
	FUZZ_CHECK(npairs == nquery, "%d pairs for %d parameters", npairs, nquery);
}

#define MAX_PARAMS 16
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

static void
check_sign(const OqQueryParam *query, int nquery, const OqHeader *headers,
		   int nheaders, const char *uri, bool input_has_secret)
{
	OqQueryParam q2[MAX_PARAMS];
	OqHeader	h2[MAX_PARAMS];
	OqSigV4Input in;
	OqSigV4Result r1;
	OqSigV4Result r2;

	memset(&in, 0, sizeof(in));
	in.method = "GET";
	in.canonical_uri = uri;
	in.query = query;
	in.nquery = nquery;
	in.headers = headers;
	in.nheaders = nheaders;
	in.payload_hash = OQ_EMPTY_SHA256_HEX;
	in.amz_date = "20260128T123456Z";
	in.region = "us-east-1";
	in.service = "s3";
	in.access_key_id = "AKIDEXAMPLE";
	in.secret_access_key = SECRET;
	oq_sigv4_sign(&in, &r1);

	FUZZ_CHECK(strlen(r1.signature) == 64 &&
			   strspn(r1.signature, "0123456789abcdef") == 64,
			   "signature \"%s\" is not 64 hex digits", r1.signature);
	if (!input_has_secret)
		FUZZ_CHECK(strstr(r1.canonical_request, SECRET) == NULL &&
				   strstr(r1.string_to_sign, SECRET) == NULL &&
				   strstr(r1.authorization, SECRET) == NULL &&
				   strstr(r1.signed_headers, SECRET) == NULL,
				   "the secret key appears in a signing result");

	/* reversed query; headers rotated (only when their names differ) */
	for (int i = 0; i < nquery; i++)
		q2[i] = query[nquery - 1 - i];
	for (int i = 0; i < nheaders; i++)
		h2[i] = headers[(i + 1) % nheaders];
	for (int i = 0; i < nheaders; i++)
		for (int j = i + 1; j < nheaders; j++)
			if (pg_strcasecmp(headers[i].name, headers[j].name) == 0)
				memcpy(h2, headers, nheaders * sizeof(OqHeader));
	in.query = q2;
	in.headers = h2;
	oq_sigv4_sign(&in, &r2);
	FUZZ_CHECK(strcmp(r1.canonical_request, r2.canonical_request) == 0,
			   "canonical request depends on parameter or header order:\n%s\n---\n%s",
			   r1.canonical_request, r2.canonical_request);
	FUZZ_CHECK(strcmp(r1.signature, r2.signature) == 0 &&
			   strcmp(r1.authorization, r2.authorization) == 0,
			   "signature depends on parameter or header order");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FuzzInput	in = {data, size, 0};
	OqQueryParam query[MAX_PARAMS];
	OqQueryParam reversed[MAX_PARAMS];
	OqHeader	headers[MAX_PARAMS];
	int			nquery = 0;
	int			nheaders = 0;
	char	   *q1;
	char	   *q2;
	char	   *piece;

	check_encode(data, size, false);
	check_encode(data, size, true);
	check_decode(data, size);

	/*
	 * Parameters: pieces between 0x00 bytes, alternately name and value
	 * (a missing value stays NULL, which means "").
	 */
	while (nquery < MAX_PARAMS && (piece = fuzz_piece(&in)) != NULL)
	{
		query[nquery].name = piece;
		query[nquery].value = fuzz_piece(&in);
		nquery++;
	}
	q1 = oq_sigv4_canonical_query(query, nquery);
	check_canonical_query(q1, nquery);
	for (int i = 0; i < nquery; i++)
		reversed[i] = query[(i + nquery / 2 + 1) % nquery];
	q2 = oq_sigv4_canonical_query(reversed, nquery);
	FUZZ_CHECK(strcmp(q1, q2) == 0,
			   "canonical query depends on parameter order:\n%s\n%s", q1, q2);

	/*
	 * Sign: the same pieces as header names and values (no CR or LF, which
	 * a header cannot carry), host always first.
	 */
	headers[nheaders].name = "host";
	headers[nheaders++].value = "127.0.0.1:9000";
	for (int i = 0; i < nquery && nheaders < MAX_PARAMS; i++)
	{
		const char *v = query[i].value ? query[i].value : "";

		if (strpbrk(query[i].name, "\r\n:") || strpbrk(v, "\r\n") ||
			query[i].name[0] == '\0')
			continue;
		headers[nheaders].name = query[i].name;
		headers[nheaders++].value = v;
	}
	{
		StringInfoData uri;

		initStringInfo(&uri);
		appendStringInfoChar(&uri, '/');
		oq_uri_encode(&uri, (const char *) data, Min(size, 64), true);
		check_sign(query, nquery, headers, nheaders, uri.data,
				   fuzz_contains(data, size, SECRET));
	}

	fuzz_arena_reset();
	return 0;
}
