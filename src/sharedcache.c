/*-------------------------------------------------------------------------
 *
 * sharedcache.c
 *		A server-wide cache of task object bodies in shared memory, so that
 *		a session that never scanned a bucket finds its tasks already read.
 *
 * With oq_fdw in shared_preload_libraries, oq_fdw.shared_cache_size of
 * shared memory is reserved at server start (0 reserves none); nothing
 * beyond it is ever used.  It is split into OQ_SHCACHE_NPART partitions,
 * each with its own LWLock, so scans of different keys rarely wait for
 * each other.  A partition holds:
 *
 *	- entries, found through a chained hash by (database, server,
 *	  credentials identity, object key), each with the ETag of its body;
 *	- bodies, in fixed-size chunks chained by index, so a freed body
 *	  leaves no fragments;
 *	- the chunks and entries each server uses, for eviction's fairness.
 *
 * Eviction is a clock sweep (second chance) over a partition's entries,
 * with one rule on top: an entry of another server is taken only while
 * that server holds more than its fair share of the partition (its
 * chunks or entries over the total divided by the servers present).  A
 * bucket scanned over and over thus cannot push another below its share.
 *
 * A body is only ever copied out under the partition's lock, never lent:
 * readers get a palloc'd copy (allocated without erroring under the lock)
 * and writers copy theirs in.  Nothing in here reports an error while
 * holding a lock; an error elsewhere releases LWLocks on abort.
 *
 * Who may read what is decided by the key: the identity part is a digest
 * of everything that decides what S3 lets the request read (see
 * taskcache.c), so a body is served only to sessions that would sign
 * with the same credentials as the request that fetched it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/memutils.h"

#include "sharedcache.h"

int			oq_shared_cache_size_kb = 65536;
bool		oq_shared_cache_on = true;

const char *const oq_shcache_stat_names[OQ_SHCACHE_NUM_STATS] = {
#define OQ_SHCACHE_STAT_NAME(sym, name) name,
	OQ_SHCACHE_STAT_LIST(OQ_SHCACHE_STAT_NAME)
#undef OQ_SHCACHE_STAT_NAME
};

#define OQ_SHCACHE_NPART		16
/*
 * Bodies of generated tasks are 600 to 850 bytes: 256-byte chunks waste
 * little of them, and an entry for every three chunks is about one per
 * body.
 */
#define OQ_SHCACHE_CHUNK		256 /* bytes of body per chunk */
#define OQ_SHCACHE_CHUNKS_PER_ENTRY 3
#define OQ_SHCACHE_KEY_LEN		64	/* task keys are ~50 characters */
#define OQ_SHCACHE_ETAG_LEN		64
#define OQ_SHCACHE_MAX_SERVERS	32	/* per partition, for fairness */
#define OQ_SHCACHE_MAX_COUNTS	64	/* servers with a remembered count */
#define OQ_SHCACHE_MIN_CHUNKS	16	/* a smaller partition is no cache */
#define OQ_SHCACHE_TRANCHE		"oq_fdw"

typedef struct OqShEntry
{
	uint32		hash;
	int32		next;			/* in its hash chain, or the free list */
	Oid			dbid;
	Oid			serverid;
	char		ident[OQ_SHCACHE_IDENT_LEN];
	char		key[OQ_SHCACHE_KEY_LEN];
	char		etag[OQ_SHCACHE_ETAG_LEN];
	uint32		len;
	int32		first_chunk;
	int32		nchunks;
	int16		slot;			/* its server in the partition's servers[] */
	bool		in_use;
	pg_atomic_uint32 usage;		/* set by readers; the clock clears it */
} OqShEntry;

typedef struct OqShServer
{
	Oid			dbid;
	Oid			serverid;
	int32		chunks;
	int32		entries;		/* 0: the slot is free */
} OqShServer;

typedef struct OqShPartition
{
	LWLock	   *lock;
	int32		nentries;
	int32		nchunks;
	int32		nbuckets;
	int32		max_body_chunks;	/* larger bodies are not cached */
	int32		free_entry;		/* list through OqShEntry.next */
	int32		free_chunk;		/* list through chunk_next[] */
	int32		nfree_chunks;
	int32		used_entries;
	int32		clock_hand;
	OqShEntry  *entries;
	int32	   *chunk_next;
	int32	   *buckets;
	char	   *data;
	OqShServer	servers[OQ_SHCACHE_MAX_SERVERS];
} OqShPartition;

typedef struct OqShCount
{
	Oid			dbid;
	Oid			serverid;
	double		ntasks;
	TimestampTz listed_at;
} OqShCount;

typedef struct OqShHeader
{
	Size		capacity;		/* the shared memory it occupies */
	pg_atomic_uint64 hits;
	pg_atomic_uint64 misses;
	pg_atomic_uint64 evictions;
	pg_atomic_uint64 skipped;
	LWLock	   *count_lock;
	int			count_hand;
	OqShCount	counts[OQ_SHCACHE_MAX_COUNTS];
	OqShPartition parts[OQ_SHCACHE_NPART];
} OqShHeader;

static OqShHeader *shc = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* The shared memory it asks for: oq_fdw.shared_cache_size, or 0 */
static Size
total_size(void)
{
	Size		size = (Size) oq_shared_cache_size_kb * 1024;

	if (size < MAXALIGN(sizeof(OqShHeader)) + OQ_SHCACHE_NPART * 1024)
		return 0;
	return size;
}

static Size
part_bytes(void)
{
	Size		size = total_size();

	if (size == 0)
		return 0;
	return ((size - MAXALIGN(sizeof(OqShHeader))) / OQ_SHCACHE_NPART) & ~((Size) MAXIMUM_ALIGNOF - 1);
}

/* The room the arrays of a partition of nchunks chunks take */
static Size
part_layout(int32 nchunks, int32 *nentries)
{
	*nentries = Max(nchunks / OQ_SHCACHE_CHUNKS_PER_ENTRY, 1);
	return MAXALIGN(sizeof(OqShEntry) * (Size) *nentries) +
		MAXALIGN(sizeof(int32) * (Size) nchunks) +
		MAXALIGN(sizeof(int32) * (Size) *nentries) +
		(Size) OQ_SHCACHE_CHUNK * nchunks;
}

/* How many chunks fit in bytes (with their share of entries and index) */
static int32
part_chunks(Size bytes)
{
	Size		unit = OQ_SHCACHE_CHUNK + sizeof(int32) +
		(sizeof(OqShEntry) + sizeof(int32)) / OQ_SHCACHE_CHUNKS_PER_ENTRY;
	Size		n = bytes / unit;
	int32		nentries;

	if (n > PG_INT32_MAX / 2)
		n = PG_INT32_MAX / 2;
	while (n > 0 && part_layout((int32) n, &nentries) > bytes)
		n--;
	return (int32) n;
}

static void
oq_shcache_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(total_size());
	RequestNamedLWLockTranche(OQ_SHCACHE_TRANCHE, OQ_SHCACHE_NPART + 1);
}

static void
init_partition(OqShPartition *p, char *base, Size bytes)
{
	int32		i;

	memset(p, 0, sizeof(*p));
	p->nchunks = part_chunks(bytes);
	if (p->nchunks < OQ_SHCACHE_MIN_CHUNKS)
	{
		p->nchunks = p->nentries = p->nbuckets = 0;
		return;
	}
	(void) part_layout(p->nchunks, &p->nentries);
	p->nbuckets = p->nentries;
	p->max_body_chunks = Max(p->nchunks / 8, 1);

	p->entries = (OqShEntry *) base;
	base += MAXALIGN(sizeof(OqShEntry) * (Size) p->nentries);
	p->chunk_next = (int32 *) base;
	base += MAXALIGN(sizeof(int32) * (Size) p->nchunks);
	p->buckets = (int32 *) base;
	base += MAXALIGN(sizeof(int32) * (Size) p->nbuckets);
	p->data = base;

	for (i = 0; i < p->nentries; i++)
	{
		OqShEntry  *e = &p->entries[i];

		memset(e, 0, sizeof(*e));
		e->next = i + 1 < p->nentries ? i + 1 : -1;
		pg_atomic_init_u32(&e->usage, 0);
	}
	for (i = 0; i < p->nchunks; i++)
		p->chunk_next[i] = i + 1 < p->nchunks ? i + 1 : -1;
	for (i = 0; i < p->nbuckets; i++)
		p->buckets[i] = -1;
	p->free_entry = 0;
	p->free_chunk = 0;
	p->nfree_chunks = p->nchunks;
}

static void
oq_shcache_startup(void)
{
	Size		size = total_size();
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	if (size == 0)
		return;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shc = ShmemInitStruct("oq_fdw shared cache", size, &found);
	if (!found)
	{
		LWLockPadded *locks = GetNamedLWLockTranche(OQ_SHCACHE_TRANCHE);
		char	   *base = (char *) shc + MAXALIGN(sizeof(OqShHeader));
		Size		bytes = part_bytes();
		int			i;

		memset(shc, 0, sizeof(OqShHeader));
		shc->capacity = size;
		pg_atomic_init_u64(&shc->hits, 0);
		pg_atomic_init_u64(&shc->misses, 0);
		pg_atomic_init_u64(&shc->evictions, 0);
		pg_atomic_init_u64(&shc->skipped, 0);
		shc->count_lock = &locks[OQ_SHCACHE_NPART].lock;
		for (i = 0; i < OQ_SHCACHE_NPART; i++)
		{
			init_partition(&shc->parts[i], base + i * bytes, bytes);
			shc->parts[i].lock = &locks[i].lock;
		}
	}
	LWLockRelease(AddinShmemInitLock);
}

void
oq_shcache_install_hooks(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = oq_shcache_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = oq_shcache_startup;
}

bool
oq_shcache_exists(void)
{
	return shc != NULL;
}

bool
oq_shcache_active(void)
{
	return shc != NULL && oq_shared_cache_on;
}

/*
 * Lookup
 */

static uint32
key_hash(const OqShKey *k)
{
	uint32		h = hash_bytes((const unsigned char *) k->key, strlen(k->key));

	h = hash_combine(h, hash_bytes((const unsigned char *) k->ident, OQ_SHCACHE_IDENT_LEN));
	h = hash_combine(h, hash_bytes_uint32(k->serverid));
	return hash_combine(h, hash_bytes_uint32(k->dbid));
}

static OqShPartition *
partition_of(uint32 hash)
{
	OqShPartition *p = &shc->parts[hash % OQ_SHCACHE_NPART];

	return p->nentries > 0 ? p : NULL;
}

static int32 *
bucket_of(OqShPartition *p, uint32 hash)
{
	return &p->buckets[(hash / OQ_SHCACHE_NPART) % (uint32) p->nbuckets];
}

/* The entry for k, with its partition's lock held in either mode */
static OqShEntry *
find(OqShPartition *p, uint32 hash, const OqShKey *k)
{
	int32		i;

	for (i = *bucket_of(p, hash); i >= 0; i = p->entries[i].next)
	{
		OqShEntry  *e = &p->entries[i];

		if (e->hash == hash && e->serverid == k->serverid &&
			e->dbid == k->dbid &&
			memcmp(e->ident, k->ident, OQ_SHCACHE_IDENT_LEN) == 0 &&
			strcmp(e->key, k->key) == 0)
			return e;
	}
	return NULL;
}

static bool
cacheable(const OqShKey *k, const char *etag)
{
	return etag != NULL && strlen(etag) < OQ_SHCACHE_ETAG_LEN &&
		strlen(k->key) < OQ_SHCACHE_KEY_LEN;
}

bool
oq_shcache_contains(const OqShKey *k, const char *etag)
{
	uint32		hash;
	OqShPartition *p;
	OqShEntry  *e;
	bool		result;

	if (!oq_shcache_active() || !cacheable(k, etag))
		return false;
	hash = key_hash(k);
	if ((p = partition_of(hash)) == NULL)
		return false;
	LWLockAcquire(p->lock, LW_SHARED);
	e = find(p, hash, k);
	result = e != NULL && strcmp(e->etag, etag) == 0;
	LWLockRelease(p->lock);
	return result;
}

char *
oq_shcache_get(const OqShKey *k, const char *etag, size_t *len)
{
	uint32		hash;
	OqShPartition *p;
	OqShEntry  *e;
	char	   *body = NULL;

	if (!oq_shcache_active() || !cacheable(k, etag))
		return NULL;
	hash = key_hash(k);
	if ((p = partition_of(hash)) == NULL)
		return NULL;
	LWLockAcquire(p->lock, LW_SHARED);
	e = find(p, hash, k);
	if (e != NULL && strcmp(e->etag, etag) == 0)
	{
		/* no error under the lock: out of memory is a miss */
		body = palloc_extended(e->len + 1, MCXT_ALLOC_NO_OOM);
		if (body)
		{
			int32		c = e->first_chunk;
			uint32		done = 0;

			while (done < e->len)
			{
				uint32		n = Min(e->len - done, OQ_SHCACHE_CHUNK);

				memcpy(body + done, p->data + (Size) c * OQ_SHCACHE_CHUNK, n);
				done += n;
				c = p->chunk_next[c];
			}
			body[e->len] = '\0';
			*len = e->len;
			pg_atomic_write_u32(&e->usage, 1);
		}
	}
	LWLockRelease(p->lock);
	if (body)
		pg_atomic_fetch_add_u64(&shc->hits, 1);
	return body;
}

void
oq_shcache_count_miss(void)
{
	if (oq_shcache_active())
		pg_atomic_fetch_add_u64(&shc->misses, 1);
}

/*
 * Insertion and eviction, with the partition's lock held exclusively
 */

static void
remove_entry(OqShPartition *p, int32 idx)
{
	OqShEntry  *e = &p->entries[idx];
	int32	   *link = bucket_of(p, e->hash);
	OqShServer *s = &p->servers[e->slot];

	while (*link != idx)
		link = &p->entries[*link].next;
	*link = e->next;

	if (e->nchunks > 0)
	{
		int32		last = e->first_chunk;
		int32		i;

		for (i = 1; i < e->nchunks; i++)
			last = p->chunk_next[last];
		p->chunk_next[last] = p->free_chunk;
		p->free_chunk = e->first_chunk;
		p->nfree_chunks += e->nchunks;
	}
	s->chunks -= e->nchunks;
	s->entries--;
	p->used_entries--;

	e->in_use = false;
	e->next = p->free_entry;
	p->free_entry = idx;
}

/* The servers[] slot of a server, claimed if it has none; -1 when full */
static int
server_slot(OqShPartition *p, Oid dbid, Oid serverid)
{
	int			i;
	int			free_slot = -1;

	for (i = 0; i < OQ_SHCACHE_MAX_SERVERS; i++)
	{
		OqShServer *s = &p->servers[i];

		if (s->entries > 0 && s->dbid == dbid && s->serverid == serverid)
			return i;
		if (s->entries == 0 && free_slot < 0)
			free_slot = i;
	}
	if (free_slot >= 0)
	{
		p->servers[free_slot].dbid = dbid;
		p->servers[free_slot].serverid = serverid;
		p->servers[free_slot].chunks = 0;
	}
	return free_slot;
}

/*
 * Evict one entry the clock comes to, for an insertion by server 'slot':
 * its own entries, or those of a server over its fair share.  False when
 * none may go (every other server is within its share).
 */
static bool
evict_one(OqShPartition *p, int slot)
{
	int			nservers = 0;
	int			i;
	int32		step;

	for (i = 0; i < OQ_SHCACHE_MAX_SERVERS; i++)
		if (p->servers[i].entries > 0 || i == slot)
			nservers++;

	for (step = 0; step < 2 * p->nentries + 1; step++)
	{
		int32		idx = p->clock_hand;
		OqShEntry  *e = &p->entries[idx];
		OqShServer *s;

		p->clock_hand = (idx + 1) % p->nentries;
		if (!e->in_use)
			continue;
		s = &p->servers[e->slot];
		if (e->slot != slot &&
			(int64) s->chunks * nservers <= p->nchunks &&
			(int64) s->entries * nservers <= p->nentries)
			continue;
		if (pg_atomic_read_u32(&e->usage) > 0)
		{
			pg_atomic_write_u32(&e->usage, 0);
			continue;
		}
		remove_entry(p, idx);
		pg_atomic_fetch_add_u64(&shc->evictions, 1);
		return true;
	}
	return false;
}

void
oq_shcache_put(const OqShKey *k, const char *etag, const char *body, size_t len)
{
	uint32		hash;
	OqShPartition *p;
	OqShEntry  *e;
	int32		need;
	int32		idx;
	int32		i;
	int32		c;
	int			slot;
	bool		stored = false;

	if (!oq_shcache_active() || !cacheable(k, etag))
		return;
	hash = key_hash(k);
	if ((p = partition_of(hash)) == NULL)
		return;
	if (len > (size_t) p->max_body_chunks * OQ_SHCACHE_CHUNK)
	{
		pg_atomic_fetch_add_u64(&shc->skipped, 1);
		return;
	}
	need = (int32) ((len + OQ_SHCACHE_CHUNK - 1) / OQ_SHCACHE_CHUNK);

	LWLockAcquire(p->lock, LW_EXCLUSIVE);
	e = find(p, hash, k);
	if (e != NULL && strcmp(e->etag, etag) == 0 && e->len == len)
	{
		/* another session stored the same version meanwhile */
		pg_atomic_write_u32(&e->usage, 1);
		LWLockRelease(p->lock);
		return;
	}
	if (e != NULL)
		remove_entry(p, (int32) (e - p->entries));

	slot = server_slot(p, k->dbid, k->serverid);
	if (slot >= 0)
	{
		while (p->nfree_chunks < need || p->free_entry < 0)
			if (!evict_one(p, slot))
				break;
		stored = p->nfree_chunks >= need && p->free_entry >= 0;
	}
	if (stored)
	{
		idx = p->free_entry;
		e = &p->entries[idx];
		p->free_entry = e->next;

		e->hash = hash;
		e->dbid = k->dbid;
		e->serverid = k->serverid;
		memcpy(e->ident, k->ident, OQ_SHCACHE_IDENT_LEN);
		strlcpy(e->key, k->key, OQ_SHCACHE_KEY_LEN);
		strlcpy(e->etag, etag, OQ_SHCACHE_ETAG_LEN);
		e->len = (uint32) len;
		e->nchunks = need;
		e->slot = (int16) slot;
		e->in_use = true;
		pg_atomic_write_u32(&e->usage, 1);

		/* the body into chunks taken off the free list */
		e->first_chunk = need > 0 ? p->free_chunk : -1;
		for (i = 0; i < need; i++)
		{
			size_t		n = Min(len - (size_t) i * OQ_SHCACHE_CHUNK, OQ_SHCACHE_CHUNK);

			c = p->free_chunk;
			p->free_chunk = p->chunk_next[c];
			memcpy(p->data + (Size) c * OQ_SHCACHE_CHUNK,
				   body + (size_t) i * OQ_SHCACHE_CHUNK, n);
			if (i + 1 < need)
				p->chunk_next[c] = p->free_chunk;
		}
		p->nfree_chunks -= need;

		e->next = *bucket_of(p, hash);
		*bucket_of(p, hash) = idx;
		p->servers[slot].chunks += need;
		p->servers[slot].entries++;
		p->used_entries++;
	}
	LWLockRelease(p->lock);
	if (!stored)
		pg_atomic_fetch_add_u64(&shc->skipped, 1);
}

int64
oq_shcache_server_entries(Oid serverid)
{
	int64		n = 0;
	int			i;
	int			j;

	if (shc == NULL)
		return 0;
	for (i = 0; i < OQ_SHCACHE_NPART; i++)
	{
		OqShPartition *p = &shc->parts[i];

		if (p->nentries == 0)
			continue;
		LWLockAcquire(p->lock, LW_SHARED);
		for (j = 0; j < OQ_SHCACHE_MAX_SERVERS; j++)
			if (p->servers[j].entries > 0 &&
				p->servers[j].dbid == MyDatabaseId &&
				p->servers[j].serverid == serverid)
				n += p->servers[j].entries;
		LWLockRelease(p->lock);
	}
	return n;
}

void
oq_shcache_stats(int64 *values)
{
	int			i;

	memset(values, 0, sizeof(int64) * OQ_SHCACHE_NUM_STATS);
	if (shc == NULL)
		return;
	for (i = 0; i < OQ_SHCACHE_NPART; i++)
	{
		OqShPartition *p = &shc->parts[i];

		if (p->nentries == 0)
			continue;
		LWLockAcquire(p->lock, LW_SHARED);
		values[OQ_SHCACHE_STAT_BYTES] +=
			(int64) (p->nchunks - p->nfree_chunks) * OQ_SHCACHE_CHUNK +
			(int64) p->used_entries * sizeof(OqShEntry);
		values[OQ_SHCACHE_STAT_ENTRIES] += p->used_entries;
		LWLockRelease(p->lock);
	}
	values[OQ_SHCACHE_STAT_CAPACITY_BYTES] = (int64) shc->capacity;
	values[OQ_SHCACHE_STAT_HITS] = (int64) pg_atomic_read_u64(&shc->hits);
	values[OQ_SHCACHE_STAT_MISSES] = (int64) pg_atomic_read_u64(&shc->misses);
	values[OQ_SHCACHE_STAT_EVICTIONS] = (int64) pg_atomic_read_u64(&shc->evictions);
	values[OQ_SHCACHE_STAT_SKIPPED] = (int64) pg_atomic_read_u64(&shc->skipped);
}

/*
 * Task counts of the last complete listings
 */

void
oq_shcache_note_task_count(Oid serverid, double ntasks, TimestampTz listed_at)
{
	int			i;
	int			at = -1;

	if (!oq_shcache_active())
		return;
	LWLockAcquire(shc->count_lock, LW_EXCLUSIVE);
	for (i = 0; i < OQ_SHCACHE_MAX_COUNTS && at < 0; i++)
		if (shc->counts[i].dbid == MyDatabaseId &&
			shc->counts[i].serverid == serverid)
			at = i;
	for (i = 0; i < OQ_SHCACHE_MAX_COUNTS && at < 0; i++)
		if (!OidIsValid(shc->counts[i].serverid))
			at = i;
	if (at < 0)
	{
		/* full: replace the slots in turn */
		at = shc->count_hand;
		shc->count_hand = (at + 1) % OQ_SHCACHE_MAX_COUNTS;
	}
	shc->counts[at].dbid = MyDatabaseId;
	shc->counts[at].serverid = serverid;
	shc->counts[at].ntasks = ntasks;
	shc->counts[at].listed_at = listed_at;
	LWLockRelease(shc->count_lock);
}

bool
oq_shcache_task_count(Oid serverid, double *ntasks, TimestampTz *listed_at)
{
	int			i;
	bool		found = false;

	if (!oq_shcache_active())
		return false;
	LWLockAcquire(shc->count_lock, LW_SHARED);
	for (i = 0; i < OQ_SHCACHE_MAX_COUNTS && !found; i++)
		if (shc->counts[i].dbid == MyDatabaseId &&
			shc->counts[i].serverid == serverid)
		{
			*ntasks = shc->counts[i].ntasks;
			*listed_at = shc->counts[i].listed_at;
			found = true;
		}
	LWLockRelease(shc->count_lock);
	return found;
}
