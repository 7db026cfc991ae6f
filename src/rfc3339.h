/*-------------------------------------------------------------------------
 *
 * rfc3339.h
 *		Strict RFC 3339 timestamps as the oq bucket format writes them.
 *
 * Pure functions; frontend-compatible.  Times are Unix microseconds (UTC).
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_RFC3339_H
#define OQ_RFC3339_H

/* "YYYY-MM-DDTHH:MM:SS.ffffffZ" plus NUL */
#define OQ_RFC3339_BUFLEN 28

/* The range parse accepts and format emits: 0001-01-01 to 9999-12-31, UTC */
#define OQ_RFC3339_MIN_US INT64CONST(-62135596800000000)
#define OQ_RFC3339_MAX_US INT64CONST(253402300799999999)

/*
 * Parse "YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|z|+HH:MM|-HH:MM)" ('t' and ' ' are
 * not accepted as the separator, only 'T'; offsets up to 23:59).  Fractions
 * beyond microseconds are rounded exactly as PostgreSQL's timestamptz input
 * rounds them (double arithmetic and rint(): half up, except that some exact
 * ties such as ".0000005" go down), so the result always equals the string
 * cast to timestamptz.  The UTC result must lie in years 0001-9999.
 * Returns false for anything else.
 */
extern bool oq_rfc3339_parse(const char *s, size_t len, int64 *unix_us);

/*
 * Format as "YYYY-MM-DDTHH:MM:SS.ffffffZ" (always six fraction digits) into
 * buf[OQ_RFC3339_BUFLEN].  Values outside OQ_RFC3339_MIN_US..MAX_US are
 * clamped to the range: callers must reject them first (a timestamptz
 * reaches far beyond it, and infinity).
 */
extern void oq_rfc3339_format(int64 unix_us, char *buf);

/* Whole Unix seconds of a time in Unix us, rounded down (also before 1970) */
static inline int64
oq_unix_floor_seconds(int64 unix_us)
{
	int64		s = unix_us / 1000000;

	return (unix_us % 1000000 < 0) ? s - 1 : s;
}

#endif							/* OQ_RFC3339_H */
