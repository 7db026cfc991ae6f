/*-------------------------------------------------------------------------
 *
 * cred.h
 *		Where a connection's S3 credentials come from: the user mapping's
 *		keys, or (superusers' mappings only) the server's own identity by
 *		the AWS credential chain; optionally a role assumed on top.
 *
 * Below the connection cache and above the request driver: the chain
 * knows the options it was built from, never the connection that holds
 * it, and fetches over an HTTP pool of its own.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_CRED_H
#define OQ_CRED_H

#include "credtypes.h"
#include "http.h"
#include "option.h"

/* The credentials of one server and user mapping, as one user uses them */
typedef struct OqCredChain
{
	const char *server_name;
	Oid			userid;			/* who the credentials serve */
	Oid			umid;			/* the user mapping; InvalidOid: none */
	const OqServerOptions *opts;
	const OqUserOptions *user_opts;
	MemoryContext cxt;			/* lives as long as the chain */

	OqCredentials creds;		/* what requests sign with */
	MemoryContext creds_cxt;	/* holds creds' strings; replaced on refresh */
	OqHttpPool	http;			/* requests to STS and the metadata services */
} OqCredChain;

/*
 * Check the credential rules (both keys or neither; only a superuser's
 * mapping may use the server's identity; a role to assume needs
 * credentials to call STS with) and set up chain.  Static keys and
 * unsigned access are ready at once; anything to fetch is fetched by the
 * first oq_cred_current().  No network access.  The strings and options
 * passed, and cxt, must outlive the chain; its requests are sent with the
 * timeouts and retries of http (the metadata services override them).
 */
extern void oq_cred_init(OqCredChain *chain, const char *server_name,
						 Oid userid, Oid umid, const OqServerOptions *opts,
						 const OqUserOptions *user_opts,
						 const OqHttpSettings *http, MemoryContext cxt);

/*
 * Refuse (42501) when the chain would sign with the server's own identity
 * and the user it serves is not a superuser now.  Called on every use: being
 * a superuser when the connection was built, or when a cursor started, is
 * not enough later.
 */
extern void oq_cred_check_use(OqCredChain *chain);

/*
 * The credentials to sign with now: checked (oq_cred_check_use), and
 * resolved anew first when not yet known or about to expire (see
 * oq_cred_refresh).
 */
extern const OqCredentials *oq_cred_current(OqCredChain *chain);

/*
 * Resolve the credentials anew: fetch what is temporary (the server's
 * identity, cached per backend; an assumed role) over the chain's own
 * pool.  On failure they stay as they were and the error names the source
 * that failed.
 */
extern void oq_cred_refresh(OqCredChain *chain);

/* Wipe and forget the credentials, close the pool (the chain goes away) */
extern void oq_cred_release(OqCredChain *chain);

#endif							/* OQ_CRED_H */
