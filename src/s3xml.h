/*-------------------------------------------------------------------------
 *
 * s3xml.h
 *		Parsing of S3's XML replies (ListObjectsV2, ListObjectVersions,
 *		error bodies) with libxml2, and of the two STS replies that carry
 *		credentials (AssumeRole, AssumeRoleWithWebIdentity).
 *
 * Pure functions: no I/O, no ereport, usable in the backend and in the
 * frontend unit tests and fuzzers.  Everything returned is palloc'd in
 * CurrentMemoryContext.  The parser never loads external entities or DTDs
 * and never prints to stderr.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_S3XML_H
#define OQ_S3XML_H

#include "credtypes.h"

typedef struct OqS3Object
{
	char	   *key;			/* decoded when the listing was url-encoded */
	char	   *etag;			/* without the surrounding quotes */
	int64		size;
	char	   *last_modified;	/* as sent, e.g. "2026-01-28T12:34:56.000Z" */
} OqS3Object;

typedef struct OqS3ListPage
{
	OqS3Object *objects;
	int			nobjects;
	char	  **common_prefixes;	/* decoded */
	int			nprefixes;
	bool		is_truncated;
	char	   *next_continuation_token;	/* NULL unless truncated */
	char	   *start_after;		/* echoed StartAfter, decoded, or NULL */
} OqS3ListPage;

typedef struct OqS3Version
{
	char	   *key;
	char	   *version_id;
	bool		is_latest;
	bool		is_delete_marker;
	char	   *etag;			/* NULL for delete markers */
	int64		size;
	char	   *last_modified;
} OqS3Version;

typedef struct OqS3VersionPage
{
	OqS3Version *versions;		/* versions and delete markers in document order */
	int			nversions;
	bool		is_truncated;
	char	   *next_key_marker;
	char	   *next_version_id_marker;
} OqS3VersionPage;

typedef struct OqS3Error
{
	char	   *code;			/* e.g. "NoSuchKey"; NULL when absent */
	char	   *message;
	char	   *request_id;
	char	   *key;
	char	   *bucket_name;
} OqS3Error;

/*
 * Each parser returns true on success.  On failure it returns false and
 * sets *errmsg to a short description (never the document itself).
 * 'url_encoded' says the request asked for encoding-type=url, so keys,
 * prefixes and StartAfter must be percent-decoded.
 */
extern bool oq_s3xml_parse_list(const char *xml, size_t len, bool url_encoded,
								OqS3ListPage *page, char **errmsg);
extern bool oq_s3xml_parse_versions(const char *xml, size_t len,
									bool url_encoded, OqS3VersionPage *page,
									char **errmsg);

/*
 * Parse an <Error> body, or the <ErrorResponse><Error>...</Error>
 * <RequestId>...</RequestId></ErrorResponse> of AWS query APIs (STS;
 * moto sends <ErrorResponse><Errors><Error>...).
 * Returns false (leaving every field NULL) when the body is empty or not
 * an error document; callers then report the HTTP status alone.
 */
extern bool oq_s3xml_parse_error(const char *xml, size_t len, OqS3Error *err);

/*
 * Parse the reply of STS AssumeRole or AssumeRoleWithWebIdentity
 * (<XResponse><XResult><Credentials>...): fills access_key_id,
 * secret_access_key, session_token and expires_at_us of 'creds' and
 * leaves the other fields alone.  All four are required, the strings must
 * pass oq_credential_string_ok() and Expiration must be RFC 3339.  On
 * failure *errmsg never quotes the document, which holds secrets.
 */
extern bool oq_s3xml_parse_sts_credentials(const char *xml, size_t len,
										   OqCredentials *creds, char **errmsg);

#endif							/* OQ_S3XML_H */
