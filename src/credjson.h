/*-------------------------------------------------------------------------
 *
 * credjson.h
 *		Parsing of the JSON credential documents of the EC2 instance
 *		metadata service and the container credentials endpoint.
 *
 * Pure functions: no I/O, no ereport, usable in the backend and in the
 * frontend unit tests.  Results are palloc'd in CurrentMemoryContext.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_CREDJSON_H
#define OQ_CREDJSON_H

#include "credtypes.h"

/*
 * Parse a document such as
 *   {"Code": "Success", "AccessKeyId": "ASIA...", "SecretAccessKey": "...",
 *    "Token": "...", "Expiration": "2026-01-28T12:34:56Z", ...}
 * (IMDS sends Code, LastUpdated and Type as well; the container endpoint
 * sends no Code).  AccessKeyId, SecretAccessKey and Expiration are
 * required, Token is optional; other members are ignored; a Code other
 * than "Success" is a failure.  Fills access_key_id, secret_access_key,
 * session_token (NULL without Token) and expires_at_us of 'creds', leaving
 * the other fields alone.
 *
 * Returns false on failure with *problem set to a static description that
 * never quotes the document (it holds secrets).
 */
extern bool oq_credjson_parse(const char *json, size_t len, OqCredentials *creds,
							  const char **problem);

#endif							/* OQ_CREDJSON_H */
