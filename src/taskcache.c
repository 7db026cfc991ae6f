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
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "lib/ilist.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

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

const char *
oq_cache_get(Oid serverid, Oid umid, const char *key, const char *etag,
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

void
oq_cache_put(Oid serverid, Oid umid, const char *key, const char *etag,
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
		HASHCTL		ctl;

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

	if (cache == NULL || oq_cache_size_kb == 0)
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
