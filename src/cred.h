/*-------------------------------------------------------------------------
 *
 * cred.h
 *		Where a connection's S3 credentials come from: the user mapping's
 *		keys, or (superusers' mappings only) the server's own identity by
 *		the AWS credential chain; optionally a role assumed on top.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_CRED_H
#define OQ_CRED_H

#include "connection.h"

/*
 * Check the credential rules for conn (both keys or neither; only a
 * superuser's mapping may use the server's identity; a role to assume
 * needs credentials to call STS with) and set up conn->creds.  Static keys
 * and unsigned access are ready at once; anything to fetch is fetched by
 * the first oq_credentials_refresh().  No network access.
 */
extern void oq_credentials_init(OqConnection *conn);

/*
 * Refuse (42501) when conn would sign with the server's own identity and
 * the user it serves is not a superuser now.  Called on every use of a
 * connection: being a superuser when the connection was built, or when a
 * cursor started, is not enough later.
 */
extern void oq_credentials_check_use(OqConnection *conn);

/* Whether creds must be (re)resolved before signing at time now_us */
extern bool oq_credentials_need_refresh(const OqCredentials *creds, int64 now_us);

/*
 * Resolve conn->creds anew: fetch what is temporary (the server's
 * identity, cached per backend; an assumed role).  Makes requests on the
 * connection's multi handle: call it between libcurl calls only (see
 * oq_connection_credentials).  On failure conn->creds stay as they were
 * and the error names the source that failed.
 */
extern void oq_credentials_refresh(OqConnection *conn);

/* Wipe and forget conn's credentials (the connection is going away) */
extern void oq_credentials_release(OqConnection *conn);

#endif							/* OQ_CRED_H */
