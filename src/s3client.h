/*-------------------------------------------------------------------------
 *
 * s3client.h
 *		S3 operations on top of the request driver: URLs, SigV4 signing,
 *		conditional writes, listings, and error reports.
 *
 * Each operation creates and submits a request on a batch of the
 * connection (oq_s3_batch_create) and returns it;
 * the caller collects it with oq_batch_next() or oq_s3_run() and frees it
 * with oq_request_free().
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_S3CLIENT_H
#define OQ_S3CLIENT_H

#include "connection.h"
#include "http.h"
#include "s3xml.h"

/*
 * A batch for S3 requests of conn, which it holds until destroyed with
 * oq_batch_destroy(): its requests sign with conn's credentials (refreshed
 * before they start) and its answers' Date headers set conn's clock.
 */
extern OqBatch *oq_s3_batch_create(OqConnection *conn, int max_inflight);

/* The connection an S3 batch serves */
extern OqConnection *oq_s3_batch_connection(const OqBatch *batch);

extern OqRequest *oq_s3_get(OqBatch *batch, const char *key);

/* GET of one version of a key (buckets with versioning) */
extern OqRequest *oq_s3_get_version(OqBatch *batch, const char *key,
									const char *version_id);
extern OqRequest *oq_s3_head(OqBatch *batch, const char *key);
extern OqRequest *oq_s3_delete(OqBatch *batch, const char *key);

/*
 * PUT body to key.  if_match: send If-Match with that ETag (unquoted, the
 * form every S3 implementation accepts); if_none_match: send
 * If-None-Match: * (create only).  Conditional PUTs are not retried after
 * an answer of unknown outcome (5xx, a timeout after sending): the caller
 * re-reads and decides, see oq_s3_put_stored().
 */
extern OqRequest *oq_s3_put(OqBatch *batch, const char *key, const char *body,
							size_t len, const char *content_type,
							const char *if_match, bool if_none_match);

/* ListObjectsV2 with encoding-type=url; NULL arguments are left out */
extern OqRequest *oq_s3_list(OqBatch *batch, const char *prefix,
							 const char *delimiter, const char *start_after,
							 const char *continuation_token, int max_keys);

/* ListObjectVersions with encoding-type=url */
extern OqRequest *oq_s3_list_versions(OqBatch *batch, const char *prefix,
									  const char *key_marker,
									  const char *version_id_marker,
									  int max_keys);

/* HeadBucket: cheap, and its Date header sets the server clock */
extern OqRequest *oq_s3_head_bucket(OqBatch *batch);

/* Submit-and-wait for one request */
extern OqRequest *oq_s3_run(OqBatch *batch, OqRequest *req);

/* A 2xx answer with the whole body */
static inline bool
oq_s3_ok(const OqRequest *req)
{
	return oq_request_ok(req);
}

/* 404 NoSuchKey (or a 404 without a code) for a key: no such object */
extern bool oq_s3_not_found(const OqRequest *req);

/* 412, or 409 ConditionalRequestConflict: someone else wrote first */
extern bool oq_s3_precondition_failed(const OqRequest *req);

/* An answer that leaves the outcome of a write unknown (5xx, timeout) */
extern bool oq_s3_outcome_unknown(const OqRequest *req);

/*
 * Whether a GET read back exactly the bytes a PUT sent.  Not the ETag:
 * with SSE-KMS or SSE-C encryption an ETag is not the MD5 of the body.
 */
extern bool oq_s3_put_stored(const OqRequest *put, const OqRequest *get);

/* Report a failed request: bucket, key, HTTP status, S3 code, request id */
extern void oq_s3_report(const OqRequest *req, int elevel);

/*
 * The same for a failed HEAD, whose answer has no body and so no S3 error
 * code: a one-key listing is asked, and its failure (missing bucket,
 * refused request, wrong region) reported if it fails too
 */
extern void oq_s3_report_head(const OqRequest *req, int elevel);

/* Parse a listing page; reports malformed XML as an error */
extern void oq_s3_parse_list(const OqRequest *req, OqS3ListPage *page);
extern void oq_s3_parse_versions(const OqRequest *req, OqS3VersionPage *page);

/*
 * The S3 server's "now" (Unix us), asking the server if need be: with
 * probe_key, a HEAD of that object (any answer carries Date, a 403 or 404
 * too, and a producer allowed s3:GetObject on it may send it); without,
 * a HEAD of the bucket (needs s3:ListBucket).
 */
extern int64 oq_s3_server_now(OqBatch *batch);
extern int64 oq_s3_server_now_at(OqBatch *batch, const char *probe_key);

#endif							/* OQ_S3CLIENT_H */
