/*-------------------------------------------------------------------------
 *
 * clock.c
 *		The local clock, and a server's clock estimated from Date headers.
 *
 * Task timestamps are the S3 server's time, not the database host's: a
 * skewed host must neither sign requests S3 rejects nor date tasks wrongly.
 * The S3 client feeds every Date header of the S3 server's answers here.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/timestamp.h"

#include "clock.h"

/* A Date sample older than this is not trusted to tell "now" */
#define OQ_CLOCK_SAMPLE_MAX_AGE_US	(300 * INT64CONST(1000000))
/* Offsets are the maximum over windows of this length (see below) */
#define OQ_CLOCK_WINDOW_US			(60 * INT64CONST(1000000))
#define USECS_PER_SEC_64			INT64CONST(1000000)

int64
oq_local_now_us(void)
{
	return GetCurrentTimestamp() +
		(int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
}

/*
 * A Date header says the server's time truncated to the second, so each
 * sample (Date minus the local time at receipt) underestimates the true
 * offset by up to a second plus latency.  The largest sample of a recent
 * window is therefore the best estimate; windows restart every minute so
 * that a local clock step is followed.
 */
void
oq_clock_sample(OqServerClock *clock, int64 date_unix_s, int64 local_us)
{
	int64		sample = date_unix_s * USECS_PER_SEC_64 - local_us;

	if (clock->last_sample_us == 0 ||
		local_us - clock->window_start_us > OQ_CLOCK_WINDOW_US)
	{
		clock->window_start_us = local_us;
		clock->offset_us = sample;
	}
	else if (sample > clock->offset_us)
		clock->offset_us = sample;
	clock->last_sample_us = local_us;
}

bool
oq_clock_now_us(const OqServerClock *clock, int64 *now_us)
{
	int64		local = oq_local_now_us();
	int64		offset = clock->offset_us;

	if (clock->last_sample_us == 0 ||
		local - clock->last_sample_us > OQ_CLOCK_SAMPLE_MAX_AGE_US)
		return false;

	/* Within Date's resolution: the clocks agree, keep local precision */
	if (offset <= 0 && offset > -USECS_PER_SEC_64)
		offset = 0;
	*now_us = local + offset;
	return true;
}
