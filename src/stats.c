/*-------------------------------------------------------------------------
 *
 * stats.c
 *		Per-backend counters of S3 requests and queue operations, and the
 *		SQL functions oq_stats() and oq_stats_reset().
 *
 * Counters are plain process-local integers: they describe what this
 * session did (like pg_stat_get_backend_*), cost nothing on the hot path
 * and need no shared memory.  The shared cache's counters, server-wide,
 * follow them (sharedcache.h); oq_stats_reset() leaves those alone.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "sharedcache.h"
#include "stats.h"

int64		oq_stats[OQ_NUM_STATS];

#define OQ_STAT_NAME(sym, name) name,
const char *const oq_stat_names[OQ_NUM_STATS] = {
	OQ_STAT_LIST(OQ_STAT_NAME)
};
#undef OQ_STAT_NAME

/* Per tag key: at most 64 characters (the tagging specification's rule) */
#define OQ_TAG_STAT_KEY_LEN 65

typedef struct OqTagStatEntry
{
	char		key[OQ_TAG_STAT_KEY_LEN];
	int64		counts[OQ_NUM_TAG_STATS];
} OqTagStatEntry;

static HTAB *tag_stats = NULL;

void
oq_tag_stat_add(const char *tag_key, OqTagStat stat, int64 n)
{
	OqTagStatEntry *entry;
	char		key[OQ_TAG_STAT_KEY_LEN] = {0};
	bool		found;

	if (strlen(tag_key) >= OQ_TAG_STAT_KEY_LEN)
		return;
	if (tag_stats == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = OQ_TAG_STAT_KEY_LEN;
		ctl.entrysize = sizeof(OqTagStatEntry);
		tag_stats = hash_create("oq_fdw tag stats", 32, &ctl,
								HASH_ELEM | HASH_STRINGS);
	}
	strlcpy(key, tag_key, sizeof(key));
	entry = hash_search(tag_stats, key, HASH_ENTER, &found);
	if (!found)
		memset(entry->counts, 0, sizeof(entry->counts));
	entry->counts[stat] += n;
}

void
oq_tag_stat_prefix(const char *entry_key, OqTagStat stat, int64 n)
{
	char		key[OQ_TAG_STAT_KEY_LEN];
	const char *start;
	size_t		len;

	if (strncmp(entry_key, "tags/", 5) != 0)
		return;
	start = entry_key + 5;
	len = strcspn(start, "/");
	if (len == 0 || len >= sizeof(key))
		return;
	memcpy(key, start, len);
	key[len] = '\0';
	oq_tag_stat_add(key, stat, n);
}

PG_FUNCTION_INFO_V1(oq_stats_fn);
PG_FUNCTION_INFO_V1(oq_stats_reset);
PG_FUNCTION_INFO_V1(oq_tag_stats);

Datum
oq_stats_fn(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		shared[OQ_SHCACHE_NUM_STATS];
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	for (i = 0; i < OQ_NUM_STATS; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = CStringGetTextDatum(oq_stat_names[i]);
		values[1] = Int64GetDatum(oq_stats[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}

	/* the server-wide shared cache's, zeros without it */
	oq_shcache_stats(shared);
	for (i = 0; i < OQ_SHCACHE_NUM_STATS; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = CStringGetTextDatum(oq_shcache_stat_names[i]);
		values[1] = Int64GetDatum(shared[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

Datum
oq_stats_reset(PG_FUNCTION_ARGS)
{
	memset(oq_stats, 0, sizeof(oq_stats));
	if (tag_stats)
		hash_destroy(tag_stats);
	tag_stats = NULL;
	PG_RETURN_VOID();
}

Datum
oq_tag_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HASH_SEQ_STATUS seq;
	OqTagStatEntry *entry;

	InitMaterializedSRF(fcinfo, 0);
	if (tag_stats == NULL)
		return (Datum) 0;
	hash_seq_init(&seq, tag_stats);
	while ((entry = (OqTagStatEntry *) hash_seq_search(&seq)) != NULL)
	{
		Datum		values[1 + OQ_NUM_TAG_STATS];
		bool		nulls[1 + OQ_NUM_TAG_STATS] = {0};
		int			i;

		values[0] = CStringGetTextDatum(entry->key);
		for (i = 0; i < OQ_NUM_TAG_STATS; i++)
			values[1 + i] = Int64GetDatum(entry->counts[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
