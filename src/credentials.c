/*-------------------------------------------------------------------------
 *
 * credentials.c
 *		Resolution of the credentials a connection signs with.
 *
 * A user mapping's access_key_id/secret_access_key (and session_token)
 * win.  Without them, a mapping with use_server_environment 'true' takes
 * the AWS_* variables of the server process, but only when the mapping
 * belongs to a superuser: the server's identity is the database server's
 * own, and a non-superuser must never be able to borrow it (the rule of
 * postgres_fdw's password_required).  Otherwise requests go unsigned, for
 * public buckets.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/memutils.h"

#include "credentials.h"

/* Refresh temporary credentials this long before they expire */
#define OQ_CREDENTIALS_REFRESH_MARGIN_US (5 * 60 * INT64CONST(1000000))

static char *
getenv_copy(MemoryContext cxt, const char *name)
{
	const char *value = getenv(name);

	if (value == NULL || *value == '\0')
		return NULL;
	return MemoryContextStrdup(cxt, value);
}

void
oq_credentials_resolve(OqConnection *conn)
{
	OqUserOptions *uo = &conn->user_opts;
	OqCredentials *creds = &conn->creds;

	memset(creds, 0, sizeof(*creds));

	if (uo->access_key_id || uo->secret_access_key)
	{
		if (!uo->access_key_id || !uo->secret_access_key)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
					 errmsg("user mapping for server \"%s\" needs both \"access_key_id\" and \"secret_access_key\"",
							conn->server_name)));
		creds->access_key_id = MemoryContextStrdup(conn->cxt, uo->access_key_id);
		creds->secret_access_key = MemoryContextStrdup(conn->cxt, uo->secret_access_key);
		if (uo->session_token)
			creds->session_token = MemoryContextStrdup(conn->cxt, uo->session_token);
		creds->source = "user mapping";
		return;
	}

	if (!uo->use_server_environment)
	{
		creds->source = "none (unsigned requests)";
		return;
	}

	if (!superuser_arg(conn->userid))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("user mapping for server \"%s\" may not use the server's environment",
						conn->server_name),
				 errdetail("Only a superuser's user mapping may set \"use_server_environment\"."),
				 errhint("Give the user mapping its own \"access_key_id\" and \"secret_access_key\".")));

	creds->access_key_id = getenv_copy(conn->cxt, "AWS_ACCESS_KEY_ID");
	creds->secret_access_key = getenv_copy(conn->cxt, "AWS_SECRET_ACCESS_KEY");
	creds->session_token = getenv_copy(conn->cxt, "AWS_SESSION_TOKEN");
	creds->source = "server environment";
	if (!creds->access_key_id || !creds->secret_access_key)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
				 errmsg("no credentials found in the server's environment for server \"%s\"",
						conn->server_name),
				 errdetail("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set in the database server's environment.")));
}

bool
oq_credentials_expiring(const OqCredentials *creds, int64 now_us)
{
	return creds->expires_at_us != 0 &&
		creds->expires_at_us - OQ_CREDENTIALS_REFRESH_MARGIN_US <= now_us;
}
