/*-------------------------------------------------------------------------
 *
 * credimds.h
 *		The two credential services of the host the server runs on: the EC2
 *		instance metadata service (IMDSv2) and the container credentials
 *		endpoint (ECS, EKS Pod Identity), over the request driver.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_CREDIMDS_H
#define OQ_CREDIMDS_H

#include "credtypes.h"
#include "http.h"

/* How to talk to a link-local credential service */
typedef struct OqMetadataOptions
{
	int			timeout_ms;		/* per attempt, connecting included */
	int			attempts;		/* at least 1 */
} OqMetadataOptions;

/*
 * IMDSv2 at 'endpoint' ("http://169.254.169.254"): a session token (PUT
 * /latest/api/token), the instance profile's role name, then its
 * credentials.  Fills the credential fields and source of 'out'
 * (palloc'd).  Errors (HV00N) name the service and its address, never the
 * session token.
 */
extern void oq_imds_fetch(OqHttpPool *pool, const char *endpoint,
						  const OqMetadataOptions *mo, OqCredentials *out);

/*
 * GET the container credentials endpoint 'url', sending 'auth_token' (may
 * be NULL) as the Authorization header.  Messages name only the URL's
 * scheme, host and port: its path may be a capability.
 */
extern void oq_container_fetch(OqHttpPool *pool, const char *url,
							   const char *auth_token,
							   const OqMetadataOptions *mo, OqCredentials *out);

#endif							/* OQ_CREDIMDS_H */
