/*-------------------------------------------------------------------------
 *
 * credsts.h
 *		AWS STS: AssumeRole (signed with base credentials) and
 *		AssumeRoleWithWebIdentity (a web identity token, unsigned), over the
 *		request driver.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_CREDSTS_H
#define OQ_CREDSTS_H

#include "credtypes.h"
#include "http.h"

/* The STS actions oq_fdw uses */
typedef struct OqStsRequest
{
	const char *endpoint;		/* base URL: scheme://host[:port][/path] */
	const char *region;			/* to sign for (AssumeRole) */
	const char *role_arn;
	const char *session_name;
	const char *external_id;	/* AssumeRole only; NULL: none */
	const OqCredentials *base;	/* AssumeRole: what to sign with */
	const char *web_identity_token; /* set: AssumeRoleWithWebIdentity */
} OqStsRequest;

/*
 * Call STS over pool and fill access_key_id, secret_access_key,
 * session_token, expires_at_us and the source fields of 'out' (palloc'd in
 * CurrentMemoryContext).  Errors (SQLSTATE HV00N) name STS, the endpoint,
 * the action and the role, with STS's error code and message, never a
 * credential or token.
 */
extern void oq_sts_assume_role(OqHttpPool *pool, const OqStsRequest *sts,
							   OqCredentials *out);

#endif							/* OQ_CREDSTS_H */
