/*-------------------------------------------------------------------------
 *
 * option.c
 *		Validation and lookup of oq_fdw's options.
 *
 * Every option lives in exactly one catalog: bucket and connection
 * settings on the server, credentials only in user mappings (the rule of
 * postgres_fdw: secrets nowhere else), scan behaviour on the foreign table,
 * the task field a column reads on the column.  The validator checks names,
 * types and ranges when the object is created or altered, so the lookups
 * below can trust what they read.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/reloptions.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_foreign_table.h"
#include "catalog/pg_user_mapping.h"
#include "commands/defrem.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"

#include "keys.h"
#include "option.h"

typedef enum OqOptionType
{
	OQ_OPT_STRING,
	OQ_OPT_INT,
	OQ_OPT_BOOL,
	OQ_OPT_ENUM
} OqOptionType;

typedef struct OqOption
{
	const char *name;
	Oid			context;		/* catalog the option belongs to */
	OqOptionType type;
	int			min;			/* OQ_OPT_INT range */
	int			max;
	const char *const *values;	/* OQ_OPT_ENUM: NULL-terminated list */
} OqOption;

static const char *const url_styles[] = {"path", "virtual", NULL};
static const char *const on_invalid_values[] = {"error", "skip", NULL};

static const OqOption oq_options[] = {
	{"bucket", ForeignServerRelationId, OQ_OPT_STRING},
	{"endpoint", ForeignServerRelationId, OQ_OPT_STRING},
	{"region", ForeignServerRelationId, OQ_OPT_STRING},
	{"url_style", ForeignServerRelationId, OQ_OPT_ENUM, 0, 0, url_styles},
	{"shard_prefix_len", ForeignServerRelationId, OQ_OPT_INT, 1, OQ_MAX_SHARD_PREFIX_LEN},
	{"tag_index", ForeignServerRelationId, OQ_OPT_STRING},
	{"max_concurrency", ForeignServerRelationId, OQ_OPT_INT, 1, 1024},
	{"max_retries", ForeignServerRelationId, OQ_OPT_INT, 0, 100},
	{"connect_timeout_ms", ForeignServerRelationId, OQ_OPT_INT, 1, 3600 * 1000},
	{"request_timeout_ms", ForeignServerRelationId, OQ_OPT_INT, 1, 3600 * 1000},
	{"request_deadline_ms", ForeignServerRelationId, OQ_OPT_INT, 1, 3600 * 1000},
	{"ca_file", ForeignServerRelationId, OQ_OPT_STRING},
	{"batch_size", ForeignServerRelationId, OQ_OPT_INT, 1, 10000},
	{"assume_role_arn", ForeignServerRelationId, OQ_OPT_STRING},
	{"external_id", ForeignServerRelationId, OQ_OPT_STRING},
	{"role_session_name", ForeignServerRelationId, OQ_OPT_STRING},
	{"sts_endpoint", ForeignServerRelationId, OQ_OPT_STRING},

	{"access_key_id", UserMappingRelationId, OQ_OPT_STRING},
	{"secret_access_key", UserMappingRelationId, OQ_OPT_STRING},
	{"session_token", UserMappingRelationId, OQ_OPT_STRING},
	{"use_server_environment", UserMappingRelationId, OQ_OPT_BOOL},

	{"on_invalid", ForeignTableRelationId, OQ_OPT_ENUM, 0, 0, on_invalid_values},
	{"batch_size", ForeignTableRelationId, OQ_OPT_INT, 1, 10000},
	{"parallel_workers", ForeignTableRelationId, OQ_OPT_INT, 0, 1024},

	{"field", AttributeRelationId, OQ_OPT_STRING},
	{NULL}
};

static const OqOption *
find_option(const char *name, Oid context)
{
	const OqOption *opt;

	for (opt = oq_options; opt->name; opt++)
		if (opt->context == context && strcmp(opt->name, name) == 0)
			return opt;
	return NULL;
}

/* The context where an option misplaced in 'context' belongs, or InvalidOid */
static Oid
option_home(const char *name, Oid context)
{
	const OqOption *opt;

	for (opt = oq_options; opt->name; opt++)
	{
		if (strcmp(opt->name, name) == 0 && opt->context != context)
			return opt->context;
	}
	return InvalidOid;
}

/* errdetail() naming where option 'name' belongs (home: a context) */
static int
errdetail_option_home(const char *name, Oid home)
{
	switch (home)
	{
		case ForeignServerRelationId:
			return errdetail("\"%s\" is a server option.", name);
		case UserMappingRelationId:
			return errdetail("\"%s\" is a user mapping option.", name);
		case ForeignTableRelationId:
			return errdetail("\"%s\" is a foreign table option.", name);
		case AttributeRelationId:
			return errdetail("\"%s\" is a column option.", name);
	}
	return 0;
}

static void
report_unknown_option(const char *name, Oid context)
{
	const OqOption *opt;
	Oid			home = option_home(name, context);
	StringInfoData buf;

	initStringInfo(&buf);
	for (opt = oq_options; opt->name; opt++)
	{
		if (opt->context != context)
			continue;
		appendStringInfo(&buf, "%s%s", buf.len > 0 ? ", " : "", opt->name);
	}

	/*
	 * Name the object where a misplaced option belongs: credentials typed
	 * into a server are the classic mistake, and they belong nowhere but
	 * in a user mapping.
	 */
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
			 errmsg("invalid option \"%s\"", name),
			 OidIsValid(home) ? errdetail_option_home(name, home) : 0,
			 buf.len > 0 ?
			 errhint("Valid options in this context are: %s.", buf.data) :
			 errhint("There are no valid options in this context.")));
}

static void
validate_int(const OqOption *opt, const char *value)
{
	int			ival;

	if (!parse_int(value, &ival, 0, NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for integer option \"%s\": \"%s\"",
						opt->name, value)));
	if (ival < opt->min || ival > opt->max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be between %d and %d", opt->name,
						opt->min, opt->max)));
}

static void
validate_enum(const OqOption *opt, const char *value)
{
	const char *const *v;
	StringInfoData buf;

	for (v = opt->values; *v; v++)
		if (strcmp(*v, value) == 0)
			return;

	initStringInfo(&buf);
	for (v = opt->values; *v; v++)
		appendStringInfo(&buf, "%s\"%s\"", buf.len > 0 ? ", " : "", *v);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for option \"%s\": \"%s\"", opt->name, value),
			 errhint("Valid values are %s.", buf.data)));
}

/*
 * An endpoint is a base URL, scheme://host[:port]: requests are signed
 * for that host, and a path, query, user name or fragment would either be
 * signed into the Host header (failing every request) or send requests
 * somewhere the signature does not say.  A trailing "/" is allowed.
 */
static void
validate_endpoint(const char *name, const char *value)
{
	const char *host;
	size_t		len;
	bool		ok;

	if (strncmp(value, "http://", 7) == 0)
		host = value + 7;
	else if (strncmp(value, "https://", 8) == 0)
		host = value + 8;
	else
		host = NULL;

	ok = host != NULL;
	if (ok)
	{
		len = strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]");
		ok = len > 0 && strspn(host + len, "/") == strlen(host + len);
	}
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for option \"%s\": \"%s\"", name, value),
				 errdetail("An endpoint is \"http://\" or \"https://\" and a host name or address with an optional port, without a path, query, user name or fragment."),
				 strcmp(name, "sts_endpoint") == 0 ?
				 errhint("Give a base URL such as \"https://sts.us-east-1.amazonaws.com\" or \"http://127.0.0.1:9000\".") :
				 errhint("Give a base URL such as \"https://s3.us-east-1.amazonaws.com\" or \"http://127.0.0.1:9000\".")));
}

/*
 * The region names the default endpoint's host (s3.REGION.amazonaws.com)
 * and is signed into every request: AWS's syntax only, so that it cannot
 * name another host.
 */
static void
validate_region(const char *value)
{
	size_t		len = strlen(value);

	if (len < 1 || len > 32 || !(value[0] >= 'a' && value[0] <= 'z') ||
		strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789-") != len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for option \"region\": \"%s\"", value),
				 errdetail("A region name has 1 to 32 characters of a-z, 0-9 and \"-\", starting with a letter, such as \"eu-west-1\".")));
}

/*
 * Options that choose where the database server connects or which of its
 * files it reads: a role that may create a server (USAGE on the wrapper)
 * must not aim it at an internal address and read the answers (file_fdw's
 * rule for "filename").  A superuser creates such servers and grants USAGE.
 */
static bool
option_is_superuser_only(const char *name, Oid catalog)
{
	return catalog == ForeignServerRelationId &&
		(strcmp(name, "endpoint") == 0 ||
		 strcmp(name, "sts_endpoint") == 0 ||
		 strcmp(name, "ca_file") == 0);
}

/* Whether value has min..max characters, each alphanumeric or in 'extra' */
static bool
chars_ok(const char *value, int min, int max, const char *extra)
{
	size_t		len = strlen(value);

	if (len < (size_t) min || len > (size_t) max)
		return false;
	for (const char *p = value; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			  (*p >= '0' && *p <= '9') || strchr(extra, *p) != NULL))
			return false;
	return true;
}

/* The STS options: the syntax AWS accepts, checked before any request */
static void
validate_sts_option(const char *name, const char *value)
{
	if (strcmp(name, "assume_role_arn") == 0)
	{
		if (strncmp(value, "arn:", 4) != 0 || strstr(value, ":iam::") == NULL ||
			strstr(value, ":role/") == NULL || strpbrk(value, " \t\r\n") != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid value for option \"assume_role_arn\": \"%s\"", value),
					 errhint("Give the ARN of an IAM role, such as \"arn:aws:iam::123456789012:role/queue-reader\".")));
	}
	else if (strcmp(name, "external_id") == 0)
	{
		if (!chars_ok(value, 2, 1224, "_+=,.@:/-"))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid value for option \"external_id\""),
					 errdetail("An external id has 2 to 1224 characters of A-Z, a-z, 0-9 and _+=,.@:/-.")));
	}
	else if (strcmp(name, "role_session_name") == 0)
	{
		if (!chars_ok(value, 2, 64, "_+=,.@-"))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid value for option \"role_session_name\": \"%s\"", value),
					 errdetail("A role session name has 2 to 64 characters of A-Z, a-z, 0-9 and _+=,.@-.")));
	}
	else if (strcmp(name, "sts_endpoint") == 0)
		validate_endpoint(name, value);
}

static void
validate_bucket(const char *value)
{
	/* S3 bucket names: 3-63 of a-z 0-9 . - (the part that matters to URLs) */
	size_t		len = strlen(value);

	if (len < 3 || len > 63 || strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789.-") != len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for option \"bucket\": \"%s\"", value),
				 errdetail("Bucket names have 3 to 63 characters of a-z, 0-9, \".\" and \"-\".")));
}

/* "auto", or a boolean: on (forced) or off */
static OqTagIndexMode
tag_index_mode(const char *value)
{
	bool		b;

	if (pg_strcasecmp(value, "auto") == 0)
		return OQ_TAG_INDEX_AUTO;
	if (parse_bool(value, &b))
		return b ? OQ_TAG_INDEX_ON : OQ_TAG_INDEX_OFF;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for option \"tag_index\": \"%s\"", value),
			 errhint("Valid values are \"auto\", \"on\" and \"off\".")));
	return OQ_TAG_INDEX_OFF;	/* keep the compiler quiet */
}

PG_FUNCTION_INFO_V1(oq_fdw_validator);

/*
 * The FDW's validator, called for every CREATE/ALTER of a server, user
 * mapping, foreign table or column of this wrapper.
 */
Datum
oq_fdw_validator(PG_FUNCTION_ARGS)
{
	List	   *options = untransformRelOptions(PG_GETARG_DATUM(0));
	Oid			catalog = PG_GETARG_OID(1);
	bool		have_bucket = false;
	bool		have_role = false;
	const char *needs_role = NULL;
	ListCell   *cell;

	foreach(cell, options)
	{
		DefElem    *def = (DefElem *) lfirst(cell);
		const char *value = defGetString(def);
		const OqOption *opt = find_option(def->defname, catalog);

		if (opt == NULL)
			report_unknown_option(def->defname, catalog);

		switch (opt->type)
		{
			case OQ_OPT_INT:
				validate_int(opt, value);
				break;
			case OQ_OPT_BOOL:
				(void) defGetBoolean(def);
				break;
			case OQ_OPT_ENUM:
				validate_enum(opt, value);
				break;
			case OQ_OPT_STRING:
				if (*value == '\0')
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("option \"%s\" must not be empty", opt->name)));
				/* values reach request headers: never a line of their own */
				for (const char *p = value; *p; p++)
					if ((unsigned char) *p < 0x20 || (unsigned char) *p == 0x7f)
						ereport(ERROR,
								(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
								 errmsg("option \"%s\" must not contain control characters",
										opt->name)));
				break;
		}

		if (option_is_superuser_only(def->defname, catalog) && !superuser())
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("only a superuser may set option \"%s\"", opt->name),
					 strcmp(opt->name, "ca_file") == 0 ?
					 errdetail("It makes the database server read a file of its choosing.") :
					 errdetail("It chooses the host the database server connects to."),
					 errhint("Ask a superuser to create the server and grant USAGE on it.")));

		if (strcmp(def->defname, "tag_index") == 0)
			(void) tag_index_mode(value);
		else if (strcmp(def->defname, "bucket") == 0)
		{
			validate_bucket(value);
			have_bucket = true;
		}
		else if (strcmp(def->defname, "endpoint") == 0)
			validate_endpoint(def->defname, value);
		else if (strcmp(def->defname, "region") == 0)
			validate_region(value);
		else if (catalog == ForeignServerRelationId &&
				 (strcmp(def->defname, "assume_role_arn") == 0 ||
				  strcmp(def->defname, "external_id") == 0 ||
				  strcmp(def->defname, "role_session_name") == 0 ||
				  strcmp(def->defname, "sts_endpoint") == 0))
		{
			validate_sts_option(def->defname, value);
			if (strcmp(def->defname, "assume_role_arn") == 0)
				have_role = true;
			else
				needs_role = opt->name;
		}
		else if (strcmp(def->defname, "use_server_environment") == 0 &&
				 defGetBoolean(def) && !superuser())
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("only a superuser may set \"use_server_environment\""),
					 errdetail("It lets queries use the credentials of the database server's own environment.")));
	}

	if (catalog == ForeignServerRelationId && !have_bucket)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("an oq_fdw server needs the option \"bucket\"")));
	if (needs_role && !have_role)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("option \"%s\" needs the option \"assume_role_arn\"", needs_role),
				 errdetail("It applies to the role oq_fdw assumes with AWS STS.")));

	PG_RETURN_VOID();
}

/*
 * Lookups.  The validator has already checked every value, so these only
 * convert.
 */

void
oq_server_options(ForeignServer *server, OqServerOptions *opts)
{
	char	   *endpoint = NULL;
	char	   *url_style = NULL;
	ListCell   *lc;

	memset(opts, 0, sizeof(*opts));
	opts->region = "us-east-1";
	opts->shard_prefix_len = 1;
	opts->tag_index_mode = OQ_TAG_INDEX_AUTO;
	opts->max_concurrency = 32;
	opts->max_retries = 5;
	opts->connect_timeout_ms = OQ_DEFAULT_CONNECT_TIMEOUT_MS;
	opts->request_timeout_ms = OQ_DEFAULT_REQUEST_TIMEOUT_MS;
	opts->request_deadline_ms = 0;	/* see below */
	opts->batch_size = 100;

	foreach(lc, server->options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);
		const char *name = def->defname;

		if (strcmp(name, "bucket") == 0)
			opts->bucket = defGetString(def);
		else if (strcmp(name, "endpoint") == 0)
			endpoint = defGetString(def);
		else if (strcmp(name, "region") == 0)
			opts->region = defGetString(def);
		else if (strcmp(name, "url_style") == 0)
			url_style = defGetString(def);
		else if (strcmp(name, "shard_prefix_len") == 0)
			opts->shard_prefix_len = pg_strtoint32(defGetString(def));
		else if (strcmp(name, "tag_index") == 0)
			opts->tag_index_mode = tag_index_mode(defGetString(def));
		else if (strcmp(name, "max_concurrency") == 0)
			opts->max_concurrency = pg_strtoint32(defGetString(def));
		else if (strcmp(name, "max_retries") == 0)
			opts->max_retries = pg_strtoint32(defGetString(def));
		else if (strcmp(name, "connect_timeout_ms") == 0)
			opts->connect_timeout_ms = pg_strtoint32(defGetString(def));
		else if (strcmp(name, "request_timeout_ms") == 0)
			opts->request_timeout_ms = pg_strtoint32(defGetString(def));
		else if (strcmp(name, "request_deadline_ms") == 0)
			opts->request_deadline_ms = pg_strtoint32(defGetString(def));
		else if (strcmp(name, "ca_file") == 0)
			opts->ca_file = defGetString(def);
		else if (strcmp(name, "batch_size") == 0)
			opts->batch_size = pg_strtoint32(defGetString(def));
		else if (strcmp(name, "assume_role_arn") == 0)
			opts->assume_role_arn = defGetString(def);
		else if (strcmp(name, "external_id") == 0)
			opts->external_id = defGetString(def);
		else if (strcmp(name, "role_session_name") == 0)
			opts->role_session_name = defGetString(def);
		else if (strcmp(name, "sts_endpoint") == 0)
		{
			char	   *url = defGetString(def);
			size_t		len = strlen(url);

			while (len > 0 && url[len - 1] == '/')
				len--;
			opts->sts_endpoint = pnstrdup(url, len);
		}
	}

	/*
	 * Without a deadline of its own, a server whose request_timeout_ms was
	 * raised past the default deadline (for slow answers that must
	 * complete) keeps one whole attempt.
	 */
	if (opts->request_deadline_ms == 0)
		opts->request_deadline_ms = Max(OQ_DEFAULT_REQUEST_DEADLINE_MS,
										opts->request_timeout_ms);

	/* A server created before a required option existed cannot get here */
	if (opts->bucket == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("server \"%s\" has no option \"bucket\"",
						server->servername)));

	if (endpoint)
	{
		size_t		len = strlen(endpoint);

		/* Normalize away a trailing slash so paths join cleanly */
		while (len > 0 && endpoint[len - 1] == '/')
			len--;
		opts->endpoint = pnstrdup(endpoint, len);
	}
	else
		opts->endpoint = psprintf("https://s3.%s.amazonaws.com", opts->region);

	/* Custom endpoints (MinIO, moto, RGW) mostly want path-style URLs */
	if (url_style)
		opts->path_style = strcmp(url_style, "path") == 0;
	else
		opts->path_style = endpoint != NULL;
}

void
oq_user_options(UserMapping *user, OqUserOptions *opts)
{
	ListCell   *lc;

	memset(opts, 0, sizeof(*opts));
	if (user == NULL)
		return;

	foreach(lc, user->options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "access_key_id") == 0)
			opts->access_key_id = defGetString(def);
		else if (strcmp(def->defname, "secret_access_key") == 0)
			opts->secret_access_key = defGetString(def);
		else if (strcmp(def->defname, "session_token") == 0)
			opts->session_token = defGetString(def);
		else if (strcmp(def->defname, "use_server_environment") == 0)
			opts->use_server_environment = defGetBoolean(def);
	}
}

void
oq_table_options(Oid relid, OqTableOptions *opts)
{
	ForeignTable *table = GetForeignTable(relid);
	ListCell   *lc;

	opts->on_invalid = OQ_ON_INVALID_ERROR;
	opts->batch_size = 0;
	opts->parallel_workers = -1;

	foreach(lc, table->options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "on_invalid") == 0)
			opts->on_invalid = strcmp(defGetString(def), "skip") == 0 ?
				OQ_ON_INVALID_SKIP : OQ_ON_INVALID_ERROR;
		else if (strcmp(def->defname, "batch_size") == 0)
			opts->batch_size = pg_strtoint32(defGetString(def));
		else if (strcmp(def->defname, "parallel_workers") == 0)
			opts->parallel_workers = pg_strtoint32(defGetString(def));
	}
}

char *
oq_column_field(Oid relid, AttrNumber attnum)
{
	List	   *options = GetForeignColumnOptions(relid, attnum);
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "field") == 0)
			return defGetString(def);
	}
	return get_attname(relid, attnum, false);
}
