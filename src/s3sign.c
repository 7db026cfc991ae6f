/*-------------------------------------------------------------------------
 *
 * s3sign.c
 *		AWS Signature Version 4 for S3, and the URI encoding it relies on.
 *
 * We sign requests ourselves rather than use libcurl's CURLOPT_AWS_SIGV4,
 * because libcurl 7.88 signs the query string as given instead of in
 * canonical form, which S3 rejects for unsorted or encoded parameters
 * (paginated listings with continuation tokens, prefixes holding '/').
 * Here the canonical query string is built once and the S3 client puts that
 * very string on the wire, so what is signed is what is sent.
 *
 * S3 differs from the generic SigV4 rules in that the canonical URI is the
 * path exactly as sent: it is never normalized ('.', '..' and '//' stay) and
 * never encoded a second time.  So oq_sigv4_sign() takes the path already
 * encoded (oq_uri_encode with keep_slash) and uses it verbatim.
 *
 * Everything here is pure: no I/O, no ereport, no global state, so the file
 * builds both into the extension and into the frontend unit tests
 * (-DFRONTEND).  Results are palloc'd in CurrentMemoryContext.  Hashing uses
 * OpenSSL's one-shot calls, which hold no allocation across a PostgreSQL
 * call, so an error thrown elsewhere can never leak an OpenSSL context.
 * Secrets and derived keys are wiped after use and never appear in a
 * result other than through the signature.
 *
 *-------------------------------------------------------------------------
 */
#ifdef FRONTEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "s3sign.h"

#define SHA256_LEN		32
#define MD5_LEN			16

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"

/* One header as it will be signed, with its position in the input */
typedef struct SignHeader
{
	char	   *name;			/* lowercased */
	const char *value;			/* as given; trimmed when appended */
	int			pos;			/* index in the input, to keep duplicates in
								 * order whatever qsort does */
} SignHeader;

/* One query parameter, encoded */
typedef struct SignParam
{
	char	   *name;
	char	   *value;
} SignParam;

static const char hexdigits_upper[] = "0123456789ABCDEF";
static const char hexdigits_lower[] = "0123456789abcdef";

static inline bool
is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') ||
		c == '-' || c == '.' || c == '_' || c == '~';
}

static inline int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void
to_hex_lower(const unsigned char *bytes, size_t len, char *hex)
{
	for (size_t i = 0; i < len; i++)
	{
		hex[2 * i] = hexdigits_lower[bytes[i] >> 4];
		hex[2 * i + 1] = hexdigits_lower[bytes[i] & 0x0F];
	}
	hex[2 * len] = '\0';
}

void
oq_uri_encode(StringInfo buf, const char *s, size_t len, bool keep_slash)
{
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (is_unreserved(c) || (c == '/' && keep_slash))
			appendStringInfoChar(buf, (char) c);
		else
		{
			appendStringInfoChar(buf, '%');
			appendStringInfoChar(buf, hexdigits_upper[c >> 4]);
			appendStringInfoChar(buf, hexdigits_upper[c & 0x0F]);
		}
	}
}

bool
oq_uri_decode(StringInfo buf, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];
		int			hi,
					lo;

		if (c != '%')
		{
			appendStringInfoChar(buf, (char) c);
			continue;
		}
		/* A '%' must be followed by exactly two hex digits */
		if (len - i < 3)
			return false;
		hi = hex_value((unsigned char) s[i + 1]);
		lo = hex_value((unsigned char) s[i + 2]);
		if (hi < 0 || lo < 0)
			return false;
		appendStringInfoChar(buf, (char) ((hi << 4) | lo));
		i += 2;
	}
	return true;
}

/*
 * Hashes.  On an OpenSSL failure (say, MD5 disabled by a FIPS provider) the
 * output is the empty string: it never equals a real digest, so an ETag
 * check fails closed and a request signed with it is refused by the server,
 * which is better than a result that looks valid.
 */
void
oq_sha256_hex(const void *data, size_t len, char *hex)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
		mdlen != SHA256_LEN)
	{
		hex[0] = '\0';
		return;
	}
	to_hex_lower(md, SHA256_LEN, hex);
}

void
oq_md5_hex(const void *data, size_t len, char *hex)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(data, len, md, &mdlen, EVP_md5(), NULL) != 1 ||
		mdlen != MD5_LEN)
	{
		hex[0] = '\0';
		return;
	}
	to_hex_lower(md, MD5_LEN, hex);
}

/* HMAC-SHA256 of 'data' under 'key' into 'out' (32 bytes) */
static bool
hmac_sha256(const unsigned char *key, size_t keylen,
			const char *data, size_t datalen, unsigned char *out)
{
	unsigned int outlen = 0;

	if (HMAC(EVP_sha256(), key, (int) keylen,
			 (const unsigned char *) data, datalen, out, &outlen) == NULL)
		return false;
	return outlen == SHA256_LEN;
}

/*
 * Civil date from days since 1970-01-01 (proleptic Gregorian), after Howard
 * Hinnant's days_from_civil inverse.  Plain arithmetic, so the result does
 * not depend on TZ, on the C library's time_t range, or on locale.
 */
void
oq_format_amz_date(int64 unix_seconds, char *buf)
{
	int64		days = unix_seconds / 86400;
	int64		secs = unix_seconds % 86400;
	int64		era,
				doe,
				yoe,
				doy,
				mp,
				year;
	int			month,
				day;

	/* floor division, so times before 1970 work too */
	if (secs < 0)
	{
		secs += 86400;
		days--;
	}
	days += 719468;				/* shift the epoch to 0000-03-01 */
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	day = (int) (doy - (153 * mp + 2) / 5 + 1);
	month = (int) (mp < 10 ? mp + 3 : mp - 9);
	year = yoe + era * 400 + (month <= 2);

	/* years outside 0000-9999 cannot be written; snprintf truncates */
	snprintf(buf, 17, "%04lld%02d%02dT%02d%02d%02dZ",
			 (long long) year, month, day,
			 (int) (secs / 3600), (int) (secs / 60 % 60), (int) (secs % 60));
}

static int
param_cmp(const void *a, const void *b)
{
	const SignParam *pa = (const SignParam *) a;
	const SignParam *pb = (const SignParam *) b;
	int			r = strcmp(pa->name, pb->name);

	return r != 0 ? r : strcmp(pa->value, pb->value);
}

char *
oq_sigv4_canonical_query(const OqQueryParam *query, int nquery)
{
	StringInfoData out;
	SignParam  *params;

	initStringInfo(&out);
	if (nquery <= 0)
		return out.data;

	params = palloc(sizeof(SignParam) * nquery);
	for (int i = 0; i < nquery; i++)
	{
		StringInfoData s;
		const char *value = query[i].value ? query[i].value : "";

		initStringInfo(&s);
		oq_uri_encode(&s, query[i].name, strlen(query[i].name), false);
		params[i].name = s.data;

		initStringInfo(&s);
		oq_uri_encode(&s, value, strlen(value), false);
		params[i].value = s.data;
	}

	/* encoded strings are plain ASCII, so strcmp is the byte order wanted */
	qsort(params, nquery, sizeof(SignParam), param_cmp);

	for (int i = 0; i < nquery; i++)
	{
		if (i > 0)
			appendStringInfoChar(&out, '&');
		appendStringInfo(&out, "%s=%s", params[i].name, params[i].value);
		pfree(params[i].name);
		pfree(params[i].value);
	}
	pfree(params);
	return out.data;
}

static int
header_cmp(const void *a, const void *b)
{
	const SignHeader *ha = (const SignHeader *) a;
	const SignHeader *hb = (const SignHeader *) b;
	int			r = strcmp(ha->name, hb->name);

	if (r != 0)
		return r;
	return ha->pos < hb->pos ? -1 : ha->pos > hb->pos;
}

/*
 * Append a header value the SigV4 way ("Trimall"): leading and trailing
 * spaces and tabs dropped, every inner run of them made one space.  The
 * caller never passes CR or LF: those could not be sent as a header value.
 */
static void
append_trimmed(StringInfo buf, const char *value)
{
	bool		pending_space = false;
	bool		started = false;

	for (const char *p = value; *p; p++)
	{
		if (*p == ' ' || *p == '\t')
		{
			pending_space = started;
			continue;
		}
		if (pending_space)
			appendStringInfoChar(buf, ' ');
		appendStringInfoChar(buf, *p);
		pending_space = false;
		started = true;
	}
}

/*
 * Sign one request.  The signer adds nothing: 'headers' must already hold
 * every header to sign (for S3 at least host, x-amz-content-sha256 and
 * x-amz-date, plus x-amz-security-token with temporary credentials), with
 * the values that will be sent.  A repeated name becomes one line, its
 * values joined with ',' in the order given (qsort is not stable, hence the
 * position tiebreak in header_cmp).
 */
void
oq_sigv4_sign(const OqSigV4Input *input, OqSigV4Result *result)
{
	StringInfoData creq;
	StringInfoData names;
	StringInfoData sts;
	StringInfoData scope;
	StringInfoData key;
	SignHeader *headers;
	char	   *query;
	char		hash_hex[2 * SHA256_LEN + 1];
	unsigned char k1[SHA256_LEN];
	unsigned char k2[SHA256_LEN];
	unsigned char sig[SHA256_LEN];
	bool		ok;

	/* Headers: lowercase the names, sort, keep duplicates in input order */
	headers = palloc(sizeof(SignHeader) * Max(input->nheaders, 1));
	for (int i = 0; i < input->nheaders; i++)
	{
		const char *value = input->headers[i].value;
		char	   *name = pstrdup(input->headers[i].name);

		for (char *p = name; *p; p++)
			*p = pg_ascii_tolower((unsigned char) *p);
		headers[i].name = name;
		headers[i].value = value ? value : "";
		headers[i].pos = i;
	}
	qsort(headers, input->nheaders, sizeof(SignHeader), header_cmp);

	/* The canonical request */
	initStringInfo(&creq);
	initStringInfo(&names);
	appendStringInfo(&creq, "%s\n%s\n", input->method, input->canonical_uri);
	query = oq_sigv4_canonical_query(input->query, input->nquery);
	appendStringInfo(&creq, "%s\n", query);
	pfree(query);
	for (int i = 0; i < input->nheaders; i++)
	{
		if (i > 0 && strcmp(headers[i].name, headers[i - 1].name) == 0)
		{
			/* a repeated header: one line, values joined with ',' */
			appendStringInfoChar(&creq, ',');
			append_trimmed(&creq, headers[i].value);
			continue;
		}
		if (i > 0)
		{
			appendStringInfoChar(&creq, '\n');
			appendStringInfoChar(&names, ';');
		}
		appendStringInfo(&creq, "%s:", headers[i].name);
		append_trimmed(&creq, headers[i].value);
		appendStringInfoString(&names, headers[i].name);
	}
	if (input->nheaders > 0)
		appendStringInfoChar(&creq, '\n');
	appendStringInfo(&creq, "\n%s\n%s", names.data, input->payload_hash);

	for (int i = 0; i < input->nheaders; i++)
		pfree(headers[i].name);
	pfree(headers);

	/* The string to sign, and its scope: date/region/service/aws4_request */
	initStringInfo(&scope);
	appendStringInfo(&scope, "%.8s/%s/%s/aws4_request",
					 input->amz_date, input->region, input->service);
	oq_sha256_hex(creq.data, creq.len, hash_hex);
	initStringInfo(&sts);
	appendStringInfo(&sts, SIGV4_ALGORITHM "\n%s\n%s\n%s",
					 input->amz_date, scope.data, hash_hex);

	/*
	 * The signing key: HMAC chain from "AWS4" + secret through the date,
	 * region, service and "aws4_request".  Every intermediate key is as good
	 * as the secret for a day, so all of them are wiped; the final one is
	 * kept in the caller's cache, if any, for the rest of the day.
	 */
	if (input->key_cache && input->key_cache->valid &&
		strcmp(input->key_cache->access_key_id, input->access_key_id) == 0 &&
		strncmp(input->key_cache->scope, scope.data, scope.len - strlen("/aws4_request")) == 0 &&
		input->key_cache->scope[scope.len - strlen("/aws4_request")] == '\0')
	{
		memcpy(k2, input->key_cache->key, SHA256_LEN);
		ok = true;
	}
	else
	{
		initStringInfo(&key);
		appendStringInfo(&key, "AWS4%s", input->secret_access_key);
		ok = hmac_sha256((unsigned char *) key.data, key.len,
						 input->amz_date, Min(strlen(input->amz_date), 8), k1) &&
			hmac_sha256(k1, SHA256_LEN, input->region, strlen(input->region), k2) &&
			hmac_sha256(k2, SHA256_LEN, input->service, strlen(input->service), k1) &&
			hmac_sha256(k1, SHA256_LEN, "aws4_request", strlen("aws4_request"), k2);
		explicit_bzero(key.data, key.maxlen);
		pfree(key.data);
		explicit_bzero(k1, sizeof(k1));

		if (ok && input->key_cache &&
			strlen(input->access_key_id) < sizeof(input->key_cache->access_key_id) &&
			scope.len < (int) sizeof(input->key_cache->scope))
		{
			OqSigV4KeyCache *cache = input->key_cache;

			strlcpy(cache->access_key_id, input->access_key_id, sizeof(cache->access_key_id));
			memcpy(cache->scope, scope.data, scope.len - strlen("/aws4_request"));
			cache->scope[scope.len - strlen("/aws4_request")] = '\0';
			memcpy(cache->key, k2, SHA256_LEN);
			cache->valid = true;
		}
	}
	ok = ok && hmac_sha256(k2, SHA256_LEN, sts.data, sts.len, sig);
	explicit_bzero(k2, sizeof(k2));

	result->signature = palloc(2 * SHA256_LEN + 1);
	if (ok)
		to_hex_lower(sig, SHA256_LEN, result->signature);
	else
		result->signature[0] = '\0';	/* fails closed, see oq_sha256_hex */
	explicit_bzero(sig, sizeof(sig));

	result->canonical_request = creq.data;
	result->string_to_sign = sts.data;
	result->signed_headers = names.data;
	result->authorization =
		psprintf(SIGV4_ALGORITHM " Credential=%s/%s, SignedHeaders=%s, Signature=%s",
				 input->access_key_id, scope.data, names.data,
				 result->signature);
	pfree(scope.data);
}
