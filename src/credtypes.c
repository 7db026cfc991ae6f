/*-------------------------------------------------------------------------
 *
 * credtypes.c
 *		What messages call each source of credentials: the one place that
 *		turns an OqCredSource into words.
 *
 * Pure: usable in the backend and in the frontend unit tests.
 *
 *-------------------------------------------------------------------------
 */
#ifdef FRONTEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include "credtypes.h"

char *
oq_cred_source_text(OqCredSource source, const char *url, const char *role)
{
	switch (source)
	{
		case OQ_CRED_UNSIGNED:
			return pstrdup("none (unsigned requests)");
		case OQ_CRED_USER_MAPPING:
			return pstrdup("the user mapping");
		case OQ_CRED_ENVIRONMENT:
			return pstrdup("the database server's environment variables (AWS_ACCESS_KEY_ID)");
		case OQ_CRED_IMDS:
			return psprintf("the EC2 instance metadata service at %s", url);
		case OQ_CRED_CONTAINER:
			return psprintf("the container credentials endpoint at %s", url);
		case OQ_CRED_STS_ASSUME_ROLE:
			return psprintf("AWS STS at %s (AssumeRole of role \"%s\")", url, role);
		case OQ_CRED_STS_WEB_IDENTITY:
			return psprintf("AWS STS at %s (AssumeRoleWithWebIdentity of role \"%s\")",
							url, role);
	}
	return pstrdup("?");		/* keep the compiler quiet */
}
