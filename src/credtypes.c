/*-------------------------------------------------------------------------
 *
 * credtypes.c
 *		What every holder of a set of credentials needs: wiping it, and
 *		naming where it came from (the one place that turns an
 *		OqCredSource into words).
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

void
oq_cred_wipe(OqCredentials *creds)
{
	if (creds->secret_access_key)
		explicit_bzero(creds->secret_access_key, strlen(creds->secret_access_key));
	if (creds->session_token)
		explicit_bzero(creds->session_token, strlen(creds->session_token));
}

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
