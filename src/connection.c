/*-------------------------------------------------------------------------
 *
 * connection.c
 *		Per-backend cache of S3 "connections": one entry per server and user
 *		mapping, holding the parsed options, the credentials and the libcurl
 *		multi handle whose pool keeps TCP/TLS connections alive across
 *		requests and statements.
 *
 * The pattern is postgres_fdw's connection cache: entries are found by
 * server and user mapping, and a syscache callback marks them stale when
 * either changes; a stale entry is replaced the next time it is asked for.
 * Unlike postgres_fdw's, the key also holds the user running the query: a
 * PUBLIC mapping serves many roles, and whether one of them may use the
 * server's own identity depends on that role, not on who first built the
 * connection.
 *
 * Whoever uses a connection holds (pins) it: a scan from BeginForeignScan
 * until its executor state goes, a function call until its memory context
 * goes, a request batch until it is destroyed.  A stale connection still
 * held is detached from the cache rather than rebuilt in place, and freed
 * by its last holder: a cursor's later FETCHes go to the server, with the
 * options and credentials, the cursor started with, whatever happened to
 * the cache meanwhile (an altered mapping, a rebuild that failed, other
 * servers' connections made and dropped).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_user_mapping.h"
#include "foreign/foreign.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "connection.h"
#include "cred.h"
#include "oq_fdw.h"
#include "taskcache.h"

typedef struct OqConnectionKey
{
	Oid			serverid;
	Oid			umid;
	Oid			userid;
} OqConnectionKey;

typedef struct OqConnectionEntry
{
	OqConnectionKey key;
	OqConnection *conn;			/* NULL only while being built */
} OqConnectionEntry;

static HTAB *connection_hash = NULL;

/* A Date sample older than this is not trusted to tell "now" */
#define OQ_CLOCK_SAMPLE_MAX_AGE_US	(300 * INT64CONST(1000000))
/* Offsets are the maximum over windows of this length (see below) */
#define OQ_CLOCK_WINDOW_US			(60 * INT64CONST(1000000))
#define USECS_PER_SEC_64			INT64CONST(1000000)

static void
oq_inval_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	HASH_SEQ_STATUS scan;
	OqConnectionEntry *e;

	/* cached tasks were read with what just changed: forget them */
	oq_cache_reset();

	hash_seq_init(&scan, connection_hash);
	while ((e = (OqConnectionEntry *) hash_seq_search(&scan)))
	{
		OqConnection *entry = e->conn;

		if (entry == NULL)		/* being built */
			continue;
		if (hashvalue == 0 ||
			(cacheid == FOREIGNSERVEROID && entry->server_hashvalue == hashvalue) ||
			(cacheid == USERMAPPINGOID && entry->mapping_hashvalue == hashvalue))
			entry->invalidated = true;

		/*
		 * The user's role changed (it may have lost superuser): a
		 * connection that uses the server's identity is rebuilt, and so
		 * checked again.  Every use checks too (cred.c), since a
		 * held connection is not rebuilt.
		 */
		if (cacheid == AUTHOID && entry->user_opts.use_server_environment &&
			entry->role_hashvalue == hashvalue)
			entry->invalidated = true;
	}
}

static void
oq_connection_init(void)
{
	HASHCTL		ctl;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("could not initialize libcurl")));

	ctl.keysize = sizeof(OqConnectionKey);
	ctl.entrysize = sizeof(OqConnectionEntry);
	connection_hash = hash_create("oq_fdw connections", 8, &ctl,
								  HASH_ELEM | HASH_BLOBS);

	CacheRegisterSyscacheCallback(FOREIGNSERVEROID, oq_inval_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(USERMAPPINGOID, oq_inval_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHOID, oq_inval_callback, (Datum) 0);
}

/* The user mapping for (userid, serverid), else PUBLIC's, else InvalidOid */
Oid
oq_find_user_mapping(Oid userid, Oid serverid)
{
	Oid			ids[2] = {userid, InvalidOid};
	int			i;

	for (i = 0; i < 2; i++)
	{
		HeapTuple	tp = SearchSysCache2(USERMAPPINGUSERSERVER,
										 ObjectIdGetDatum(ids[i]),
										 ObjectIdGetDatum(serverid));

		if (HeapTupleIsValid(tp))
		{
			Oid			umid = ((Form_pg_user_mapping) GETSTRUCT(tp))->oid;

			ReleaseSysCache(tp);
			return umid;
		}
	}
	return InvalidOid;
}

static void
connection_release_resources(OqConnection *entry)
{
	int			i;

	for (i = 0; i < entry->nidle; i++)
		curl_easy_cleanup(entry->idle_easy[i]);
	entry->nidle = 0;
	if (entry->multi)
		curl_multi_cleanup(entry->multi);
	entry->multi = NULL;
	explicit_bzero(&entry->sigkey, sizeof(entry->sigkey));
	oq_credentials_release(entry);
	if (entry->cxt)
		MemoryContextDelete(entry->cxt);
	entry->cxt = NULL;
}

/* Free a connection nobody holds (it is out of the cache, or leaving it) */
static void
connection_free(OqConnection *conn)
{
	Assert(conn->pins == 0 && conn->nbatches == 0);
	connection_release_resources(conn);
	pfree(conn);
}

static void
connection_build(OqConnection *entry, Oid userid)
{
	ForeignServer *server;
	UserMapping *user = NULL;
	MemoryContext oldcxt;
	OqServerOptions *o;
	const char *hostport;
	const char *scheme_end;

	/* the options point into the catalog lookups: keep them with the entry */
	entry->cxt = AllocSetContextCreate(TopMemoryContext, "oq_fdw connection",
									   ALLOCSET_SMALL_SIZES);
	oldcxt = MemoryContextSwitchTo(entry->cxt);
	server = GetForeignServer(entry->serverid);

	entry->server_name = pstrdup(server->servername);
	oq_server_options(server, &entry->opts);
	o = &entry->opts;

	if (OidIsValid(entry->umid))
		user = GetUserMapping(userid, entry->serverid);
	oq_user_options(user, &entry->user_opts);

	scheme_end = strstr(o->endpoint, "://");
	Assert(scheme_end != NULL);
	hostport = scheme_end + 3;
	if (o->path_style)
	{
		entry->origin = pstrdup(o->endpoint);
		entry->base_path = psprintf("/%s", o->bucket);
		entry->host_header = pstrdup(hostport);
	}
	else
	{
		entry->origin = psprintf("%.*s%s.%s", (int) (hostport - o->endpoint),
								 o->endpoint, o->bucket, hostport);
		entry->base_path = "";
		entry->host_header = psprintf("%s.%s", o->bucket, hostport);
	}

	entry->maxidle = Max(o->max_concurrency, 4);
	entry->idle_easy = palloc0(sizeof(CURL *) * entry->maxidle);

	MemoryContextSwitchTo(oldcxt);

	entry->multi = curl_multi_init();
	if (entry->multi == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OUT_OF_MEMORY),
				 errmsg("could not create a libcurl multi handle")));

	/*
	 * Keep enough idle connections for every request a scan has in flight,
	 * plus those of a second batch (a nested loop's inner scan), so that
	 * connections are reused instead of reopened.
	 */
	curl_multi_setopt(entry->multi, CURLMOPT_MAXCONNECTS,
					  (long) (2 * o->max_concurrency));

	entry->server_hashvalue =
		GetSysCacheHashValue1(FOREIGNSERVEROID, ObjectIdGetDatum(entry->serverid));
	entry->mapping_hashvalue = OidIsValid(entry->umid) ?
		GetSysCacheHashValue1(USERMAPPINGOID, ObjectIdGetDatum(entry->umid)) : 0;
	entry->role_hashvalue =
		GetSysCacheHashValue1(AUTHOID, ObjectIdGetDatum(entry->userid));

	/* the rules and static keys now; anything fetched on first use */
	oq_credentials_init(entry);
}

static void
unpin_callback(void *arg)
{
	oq_connection_unpin((OqConnection *) arg);
}

void
oq_connection_pin(OqConnection *conn)
{
	conn->pins++;
}

void
oq_connection_unpin(OqConnection *conn)
{
	Assert(conn->pins > 0);
	if (--conn->pins == 0 && conn->detached && conn->nbatches == 0)
		connection_free(conn);
}

OqConnection *
oq_get_connection(Oid serverid, Oid userid)
{
	OqConnectionKey key;
	OqConnectionEntry *e;
	OqConnection *conn;
	MemoryContextCallback *cb;
	bool		found;

	if (GetDatabaseEncoding() != PG_UTF8)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("oq_fdw requires a database with UTF8 encoding"),
				 errdetail("Task objects are UTF-8 JSON; this database's encoding is %s.",
						   GetDatabaseEncodingName())));

	if (connection_hash == NULL)
		oq_connection_init();

	/* allocated first, so that nothing can fail between pin and callback */
	cb = MemoryContextAlloc(CurrentMemoryContext, sizeof(MemoryContextCallback));

	memset(&key, 0, sizeof(key));
	key.serverid = serverid;
	key.umid = oq_find_user_mapping(userid, serverid);
	key.userid = userid;

	e = hash_search(connection_hash, &key, HASH_ENTER, &found);
	if (found && e->conn != NULL && e->conn->invalidated)
	{
		/* out of the cache; freed now, or by its last holder */
		conn = e->conn;
		e->conn = NULL;
		conn->detached = true;
		if (conn->pins == 0 && conn->nbatches == 0)
			connection_free(conn);
		found = false;
	}
	if (!found || e->conn == NULL)
	{
		/* NULL: a build that failed before it could clean up (no memory) */
		e->conn = NULL;
		conn = MemoryContextAllocZero(TopMemoryContext, sizeof(OqConnection));
		conn->serverid = serverid;
		conn->umid = key.umid;
		conn->userid = userid;
		PG_TRY();
		{
			connection_build(conn, userid);
		}
		PG_CATCH();
		{
			connection_release_resources(conn);
			pfree(conn);
			hash_search(connection_hash, &key, HASH_REMOVE, NULL);
			PG_RE_THROW();
		}
		PG_END_TRY();
		e->conn = conn;
	}
	conn = e->conn;

	/* the user may have lost the right to the server's identity */
	oq_credentials_check_use(conn);

	conn->pins++;
	cb->func = unpin_callback;
	cb->arg = conn;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);
	return conn;
}

Oid
oq_server_oid_checked(const char *servername)
{
	ForeignServer *server = GetForeignServerByName(servername, false);
	ForeignDataWrapper *fdw = GetForeignDataWrapper(server->fdwid);
	FmgrInfo	handler;
	AclResult	aclresult;

	if (!OidIsValid(fdw->fdwhandler))
		handler.fn_addr = NULL;
	else
		fmgr_info(fdw->fdwhandler, &handler);
	if (handler.fn_addr != oq_fdw_handler)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("server \"%s\" does not belong to the oq_fdw foreign-data wrapper",
						servername)));

#if PG_VERSION_NUM >= 160000
	aclresult = object_aclcheck(ForeignServerRelationId, server->serverid,
								GetUserId(), ACL_USAGE);
#else
	aclresult = pg_foreign_server_aclcheck(server->serverid, GetUserId(), ACL_USAGE);
#endif
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_FOREIGN_SERVER, servername);

	return server->serverid;
}

const OqCredentials *
oq_connection_credentials(OqConnection *conn)
{
	/* every use of the server's identity is checked, not only the first */
	oq_credentials_check_use(conn);
	if (oq_credentials_need_refresh(&conn->creds, oq_local_now_us()))
		oq_credentials_refresh(conn);
	return &conn->creds;
}

CURL *
oq_connection_take_easy(OqConnection *conn)
{
	CURL	   *easy;

	if (conn->nidle > 0)
		return conn->idle_easy[--conn->nidle];

	easy = curl_easy_init();
	if (easy == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OUT_OF_MEMORY),
				 errmsg("could not create a libcurl handle")));
	return easy;
}

void
oq_connection_return_easy(OqConnection *conn, CURL *easy)
{
	if (conn->cxt != NULL && conn->nidle < conn->maxidle)
	{
		curl_easy_reset(easy);
		conn->idle_easy[conn->nidle++] = easy;
	}
	else
		curl_easy_cleanup(easy);
}

int64
oq_local_now_us(void)
{
	return GetCurrentTimestamp() +
		(int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
}

/*
 * A Date header says the server's time truncated to the second, so each
 * sample (Date minus the local time at receipt) underestimates the true
 * offset by up to a second plus latency.  The largest sample of a recent
 * window is therefore the best estimate; windows restart every minute so
 * that a local clock step is followed.
 */
void
oq_connection_clock_sample(OqConnection *conn, int64 date_unix_s, int64 local_us)
{
	int64		sample = date_unix_s * USECS_PER_SEC_64 - local_us;

	if (conn->clock_last_sample_us == 0 ||
		local_us - conn->clock_window_start_us > OQ_CLOCK_WINDOW_US)
	{
		conn->clock_window_start_us = local_us;
		conn->clock_offset_us = sample;
	}
	else if (sample > conn->clock_offset_us)
		conn->clock_offset_us = sample;
	conn->clock_last_sample_us = local_us;
}

bool
oq_server_now_us(OqConnection *conn, int64 *now_us)
{
	int64		local = oq_local_now_us();
	int64		offset = conn->clock_offset_us;

	if (conn->clock_last_sample_us == 0 ||
		local - conn->clock_last_sample_us > OQ_CLOCK_SAMPLE_MAX_AGE_US)
		return false;

	/* Within Date's resolution: the clocks agree, keep local precision */
	if (offset <= 0 && offset > -USECS_PER_SEC_64)
		offset = 0;
	*now_us = local + offset;
	return true;
}
