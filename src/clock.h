/*-------------------------------------------------------------------------
 *
 * clock.h
 *		The local clock in Unix microseconds, and an estimate of a remote
 *		server's clock from the Date headers of its answers.
 *
 * The bottom of the layers: it needs nothing but PostgreSQL's own clock,
 * so the request driver, the credential chain and the S3 client can all
 * use it without depending on one another.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_CLOCK_H
#define OQ_CLOCK_H

/* A server's clock as its Date headers show it (see clock.c) */
typedef struct OqServerClock
{
	int64		offset_us;		/* server minus local, best estimate */
	int64		window_start_us;
	int64		last_sample_us; /* 0: no sample yet */
} OqServerClock;

/* Unix microseconds by the local clock */
extern int64 oq_local_now_us(void);

/* Record the Date header (Unix s) of an answer received at local_us */
extern void oq_clock_sample(OqServerClock *clock, int64 date_unix_s,
							int64 local_us);

/*
 * Now by the server's clock, in Unix microseconds: the local clock
 * corrected by the offset Date headers showed, when that offset is a
 * second or more (Date has one-second resolution, so smaller offsets are
 * indistinguishable from none).  Returns false when no answer of the last
 * five minutes carried a Date: the caller must make a request.
 */
extern bool oq_clock_now_us(const OqServerClock *clock, int64 *now_us);

#endif							/* OQ_CLOCK_H */
