/*-------------------------------------------------------------------------
 *
 * stats.h
 *		Per-backend counters of what oq_fdw did, shown by oq_stats().
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_STATS_H
#define OQ_STATS_H

/*
 * One list drives the enum, the names oq_stats() prints and their order,
 * so a counter cannot be added to one and forgotten in another.
 */
#define OQ_STAT_LIST(X) \
	X(REQUESTS_LIST, "requests_list") \
	X(REQUESTS_GET, "requests_get") \
	X(REQUESTS_PUT, "requests_put") \
	X(REQUESTS_DELETE, "requests_delete") \
	X(REQUESTS_HEAD, "requests_head") \
	X(REQUESTS_CREDENTIALS, "requests_credentials") \
	X(PRECONDITION_FAILED, "precondition_failed") \
	X(RETRIES, "retries") \
	X(BYTES_RECEIVED, "bytes_received") \
	X(BYTES_SENT, "bytes_sent") \
	X(TASKS_SUBMITTED, "tasks_submitted") \
	X(TAG_UPDATES, "tag_updates") \
	X(TAG_INDEX_WRITES, "tag_index_writes") \
	X(TAG_INDEX_DELETES, "tag_index_deletes") \
	X(TAG_INDEX_QUERIES, "tag_index_queries") \
	X(TAG_INDEX_STALE, "tag_index_stale") \
	X(TAG_INDEX_ERRORS, "tag_index_errors") \
	X(READY_INDEX_ERRORS, "ready_index_errors") \
	X(CACHE_HITS, "cache_hits") \
	X(CACHE_MISSES, "cache_misses") \
	X(TASKS_READ, "tasks_read") \
	X(INVALID_TASKS_SKIPPED, "invalid_tasks_skipped")

#define OQ_STAT_ENUM(sym, name) OQ_STAT_##sym,
typedef enum OqStat
{
	OQ_STAT_LIST(OQ_STAT_ENUM)
	OQ_NUM_STATS
} OqStat;
#undef OQ_STAT_ENUM

extern int64 oq_stats[OQ_NUM_STATS];
extern const char *const oq_stat_names[OQ_NUM_STATS];

#define oq_stat_add(stat, n)	(oq_stats[(stat)] += (n))
#define oq_stat_inc(stat)		(oq_stats[(stat)]++)

/*
 * Per-tag-key metrics, shown by oq_tag_stats() in this order (after the
 * key): what reading by the index cost and found, what full listings a
 * condition on the key did not spare, and what writes did to the index.
 */
typedef enum OqTagStat
{
	OQ_TAG_STAT_QUERIES,		/* scans that listed the key's entries */
	OQ_TAG_STAT_WRITES,			/* index entries written */
	OQ_TAG_STAT_DELETES,		/* index entries deleted */
	OQ_TAG_STAT_ENTRIES,		/* index entries the listings returned */
	OQ_TAG_STAT_STALE,			/* of those, entries whose task is gone or
								 * no longer has the tag */
	OQ_TAG_STAT_FULL_SCANS,		/* full listings of a scan with a condition
								 * on the key */
	OQ_NUM_TAG_STATS
} OqTagStat;

extern void oq_tag_stat_add(const char *tag_key, OqTagStat stat, int64 n);

/*
 * Count n under the key of an index entry or prefix, tags/{key}/...
 * (anything else is not counted)
 */
extern void oq_tag_stat_prefix(const char *entry_key, OqTagStat stat, int64 n);

/* One write or delete of index entry tags/{key}/{segment}/{id} */
#define oq_tag_stat_entry(entry_key, stat) oq_tag_stat_prefix((entry_key), (stat), 1)

#endif							/* OQ_STATS_H */
