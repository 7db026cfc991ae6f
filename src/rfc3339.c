/*-------------------------------------------------------------------------
 *
 * rfc3339.c
 *		Strict RFC 3339 timestamps, as the oq bucket format stores them.
 *
 * Every time in a task object is a string such as "2026-01-28T12:34:56Z",
 * "...56.123Z" or "...56.123456789Z" (0, 3, 6 or 9 fraction digits; readers
 * must also take a numeric offset).  We parse them here rather than with
 * PostgreSQL's timestamptz_in because that function is backend-only (the
 * unit tests and fuzzers run in the frontend), depends on DateStyle and
 * TimeZone, ereports, and accepts far more than RFC 3339: a lenient reader
 * would let a malformed time written by some other tool pass unnoticed.
 *
 * Fractions finer than a microsecond are rounded exactly the way
 * timestamptz_in rounds them (the fraction as a double, times 1e6, rint()),
 * so that a parsed value always equals the same string cast to timestamptz.
 * That is round-half-up in practice except at exact ties in the seventh
 * digit, which go wherever the binary double falls: PostgreSQL reads
 * ".0000005" as 0 us and ".9999995" as 1 s, and so do we.
 *
 * Times are int64 Unix microseconds, UTC; only years 0001-9999 (after
 * applying the offset) are accepted, so every parsed value can be formatted
 * back.  Writers emit the six-digit "Z" form.
 *
 *-------------------------------------------------------------------------
 */
#ifdef FRONTEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include <math.h>

#include "rfc3339.h"

#define US_PER_SECOND	INT64CONST(1000000)
#define SECONDS_PER_DAY INT64CONST(86400)
#define US_PER_DAY		(SECONDS_PER_DAY * US_PER_SECOND)

/*
 * Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil); exact for every year this module handles.
 */
static int64
days_from_civil(int y, int m, int d)
{
	int64		era;
	int64		yoe;
	int64		doy;
	int64		doe;

	y -= (m <= 2);
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The inverse of days_from_civil */
static void
civil_from_days(int64 z, int *y, int *m, int *d)
{
	int64		era;
	int64		doe;
	int64		yoe;
	int64		doy;
	int64		mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = (int) (yoe + era * 400 + (*m <= 2));
}

static bool
is_leap_year(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int y, int m)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return (m == 2 && is_leap_year(y)) ? 29 : mdays[m - 1];
}

/* Read exactly n ASCII digits at s into *v */
static bool
read_digits(const char *s, int n, int *v)
{
	int			r = 0;

	for (int i = 0; i < n; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return false;
		r = r * 10 + (s[i] - '0');
	}
	*v = r;
	return true;
}

bool
oq_rfc3339_parse(const char *s, size_t len, int64 *unix_us)
{
	int			year,
				month,
				day,
				hour,
				minute,
				second;
	int64		frac_us = 0;
	int64		offset_s = 0;
	int64		result;
	size_t		p;

	/* "YYYY-MM-DDTHH:MM:SS" then at least the one-character zone */
	if (len < 20)
		return false;
	if (!read_digits(s, 4, &year) || s[4] != '-' ||
		!read_digits(s + 5, 2, &month) || s[7] != '-' ||
		!read_digits(s + 8, 2, &day) || s[10] != 'T' ||
		!read_digits(s + 11, 2, &hour) || s[13] != ':' ||
		!read_digits(s + 14, 2, &minute) || s[16] != ':' ||
		!read_digits(s + 17, 2, &second))
		return false;
	if (year < 1 || month < 1 || month > 12 ||
		day < 1 || day > days_in_month(year, month) ||
		hour > 23 || minute > 59 || second > 59)
		return false;

	p = 19;
	if (s[p] == '.')
	{
		int64		num = 0;
		int			ndigits = 0;

		p++;
		while (p < len && s[p] >= '0' && s[p] <= '9')
		{
			if (++ndigits > 9)
				return false;
			num = num * 10 + (s[p] - '0');
			p++;
		}
		if (ndigits == 0)
			return false;

		if (ndigits <= 6)
		{
			/* exact: no rounding to do */
			while (ndigits++ < 6)
				num *= 10;
			frac_us = num;
		}
		else
		{
			/*
			 * What timestamptz_in does: strtod() of the fraction, then
			 * rint(frac * 1e6).  num and 10^ndigits are exact doubles and
			 * IEEE division is correctly rounded, so num / 10^ndigits is the
			 * very double a correctly rounding strtod() returns, without
			 * strtod's dependence on LC_NUMERIC.
			 */
			double		scale = 1.0;

			for (int i = 0; i < ndigits; i++)
				scale *= 10.0;
			frac_us = (int64) rint(((double) num / scale) * 1000000.0);
		}
	}

	if (p >= len)
		return false;
	if (s[p] == 'Z' || s[p] == 'z')
		p++;
	else if (s[p] == '+' || s[p] == '-')
	{
		int			oh,
					om;

		if (len - p < 6 || !read_digits(s + p + 1, 2, &oh) ||
			s[p + 3] != ':' || !read_digits(s + p + 4, 2, &om) ||
			oh > 23 || om > 59)
			return false;
		offset_s = (int64) oh * 3600 + om * 60;
		if (s[p] == '-')
			offset_s = -offset_s;
		p += 6;
	}
	else
		return false;
	if (p != len)
		return false;

	/* local time minus the offset is UTC */
	result = days_from_civil(year, month, day) * US_PER_DAY +
		((int64) hour * 3600 + minute * 60 + second - offset_s) * US_PER_SECOND +
		frac_us;
	if (result < OQ_RFC3339_MIN_US || result > OQ_RFC3339_MAX_US)
		return false;
	*unix_us = result;
	return true;
}

/* Write v as exactly n decimal digits (v >= 0) */
static char *
put_digits(char *p, int64 v, int n)
{
	for (int i = n - 1; i >= 0; i--)
	{
		p[i] = (char) ('0' + v % 10);
		v /= 10;
	}
	return p + n;
}

void
oq_rfc3339_format(int64 unix_us, char *buf)
{
	int64		days;
	int64		us_of_day;
	int64		secs;
	int			y,
				m,
				d;
	char	   *p = buf;

	/*
	 * Callers check the range (a timestamptz can be far outside it); clamping
	 * here only guarantees the fixed-width output fits the buffer.
	 */
	if (unix_us < OQ_RFC3339_MIN_US)
		unix_us = OQ_RFC3339_MIN_US;
	else if (unix_us > OQ_RFC3339_MAX_US)
		unix_us = OQ_RFC3339_MAX_US;

	/* floor division: times before 1970 are negative */
	days = unix_us / US_PER_DAY;
	us_of_day = unix_us % US_PER_DAY;
	if (us_of_day < 0)
	{
		us_of_day += US_PER_DAY;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	secs = us_of_day / US_PER_SECOND;

	p = put_digits(p, y, 4);
	*p++ = '-';
	p = put_digits(p, m, 2);
	*p++ = '-';
	p = put_digits(p, d, 2);
	*p++ = 'T';
	p = put_digits(p, secs / 3600, 2);
	*p++ = ':';
	p = put_digits(p, (secs / 60) % 60, 2);
	*p++ = ':';
	p = put_digits(p, secs % 60, 2);
	*p++ = '.';
	p = put_digits(p, us_of_day % US_PER_SECOND, 6);
	*p++ = 'Z';
	*p = '\0';
	Assert(p - buf == OQ_RFC3339_BUFLEN - 1);
}
