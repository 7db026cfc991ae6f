/*-------------------------------------------------------------------------
 *
 * credtypes.h
 *		A set of AWS credentials, as a credential source hands it out and a
 *		connection signs with it.
 *
 * A plain struct with no backend dependencies, so that the pure parsers of
 * credential documents (s3xml.c for STS, credjson.c for the metadata
 * services) can fill it in the frontend unit tests too.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_CREDTYPES_H
#define OQ_CREDTYPES_H

/* Where a set of credentials came from */
typedef enum OqCredSource
{
	OQ_CRED_UNSIGNED = 0,		/* none: requests go unsigned */
	OQ_CRED_USER_MAPPING,		/* the mapping's access_key_id */
	OQ_CRED_ENVIRONMENT,		/* AWS_ACCESS_KEY_ID and the like */
	OQ_CRED_IMDS,				/* the EC2 instance metadata service */
	OQ_CRED_CONTAINER,			/* the container credentials endpoint */
	OQ_CRED_STS_ASSUME_ROLE,	/* STS AssumeRole (assume_role_arn) */
	OQ_CRED_STS_WEB_IDENTITY	/* STS AssumeRoleWithWebIdentity */
} OqCredSource;

typedef struct OqCredentials
{
	char	   *access_key_id;	/* NULL: send requests unsigned */
	char	   *secret_access_key;
	char	   *session_token;	/* NULL unless temporary credentials */
	int64		expires_at_us;	/* Unix us; 0 when they do not expire */
	int64		refresh_at_us;	/* Unix us to refresh at; 0: never */
	OqCredSource source;		/* where they came from */
	const char *source_url;		/* the service's address, for messages */
	const char *source_role;	/* the role STS was asked for */
	bool		resolved;		/* false until first resolved */
} OqCredentials;

/* Zero the secret and the session token where they lie (before a free) */
extern void oq_cred_wipe(OqCredentials *creds);

/*
 * Where credentials came from, as messages say it: "the user mapping",
 * "the EC2 instance metadata service at URL", ... (palloc'd).  url and
 * role are the source_url and source_role of the sources that have them.
 */
extern char *oq_cred_source_text(OqCredSource source, const char *url,
								 const char *role);

/*
 * Whether a credential string a service sent may be used: not empty, and
 * visible ASCII only.  Keys and tokens are base64 and the like; anything
 * else (a space, a CR or LF that would split the header it goes into) is
 * a broken or hostile answer.
 */
static inline bool
oq_credential_string_ok(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (; *s; s++)
		if (*s < 0x21 || *s > 0x7e)
			return false;
	return true;
}

#endif							/* OQ_CREDTYPES_H */
