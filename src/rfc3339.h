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

/*
 * Parse "YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|z|+HH:MM|-HH:MM)" ('t' and ' ' are
 * not accepted as the separator, only 'T').  Fractions beyond microseconds
 * are rounded half up, as PostgreSQL's timestamptz input does.  Years
 * 0001-9999.  Returns false for anything else.
 */
extern bool oq_rfc3339_parse(const char *s, size_t len, int64 *unix_us);

/* Format as "YYYY-MM-DDTHH:MM:SS.ffffffZ" (always six fraction digits) */
extern void oq_rfc3339_format(int64 unix_us, char *buf);

#endif							/* OQ_RFC3339_H */
