/*
 * fuzz_rfc3339.c - strict RFC 3339 timestamps.
 *
 * The input is parsed as a timestamp (not NUL-terminated: the parser gets
 * a length), and its first 8 bytes also give a time to format.
 * Properties:
 *
 *  - oq_rfc3339_parse() accepts only the grammar it documents, which is a
 *    subset of RFC 3339: YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|z|+HH:MM|-HH:MM)
 *    with a real calendar date, hour <= 23, minute and second <= 59,
 *    offsets up to 23:59, checked here by a separate reading;
 *  - what it accepts has the value computed independently here (timegm()
 *    for the date, strtod() and rint() for fractions beyond microseconds,
 *    as PostgreSQL's timestamptz input does), within years 0001-9999 UTC;
 *  - oq_rfc3339_format() of any in-range time writes the 27-byte
 *    "YYYY-MM-DDTHH:MM:SS.ffffffZ" form, which parses back to the same
 *    time, and out-of-range times are clamped to the range.
 */
#include "fuzz.h"

#include <math.h>
#include <time.h>

#include "rfc3339.h"

static bool
digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (s[i] - '0');
	}
	return true;
}

/*
 * The grammar and the value, read another way: sscanf-free, but with
 * timegm() for the calendar and strtod() for the fraction.
 */
static bool
reference_parse(const char *s, size_t len, int64 *us)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int			y,
				mo,
				d,
				h,
				mi,
				se;
	size_t		p = 19;
	int64		frac = 0;
	int64		off = 0;
	struct tm	tm;
	time_t		t;

	if (len < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
		s[13] != ':' || s[16] != ':' ||
		!digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
		!digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) ||
		!digits(s + 17, 2, &se))
		return false;
	if (y == 0 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59)
		return false;
	if (d > mdays[mo - 1] +
		(mo == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return false;
	if (s[p] == '.')
	{
		char		buf[16] = "0.";
		size_t		n = 0;

		while (p + 1 + n < len && s[p + 1 + n] >= '0' && s[p + 1 + n] <= '9')
			n++;
		if (n == 0 || n > 9)
			return false;
		memcpy(buf + 2, s + p + 1, n);
		buf[2 + n] = '\0';
		frac = (int64) rint(strtod(buf, NULL) * 1000000.0);
		p += 1 + n;
	}
	if (p + 1 == len && (s[p] == 'Z' || s[p] == 'z'))
		p++;
	else if (p + 6 == len && (s[p] == '+' || s[p] == '-') && s[p + 3] == ':')
	{
		int			oh,
					om;

		if (!digits(s + p + 1, 2, &oh) || !digits(s + p + 4, 2, &om) ||
			oh > 23 || om > 59)
			return false;
		off = (s[p] == '-' ? -1 : 1) * (int64) (oh * 3600 + om * 60);
		p += 6;
	}
	else
		return false;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	t = timegm(&tm);
	*us = ((int64) t - off) * 1000000 + frac;
	return *us >= OQ_RFC3339_MIN_US && *us <= OQ_RFC3339_MAX_US;
}

static void
check_format(int64 us)
{
	char		buf[OQ_RFC3339_BUFLEN + 8];
	int64		back;
	int64		clamped = Max(OQ_RFC3339_MIN_US, Min(OQ_RFC3339_MAX_US, us));

	memset(buf, 'x', sizeof(buf));
	oq_rfc3339_format(us, buf);
	FUZZ_CHECK(strlen(buf) == OQ_RFC3339_BUFLEN - 1 && buf[OQ_RFC3339_BUFLEN] == 'x',
			   "format(%lld) wrote \"%s\"", (long long) us, buf);
	FUZZ_CHECK(buf[19] == '.' && buf[26] == 'Z', "format(%lld) = \"%s\"",
			   (long long) us, buf);
	FUZZ_CHECK(oq_rfc3339_parse(buf, strlen(buf), &back),
			   "format(%lld) = \"%s\" does not parse", (long long) us, buf);
	FUZZ_CHECK(back == clamped, "parse(format(%lld)) = %lld via \"%s\"",
			   (long long) us, (long long) back, buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *) data;
	int64		got = 0;
	int64		want = 0;
	bool		ok = oq_rfc3339_parse(s, size, &got);
	bool		ref = reference_parse(s, size, &want);
	FuzzInput	in = {data, size, 0};
	uint64		raw = fuzz_u64(&in);
	const uint64 span = (uint64) (OQ_RFC3339_MAX_US - OQ_RFC3339_MIN_US) + 1;

	FUZZ_CHECK(ok == ref, "parse(\"%.*s\") = %d, the grammar says %d",
			   (int) Min(size, 64), s, ok, ref);
	if (ok)
	{
		char		buf[OQ_RFC3339_BUFLEN];

		FUZZ_CHECK(got == want, "parse(\"%.*s\") = %lld, expected %lld",
				   (int) size, s, (long long) got, (long long) want);
		/* the canonical form of what was read reads back the same */
		oq_rfc3339_format(got, buf);
		FUZZ_CHECK(oq_rfc3339_parse(buf, strlen(buf), &want) && want == got,
				   "\"%.*s\" -> %lld -> \"%s\" does not round-trip",
				   (int) size, s, (long long) got, buf);
	}

	/* any time in range; and the raw value itself, to test the clamp */
	check_format(OQ_RFC3339_MIN_US + (int64) (raw % span));
	check_format((int64) raw);

	fuzz_arena_reset();
	return 0;
}
