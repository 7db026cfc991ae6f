/*-------------------------------------------------------------------------
 *
 * taskcache.h
 *		Per-backend cache of task object bodies, keyed by object key and
 *		validated by ETag.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_TASKCACHE_H
#define OQ_TASKCACHE_H

/* GUC oq_fdw.cache_size, in kB; 0 disables the cache */
extern int	oq_cache_size_kb;

/*
 * The cached body of 'key' if its ETag is 'etag', else NULL.  The body
 * stays valid until the next oq_cache_put() or oq_cache_reset().
 */
extern const char *oq_cache_get(Oid serverid, Oid umid, const char *key,
								const char *etag, size_t *len);

/* Remember a body just read; evicts the least recently used past the limit */
extern void oq_cache_put(Oid serverid, Oid umid, const char *key,
						 const char *etag, const char *body, size_t len);

/*
 * How many task bodies the cache holds for this server and user mapping
 * (some may be of tasks changed or deleted since): the planner weighs a
 * full listing, whose cached tasks need no GET, against index lookups.
 */
extern int64 oq_cache_count(Oid serverid, Oid umid);

/* Forget everything (a server or user mapping changed) */
extern void oq_cache_reset(void);

#endif							/* OQ_TASKCACHE_H */
