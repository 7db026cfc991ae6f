/*-------------------------------------------------------------------------
 *
 * taskcache.c
 *		An ETag-keyed cache of task object bodies, so that scanning an
 *		unchanged bucket again costs listings only.
 *
 * ListObjectsV2 returns every object's ETag, and an object's ETag changes
 * whenever the object does: a listed key whose ETag matches the cached one
 * has exactly the cached body, and needs no GET.  A changed object has a
 * new ETag and is fetched again; an added one is fetched; a deleted one is
 * not listed, so its stale entry is never used and ages out.  Entries are
 * per server and user mapping, so a user never reads through the cache
 * what their own credentials could not fetch.
 *
 * The cache holds raw bodies (decoding one costs microseconds) and is
 * bounded by oq_fdw.cache_size; the least recently used entries go
 * first.  It lives for the backend, like the connection cache.
 *
 * With oq_fdw preloaded, the shared cache (sharedcache.c) takes its place
 * for the whole server and the backend keeps no bodies.  Its entries are
 * found by the credentials identity rather than the user mapping: a
 * digest of what decides what S3 lets a request read (endpoint, bucket,
 * keys with their secret, the server's environment, the role assumed).
 * Sessions signing alike share bodies, one with other credentials finds
 * none, and an altered server or mapping needs no reset: what changed
 * changes the identity, or does not matter to what a body is.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "lib/ilist.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "connection.h"
#include "s3sign.h"
#include "sharedcache.h"
#include "stats.h"
#include "taskcache.h"

int			oq_cache_size_kb = 65536;

/* Task keys are tasks/{shard}/{uuid}.json: short.  Longer ones are not cached */
#define OQ_CACHE_KEY_LEN	64
#define OQ_CACHE_ETAG_LEN	64

typedef struct OqCacheKey
{
	Oid			serverid;
	Oid			umid;
	char		key[OQ_CACHE_KEY_LEN];
} OqCacheKey;

typedef struct OqCacheEntry
{
	OqCacheKey	id;				/* hash key: must be first */
	char		etag[OQ_CACHE_ETAG_LEN];
	char	   *body;
	size_t		len;
	dlist_node	lru;			/* most recently used at the head */
} OqCacheEntry;

static HTAB *cache = NULL;
static MemoryContext cache_cxt = NULL;

/*
 * A server, user mapping or role changed: the bodies of this backend's
 * cache were read with what changed, so forget them all (the shared
 * cache keys bodies by credentials identity and needs no reset).
 */
static void
cache_inval_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	oq_cache_reset();
}
static dlist_head lru = DLIST_STATIC_INIT(lru);
static size_t cache_bytes = 0;

/* What an entry costs beyond its body: the hash entry and allocation overhead */
#define OQ_CACHE_ENTRY_OVERHEAD (sizeof(OqCacheEntry) + 64)

static bool
make_key(OqCacheKey *id, Oid serverid, Oid umid, const char *key)
{
	size_t		len = strlen(key);

	if (len >= OQ_CACHE_KEY_LEN)
		return false;
	memset(id, 0, sizeof(*id));
	id->serverid = serverid;
	id->umid = umid;
	memcpy(id->key, key, len);
	return true;
}

static void
remove_entry(OqCacheEntry *entry)
{
	dlist_delete(&entry->lru);
	cache_bytes -= entry->len + OQ_CACHE_ENTRY_OVERHEAD;
	pfree(entry->body);
	hash_search(cache, &entry->id, HASH_REMOVE, NULL);
}

/* Evict the least recently used entries until 'extra' more bytes fit */
static void
trim(size_t extra)
{
	size_t		limit = (size_t) oq_cache_size_kb * 1024;

	while (cache_bytes + extra > limit && !dlist_is_empty(&lru))
		remove_entry(dlist_container(OqCacheEntry, lru, dlist_tail_node(&lru)));
}

static const char *
local_get(Oid serverid, Oid umid, const char *key, const char *etag,
		  size_t *len)
{
	OqCacheKey	id;
	OqCacheEntry *entry;

	/* oq_fdw.cache_size may have shrunk since the entries were added */
	trim(0);
	if (cache == NULL || etag == NULL || oq_cache_size_kb == 0 ||
		!make_key(&id, serverid, umid, key))
		return NULL;

	entry = hash_search(cache, &id, HASH_FIND, NULL);
	if (entry == NULL || strcmp(entry->etag, etag) != 0)
		return NULL;

	dlist_move_head(&lru, &entry->lru);
	*len = entry->len;
	return entry->body;
}

static void
local_put(Oid serverid, Oid umid, const char *key, const char *etag,
		  const char *body, size_t len)
{
	size_t		limit = (size_t) oq_cache_size_kb * 1024;
	OqCacheKey	id;
	OqCacheEntry *entry;
	bool		found;

	if (limit == 0 || etag == NULL || strlen(etag) >= OQ_CACHE_ETAG_LEN ||
		len + OQ_CACHE_ENTRY_OVERHEAD > limit || !make_key(&id, serverid, umid, key))
		return;

	if (cache == NULL)
	{
		static bool inval_registered = false;
		HASHCTL		ctl;

		/* bodies are read with a server, a mapping, a role: one changed */
		if (!inval_registered)
		{
			CacheRegisterSyscacheCallback(FOREIGNSERVEROID, cache_inval_callback, (Datum) 0);
			CacheRegisterSyscacheCallback(USERMAPPINGOID, cache_inval_callback, (Datum) 0);
			CacheRegisterSyscacheCallback(AUTHOID, cache_inval_callback, (Datum) 0);
			inval_registered = true;
		}
		cache_cxt = AllocSetContextCreate(TopMemoryContext, "oq_fdw task cache",
										  ALLOCSET_DEFAULT_SIZES);
		ctl.keysize = sizeof(OqCacheKey);
		ctl.entrysize = sizeof(OqCacheEntry);
		ctl.hcxt = cache_cxt;
		cache = hash_create("oq_fdw task cache", 1024, &ctl,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}

	entry = hash_search(cache, &id, HASH_FIND, NULL);
	if (entry)
		remove_entry(entry);

	/* make room first, so the hash entry below is not the one evicted */
	trim(len + OQ_CACHE_ENTRY_OVERHEAD);

	entry = hash_search(cache, &id, HASH_ENTER, &found);
	strlcpy(entry->etag, etag, OQ_CACHE_ETAG_LEN);
	entry->body = MemoryContextAlloc(cache_cxt, len + 1);
	memcpy(entry->body, body, len);
	entry->body[len] = '\0';
	entry->len = len;
	dlist_push_head(&lru, &entry->lru);
	cache_bytes += len + OQ_CACHE_ENTRY_OVERHEAD;
}

int64
oq_cache_count(Oid serverid, Oid umid)
{
	HASH_SEQ_STATUS seq;
	OqCacheEntry *entry;
	int64		n = 0;

	if (oq_cache_size_kb == 0)
		return 0;
	if (oq_shcache_active())
		return oq_shcache_server_entries(serverid);
	if (cache == NULL)
		return 0;
	/* at planning time only, and a few entries per kB of cache: a walk is fine */
	hash_seq_init(&seq, cache);
	while ((entry = (OqCacheEntry *) hash_seq_search(&seq)) != NULL)
		if (entry->id.serverid == serverid && entry->id.umid == umid)
			n++;
	return n;
}

void
oq_cache_reset(void)
{
	if (cache_cxt)
		MemoryContextDelete(cache_cxt);
	cache_cxt = NULL;
	cache = NULL;
	dlist_init(&lru);
	cache_bytes = 0;
}

/*
 * The credentials identity of conn, for the shared cache: the first 32 hex
 * digits of a SHA-256 of every option that decides what S3 lets its
 * requests read.  The secret goes in, so a mapping with the right key id
 * and a wrong secret is another identity; only the digest is kept, and
 * the buffer that held the secret is wiped.  Temporary credentials
 * (assumed roles, the server's environment) are identified by where they
 * come from, which stays the same while they are renewed.  False when
 * the digest could not be computed: no caching then.
 */
static bool
cache_identity(OqConnection *conn, OqShKey *k, const char *key)
{
	const OqServerOptions *o = &conn->opts;
	const OqUserOptions *u = &conn->user_opts;
	const char *parts[] = {
		"oq_fdw shared cache identity 1",
		o->endpoint, o->bucket, o->region, o->path_style ? "path" : "host",
		u->access_key_id, u->secret_access_key, u->session_token,
		u->use_server_environment ? "server environment" : "",
		o->assume_role_arn, o->external_id, o->role_session_name,
		o->sts_endpoint
	};
	StringInfoData buf;
	char		hex[2 * 32 + 1];
	size_t		i;

	initStringInfo(&buf);
	for (i = 0; i < lengthof(parts); i++)
	{
		/* each part is absent, or its length and bytes: no ambiguity */
		if (parts[i] == NULL)
			appendStringInfoChar(&buf, '-');
		else
			appendStringInfo(&buf, "%zu:%s", strlen(parts[i]), parts[i]);
		appendStringInfoChar(&buf, '\0');
	}
	oq_sha256_hex(buf.data, buf.len, hex);
	explicit_bzero(buf.data, buf.len);
	pfree(buf.data);
	if (hex[0] == '\0')
		return false;

	k->dbid = MyDatabaseId;
	k->serverid = conn->serverid;
	memcpy(k->ident, hex, OQ_SHCACHE_IDENT_LEN);
	k->key = key;
	return true;
}

bool
oq_cache_enabled(void)
{
	return oq_cache_size_kb > 0;
}

bool
oq_cache_contains(OqConnection *conn, const char *key, const char *etag)
{
	OqShKey		k;
	size_t		len;

	if (!oq_cache_enabled() || etag == NULL)
		return false;
	if (oq_shcache_active())
		return cache_identity(conn, &k, key) && oq_shcache_contains(&k, etag);
	return local_get(conn->serverid, conn->umid, key, etag, &len) != NULL;
}

char *
oq_cache_get(OqConnection *conn, const char *key, const char *etag,
			 size_t *len)
{
	OqShKey		k;
	const char *cached;
	char	   *body;

	if (!oq_cache_enabled() || etag == NULL)
		return NULL;
	if (oq_shcache_active())
		return cache_identity(conn, &k, key) ? oq_shcache_get(&k, etag, len) : NULL;
	cached = local_get(conn->serverid, conn->umid, key, etag, len);
	if (cached == NULL)
		return NULL;
	body = palloc(*len + 1);
	memcpy(body, cached, *len + 1);
	return body;
}

void
oq_cache_put(OqConnection *conn, const char *key, const char *etag,
			 const char *body, size_t len)
{
	OqShKey		k;

	if (!oq_cache_enabled() || etag == NULL)
		return;
	if (oq_shcache_active())
	{
		if (cache_identity(conn, &k, key))
			oq_shcache_put(&k, etag, body, len);
		return;
	}
	local_put(conn->serverid, conn->umid, key, etag, body, len);
}

void
oq_cache_count_miss(void)
{
	oq_stat_inc(OQ_STAT_CACHE_MISSES);
	oq_shcache_count_miss();
}
