/*-------------------------------------------------------------------------
 *
 * credentials.h
 *		Where a connection's S3 credentials come from: the user mapping's
 *		keys, or (superusers' mappings only) the server's own environment.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_CREDENTIALS_H
#define OQ_CREDENTIALS_H

#include "connection.h"

/*
 * Fill conn->creds from conn->user_opts, enforcing who may use the
 * server's environment.  May make requests (temporary credentials), so
 * call it outside libcurl callbacks.
 */
extern void oq_credentials_resolve(OqConnection *conn);

/* Whether credentials expire within the refresh margin */
extern bool oq_credentials_expiring(const OqCredentials *creds, int64 now_us);

#endif							/* OQ_CREDENTIALS_H */
