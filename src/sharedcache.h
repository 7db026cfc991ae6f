/*-------------------------------------------------------------------------
 *
 * sharedcache.h
 *		The server-wide cache of task object bodies, in shared memory, when
 *		oq_fdw is in shared_preload_libraries.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_SHAREDCACHE_H
#define OQ_SHAREDCACHE_H

#include "datatype/timestamp.h"

/* GUC oq_fdw.shared_cache_size, in kB (postmaster start); 0: no shared cache */
extern int	oq_shared_cache_size_kb;

/* GUC oq_fdw.shared_cache: whether this session uses the shared cache */
extern bool oq_shared_cache_on;

/* The identity a body was read with: 32 hex digits of a SHA-256 */
#define OQ_SHCACHE_IDENT_LEN	32

/* What an entry is found by; build with oq_shcache_key() */
typedef struct OqShKey
{
	Oid			dbid;
	Oid			serverid;
	char		ident[OQ_SHCACHE_IDENT_LEN];
	const char *key;			/* the object key */
} OqShKey;

/*
 * The counters oq_stats() shows for the shared cache, server-wide since
 * the server started (oq_stats_reset() does not touch them).  The names
 * are an interface (bench/ reads them): keep them.
 */
#define OQ_SHCACHE_STAT_LIST(X) \
	X(BYTES, "shared_cache_bytes") \
	X(CAPACITY_BYTES, "shared_cache_capacity_bytes") \
	X(ENTRIES, "shared_cache_entries") \
	X(HITS, "shared_cache_hits") \
	X(MISSES, "shared_cache_misses") \
	X(EVICTIONS, "shared_cache_evictions") \
	X(SKIPPED, "shared_cache_skipped")

#define OQ_SHCACHE_STAT_ENUM(sym, name) OQ_SHCACHE_STAT_##sym,
typedef enum OqShStat
{
	OQ_SHCACHE_STAT_LIST(OQ_SHCACHE_STAT_ENUM)
	OQ_SHCACHE_NUM_STATS
} OqShStat;
#undef OQ_SHCACHE_STAT_ENUM

extern const char *const oq_shcache_stat_names[OQ_SHCACHE_NUM_STATS];

/* From _PG_init while shared_preload_libraries are loaded: ask for memory */
extern void oq_shcache_install_hooks(void);

/* Whether the shared cache exists (and this session may use it) */
extern bool oq_shcache_exists(void);
extern bool oq_shcache_active(void);

/* Whether the entry for k holds the body with this ETag */
extern bool oq_shcache_contains(const OqShKey *k, const char *etag);

/*
 * A palloc'd, NUL-terminated copy of the body for k if its ETag is 'etag',
 * else NULL.  Counts a hit.
 */
extern char *oq_shcache_get(const OqShKey *k, const char *etag, size_t *len);

/* Remember a body just read, evicting others as the rules allow */
extern void oq_shcache_put(const OqShKey *k, const char *etag,
						   const char *body, size_t len);

/* A listed task whose body had to be fetched */
extern void oq_shcache_count_miss(void);

/*
 * How many bodies the cache holds for a server of this database, whatever
 * the identity that read them (for the planner's costs only).
 */
extern int64 oq_shcache_server_entries(Oid serverid);

/* The counters, in the order of OQ_SHCACHE_STAT_LIST (zeros without one) */
extern void oq_shcache_stats(int64 *values);

/*
 * The number of tasks the last complete listing of a server saw, shared
 * by every session of the database (for the planner's estimates), with
 * the time of that listing.  Get returns false when no listing was noted (or there is no shared memory).
 */
extern void oq_shcache_note_task_count(Oid serverid, double ntasks,
									   TimestampTz listed_at);
extern bool oq_shcache_task_count(Oid serverid, double *ntasks,
								  TimestampTz *listed_at);

#endif							/* OQ_SHAREDCACHE_H */
