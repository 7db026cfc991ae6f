/*-------------------------------------------------------------------------
 *
 * keys.h
 *		The object keys of the oq bucket layout: tasks/{shard}/{id}.json and
 *		ready/{shard}/{minute}/{id}.  (Tag index keys are in tags.h.)
 *
 * Pure functions; frontend-compatible.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_KEYS_H
#define OQ_KEYS_H

#define OQ_UUID_LEN 36
#define OQ_MAX_SHARD_PREFIX_LEN 4

#define OQ_TASKS_PREFIX "tasks/"
#define OQ_READY_PREFIX "ready/"
#define OQ_TAGS_PREFIX	"tags/"

/* 8-4-4-4-12 lowercase hex digits, exactly OQ_UUID_LEN bytes */
extern bool oq_uuid_is_canonical(const char *s, size_t len);

/* The same with hex digits of either case (what a stored lease_id may be) */
extern bool oq_uuid_is_valid(const char *s, size_t len);

/* First prefix_len hex digits of the id, hyphens skipped; shard gets NUL */
extern void oq_task_shard(const char *id, int prefix_len, char *shard);

/* "tasks/{shard}/{id}.json" */
extern char *oq_task_key(const char *id, int prefix_len);

/*
 * Check that 'key' is tasks/{shard}/{id}.json with a canonical id whose
 * first prefix_len hex digits are the shard.  On success copies the id
 * (OQ_UUID_LEN + 1 bytes) and returns true; else sets *errmsg (unless
 * errmsg is NULL) to a message naming the key: a translated primary-message
 * style clause, which callers report with errdetail_internal("%s") or
 * errmsg_internal("%s"), as PostgreSQL reports GUC check hooks' messages.
 */
extern bool oq_task_key_parse(const char *key, int prefix_len, char *id,
							  char **errmsg);

/*
 * The same for a shard of any length 1..OQ_MAX_SHARD_PREFIX_LEN: while the
 * queue changes its shard_prefix_len, keys of both lengths stand side by
 * side.  *shard_len receives the key's.
 */
extern bool oq_task_key_parse_any(const char *key, char *id, int *shard_len,
								  char **errmsg);

/*
 * "ready/{shard}/{floor(unix_seconds / 60), 10 digits}/{id}", exactly as the
 * reference producer writes it (a pre-1970 time, which no real task has,
 * gives a negative minute such as "-000000001", as the reference would).
 */
extern char *oq_ready_key(const char *id, int prefix_len, int64 unix_seconds);

#endif							/* OQ_KEYS_H */
