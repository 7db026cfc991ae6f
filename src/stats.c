/*-------------------------------------------------------------------------
 *
 * stats.c
 *		Per-backend counters of S3 requests and queue operations, and the
 *		SQL functions oq_stats() and oq_stats_reset().
 *
 * Counters are plain process-local integers: they describe what this
 * session did (like pg_stat_get_backend_*), cost nothing on the hot path
 * and need no shared memory.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "stats.h"

int64		oq_stats[OQ_NUM_STATS];

#define OQ_STAT_NAME(sym, name) name,
const char *const oq_stat_names[OQ_NUM_STATS] = {
	OQ_STAT_LIST(OQ_STAT_NAME)
};
#undef OQ_STAT_NAME

PG_FUNCTION_INFO_V1(oq_stats_fn);
PG_FUNCTION_INFO_V1(oq_stats_reset);

Datum
oq_stats_fn(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
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
	return (Datum) 0;
}

Datum
oq_stats_reset(PG_FUNCTION_ARGS)
{
	memset(oq_stats, 0, sizeof(oq_stats));
	PG_RETURN_VOID();
}
