/*-------------------------------------------------------------------------
 *
 * connection.c
 *		Per-backend cache of S3 "connections": one entry per server and user
 *		mapping, holding the parsed options, the credentials and the HTTP
 *		pool (http.h) that keeps TCP/TLS connections alive across requests
 *		and statements.
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
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "connection.h"
#include "cred.h"

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

static void
oq_inval_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	HASH_SEQ_STATUS scan;
	OqConnectionEntry *e;

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
	oq_http_pool_release(&entry->http);
	explicit_bzero(&entry->sigkey, sizeof(entry->sigkey));
	oq_cred_release(&entry->cred);
	if (entry->cxt)
		MemoryContextDelete(entry->cxt);
	entry->cxt = NULL;
}

/* Free a connection nobody holds (it is out of the cache, or leaving it) */
static void
connection_free(OqConnection *conn)
{
	Assert(conn->pins == 0 && conn->http.nbatches == 0);
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
	OqHttpSettings http;

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

	MemoryContextSwitchTo(oldcxt);

	/* S3's requests, and the credential services', follow the options */
	http.connect_timeout_ms = o->connect_timeout_ms;
	http.request_timeout_ms = o->request_timeout_ms;
	http.request_deadline_ms = o->request_deadline_ms;
	http.max_retries = o->max_retries;
	http.ca_file = o->ca_file;

	/*
	 * Keep enough idle connections for every request a scan has in flight,
	 * plus those of a second batch (a nested loop's inner scan), so that
	 * connections are reused instead of reopened.
	 */
	oq_http_pool_init(&entry->http, &http, Max(o->max_concurrency, 4),
					  (long) (2 * o->max_concurrency), entry->cxt);

	entry->server_hashvalue =
		GetSysCacheHashValue1(FOREIGNSERVEROID, ObjectIdGetDatum(entry->serverid));
	entry->mapping_hashvalue = OidIsValid(entry->umid) ?
		GetSysCacheHashValue1(USERMAPPINGOID, ObjectIdGetDatum(entry->umid)) : 0;
	entry->role_hashvalue =
		GetSysCacheHashValue1(AUTHOID, ObjectIdGetDatum(entry->userid));

	/* the rules and static keys now; anything fetched on first use */
	oq_cred_init(&entry->cred, entry->server_name, entry->userid, entry->umid,
				 &entry->opts, &entry->user_opts, &http, entry->cxt);
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
	if (--conn->pins == 0 && conn->detached && conn->http.nbatches == 0)
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
		if (conn->pins == 0 && conn->http.nbatches == 0)
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
	oq_cred_check_use(&conn->cred);

	conn->pins++;
	cb->func = unpin_callback;
	cb->arg = conn;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);
	return conn;
}
