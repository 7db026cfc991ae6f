/*-------------------------------------------------------------------------
 *
 * s3sign.h
 *		AWS Signature Version 4 for S3, and the URI encoding it relies on.
 *
 * Pure functions: no I/O, no ereport, usable in the backend and in the
 * frontend unit tests and fuzzers (compile with -DFRONTEND).  Results are
 * palloc'd in CurrentMemoryContext.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_S3SIGN_H
#define OQ_S3SIGN_H

#include "lib/stringinfo.h"

/* Hex SHA-256 of the empty string: the payload hash of bodiless requests */
#define OQ_EMPTY_SHA256_HEX \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

#define OQ_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

typedef struct OqQueryParam
{
	const char *name;			/* raw (not percent-encoded) */
	const char *value;			/* raw; "" for a valueless parameter */
} OqQueryParam;

typedef struct OqHeader
{
	const char *name;			/* any case; lowercased when signed */
	const char *value;			/* trimmed and space-collapsed when signed */
} OqHeader;

/*
 * The signing key of one access key, day, region and service: deriving it
 * takes four of a signature's five HMACs, so a connection keeps it.  It is
 * as sensitive as the secret (for that day), and wiped with it.
 */
typedef struct OqSigV4KeyCache
{
	bool		valid;
	char		access_key_id[129];
	char		scope[128];		/* "YYYYMMDD/region/service" */
	unsigned char key[32];
} OqSigV4KeyCache;

typedef struct OqSigV4Input
{
	const char *method;			/* "GET", "PUT", ... */
	const char *canonical_uri;	/* the path exactly as sent, already encoded */
	const OqQueryParam *query;	/* raw parameters, any order */
	int			nquery;
	const OqHeader *headers;	/* every header to sign, host included */
	int			nheaders;
	const char *payload_hash;	/* hex SHA-256 of the body or UNSIGNED-PAYLOAD */
	const char *amz_date;		/* "YYYYMMDDTHHMMSSZ" */
	const char *region;
	const char *service;		/* "s3" */
	const char *access_key_id;
	const char *secret_access_key;
	OqSigV4KeyCache *key_cache; /* optional: reuse the day's signing key */
} OqSigV4Input;

typedef struct OqSigV4Result
{
	char	   *canonical_request;
	char	   *string_to_sign;
	char	   *signed_headers;		/* "host;x-amz-content-sha256;x-amz-date" */
	char	   *signature;			/* 64 lowercase hex digits */
	char	   *authorization;		/* the Authorization header's value */
} OqSigV4Result;

/*
 * Append the AWS UriEncode() of 'len' bytes of 's' to 'buf': every byte
 * outside A-Z a-z 0-9 - . _ ~ becomes %XX (uppercase hex); '/' is kept when
 * keep_slash (object key paths) and encoded otherwise (query components).
 */
extern void oq_uri_encode(StringInfo buf, const char *s, size_t len,
						  bool keep_slash);

/*
 * Decode %XX escapes of 'len' bytes of 's' into 'buf' ('+' is left as is:
 * S3's encoding-type=url never produces it for a space).  Returns false on
 * a malformed escape, leaving 'buf' with what was decoded so far.
 */
extern bool oq_uri_decode(StringInfo buf, const char *s, size_t len);

/*
 * The canonical query string: names and values UriEncoded, sorted by
 * encoded name then encoded value, joined with '&'.  The S3 client sends
 * exactly this string, so what is signed is what goes on the wire.
 */
extern char *oq_sigv4_canonical_query(const OqQueryParam *query, int nquery);

/* Fill 'result' with the canonical request, string to sign and signature */
extern void oq_sigv4_sign(const OqSigV4Input *input, OqSigV4Result *result);

/* Hash helpers on top of OpenSSL; 'hex' receives 64 hex digits and a NUL */
extern void oq_sha256_hex(const void *data, size_t len, char *hex);
extern void oq_md5_hex(const void *data, size_t len, char *hex);	/* 32 + NUL */

/* "YYYYMMDDTHHMMSSZ" for a Unix time, as x-amz-date wants */
extern void oq_format_amz_date(int64 unix_seconds, char *buf);	/* 17 bytes */

#endif							/* OQ_S3SIGN_H */
