/*-------------------------------------------------------------------------
 *
 * credjson.c
 *		Parsing of the JSON credential documents of the EC2 instance
 *		metadata service and the container credentials endpoint.
 *
 * Both services answer with the same shape of JSON object (see
 * credjson.h).  The document is a secret, so nothing here ever quotes it:
 * not jansson's error text (which shows the text "near" the error), not a
 * value that failed validation.  Every credential string must be visible
 * ASCII, because it goes into an HTTP header: a CR or LF from a broken or
 * hostile endpoint must not be able to add headers to our S3 requests.
 *
 *-------------------------------------------------------------------------
 */
#ifdef FRONTEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include <jansson.h>
/* the backend exports an SQL function of this name: see taskbuild.c */
#pragma GCC poison json_object

#include "credjson.h"
#include "rfc3339.h"

/* A credential document larger than this is not one */
#define OQ_CREDJSON_MAX_BYTES (64 * 1024)

/*
 * The string member 'name' of 'doc': NULL when absent; *bad when present
 * but not a string, or holding a NUL byte.
 */
static const char *
member_string(json_t *doc, const char *name, bool *bad)
{
	json_t	   *v = json_object_get(doc, name);
	const char *s;

	if (v == NULL || json_is_null(v))
		return NULL;
	if (!json_is_string(v))
	{
		*bad = true;
		return NULL;
	}
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
	{
		*bad = true;
		return NULL;
	}
	return s;
}

/* Everything but the copies into palloc'd memory, which may throw */
static const char *
check_document(json_t *doc, const char **key_id, const char **secret,
			   const char **token, int64 *expires_us)
{
	const char *code;
	const char *expiration;
	bool		bad = false;

	if (!json_is_object(doc))
		return "is not a JSON object";

	code = member_string(doc, "Code", &bad);
	if (bad)
		return "has a Code that is not a string";
	if (code != NULL && strcmp(code, "Success") != 0)
		return "has a Code other than \"Success\"";

	*key_id = member_string(doc, "AccessKeyId", &bad);
	if (bad || !oq_credential_string_ok(*key_id))
		return "has a missing or invalid AccessKeyId";
	*secret = member_string(doc, "SecretAccessKey", &bad);
	if (bad || !oq_credential_string_ok(*secret))
		return "has a missing or invalid SecretAccessKey";
	*token = member_string(doc, "Token", &bad);
	if (bad || (*token != NULL && !oq_credential_string_ok(*token)))
		return "has an invalid Token";
	expiration = member_string(doc, "Expiration", &bad);
	if (bad || expiration == NULL ||
		!oq_rfc3339_parse(expiration, strlen(expiration), expires_us))
		return "has a missing or invalid Expiration";
	return NULL;
}

static void
copy_out(OqCredentials *creds, const char *key_id, const char *secret,
		 const char *token, int64 expires_us)
{
	creds->access_key_id = pstrdup(key_id);
	creds->secret_access_key = pstrdup(secret);
	creds->session_token = token ? pstrdup(token) : NULL;
	creds->expires_at_us = expires_us;
}

bool
oq_credjson_parse(const char *json, size_t len, OqCredentials *creds,
				  const char **problem)
{
	json_error_t error;
	json_t	   *doc;
	const char *key_id = NULL;
	const char *secret = NULL;
	const char *token = NULL;
	int64		expires_us = 0;

	*problem = NULL;
	if (json == NULL || len == 0)
	{
		*problem = "is empty";
		return false;
	}
	if (len > OQ_CREDJSON_MAX_BYTES)
	{
		*problem = "is too large";
		return false;
	}

	doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &error);
	if (doc == NULL)
	{
		/* never error.text: it quotes the document */
		*problem = "is not valid JSON";
		return false;
	}

	*problem = check_document(doc, &key_id, &secret, &token, &expires_us);
	if (*problem == NULL)
	{
		/*
		 * palloc can only throw in the backend, out of memory; the jansson
		 * document must not leak then.
		 */
#ifndef FRONTEND
		PG_TRY();
		{
			copy_out(creds, key_id, secret, token, expires_us);
		}
		PG_CATCH();
		{
			json_decref(doc);
			PG_RE_THROW();
		}
		PG_END_TRY();
#else
		copy_out(creds, key_id, secret, token, expires_us);
#endif
	}
	json_decref(doc);
	return *problem == NULL;
}
