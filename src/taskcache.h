/*-------------------------------------------------------------------------
 *
 * taskcache.h
 *		Cache of task object bodies, keyed by object key and validated by
 *		ETag: the server-wide shared cache when oq_fdw is preloaded, else
 *		one per backend.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_TASKCACHE_H
#define OQ_TASKCACHE_H

#include "connection.h"

/* GUC oq_fdw.cache_size, in kB; 0 disables the cache (shared one too) */
extern int	oq_cache_size_kb;

/* Whether this session caches at all */
extern bool oq_cache_enabled(void);

/* Whether the cache holds the body of 'key' with ETag 'etag' for conn */
extern bool oq_cache_contains(OqConnection *conn, const char *key,
							  const char *etag);

/*
 * A palloc'd, NUL-terminated copy of the cached body of 'key' if its ETag
 * is 'etag' and it was read with conn's credentials, else NULL.
 */
extern char *oq_cache_get(OqConnection *conn, const char *key,
						  const char *etag, size_t *len);

/* Remember a body just read with conn; evicts others past the limit */
extern void oq_cache_put(OqConnection *conn, const char *key,
						 const char *etag, const char *body, size_t len);

/*
 * How many task bodies the cache holds for this server and user mapping
 * (some may be of tasks changed or deleted since): the planner weighs a
 * full listing, whose cached tasks need no GET, against index lookups.
 * The shared cache answers for the server, whatever the identity: an
 * estimate, never a promise of hits.
 */
extern int64 oq_cache_count(Oid serverid, Oid umid);

/* Count a listed task whose body had to be fetched */
extern void oq_cache_count_miss(void);

/* Forget the backend's cache (a server or user mapping changed) */
extern void oq_cache_reset(void);

#endif							/* OQ_TASKCACHE_H */
