/*
 * test_rfc3339.c - strict RFC 3339 parsing and formatting (src/rfc3339.c).
 *
 * Expected values were computed independently (Python's datetime, and
 * PostgreSQL 15's '...'::timestamptz for the rounding cases), not with the
 * code under test.
 */
#include "postgres_fe.h"

#include "rfc3339.h"
#include "unit.h"

static bool
parse(const char *s, int64 *us)
{
	return oq_rfc3339_parse(s, strlen(s), us);
}

static void
check_parse(const char *s, int64 want)
{
	int64		got = 0;
	bool		ok = parse(s, &got);

	CHECK(ok && got == want, "parse %s = %lld (got %lld%s)", s,
		  (long long) want, (long long) got, ok ? "" : ", rejected");
}

static void
check_reject(const char *s)
{
	int64		got;

	CHECK(!parse(s, &got), "reject \"%s\"", s);
}

static void
check_format(int64 us, const char *want)
{
	char		buf[OQ_RFC3339_BUFLEN];

	oq_rfc3339_format(us, buf);
	CHECK_STR(buf, want, "format %lld", (long long) us);
}

int
main(void)
{
	/* epoch and the fixtures' timestamps: 0, 3, 6 and 9 fraction digits */
	check_parse("1970-01-01T00:00:00Z", 0);
	check_parse("2025-12-01T08:00:00Z", INT64CONST(1764576000000000));
	check_parse("2025-12-01T08:00:00.500Z", INT64CONST(1764576000500000));
	check_parse("2026-01-28T09:15:02.123456Z", INT64CONST(1769591702123456));
	check_parse("2025-12-01T08:00:00.123456789Z", INT64CONST(1764576000123457));
	check_parse("2026-01-28T09:15:02Z", INT64CONST(1769591702000000));
	check_parse("2026-01-28T09:20:00Z", INT64CONST(1769591702000000) + INT64CONST(298000000));

	/* every fraction length 1..9 */
	check_parse("2026-01-01T00:00:00.1Z", INT64CONST(1767225600100000));
	check_parse("2026-01-01T00:00:00.12Z", INT64CONST(1767225600120000));
	check_parse("2026-01-01T00:00:00.123Z", INT64CONST(1767225600123000));
	check_parse("2026-01-01T00:00:00.1234Z", INT64CONST(1767225600123400));
	check_parse("2026-01-01T00:00:00.12345Z", INT64CONST(1767225600123450));
	check_parse("2026-01-01T00:00:00.123456Z", INT64CONST(1767225600123456));
	check_parse("2026-01-01T00:00:00.1234564Z", INT64CONST(1767225600123456));
	check_parse("2026-01-01T00:00:00.12345649Z", INT64CONST(1767225600123456));
	check_parse("2026-01-01T00:00:00.123456501Z", INT64CONST(1767225600123457));

	/*
	 * Rounding exactly as PostgreSQL 15 read these strings as timestamptz
	 * (measured): half up, but exact ties in the 7th digit go where the
	 * binary double falls.
	 */
	check_parse("2026-01-01T00:00:00.0000005Z", INT64CONST(1767225600000000));
	check_parse("2026-01-01T00:00:00.0000015Z", INT64CONST(1767225600000002));
	check_parse("2026-01-01T00:00:00.0000025Z", INT64CONST(1767225600000002));
	check_parse("2026-01-01T00:00:00.1234565Z", INT64CONST(1767225600123456));
	check_parse("2026-01-01T00:00:00.123456500Z", INT64CONST(1767225600123456));
	check_parse("2026-01-01T00:00:00.000000500Z", INT64CONST(1767225600000000));
	check_parse("2026-01-01T00:00:00.5000005Z", INT64CONST(1767225600500000));
	check_parse("2026-01-01T00:00:00.123456789Z", INT64CONST(1767225600123457));
	/* rounding up can carry into the next second, minute, day, year */
	check_parse("2026-01-01T00:00:00.9999995Z", INT64CONST(1767225601000000));
	check_parse("2025-12-31T23:59:59.999999500Z", INT64CONST(1767225600000000));

	/* offsets: the local time minus the offset */
	check_parse("2026-01-28T10:15:02.123456+01:00", INT64CONST(1769591702123456));
	check_parse("2026-01-28T04:45:02.5-04:30", INT64CONST(1769591702500000));
	check_parse("2026-01-28T09:15:02.123456+00:00", INT64CONST(1769591702123456));
	check_parse("2026-01-28T09:15:02.123456-00:00", INT64CONST(1769591702123456));
	check_parse("2026-01-28T09:15:02.123456z", INT64CONST(1769591702123456));
	check_parse("2026-01-29T09:14:02.123456+23:59", INT64CONST(1769591702123456));

	/* calendar: leap years, month lengths, the range ends */
	check_parse("2024-02-29T00:00:00Z", INT64CONST(1709164800000000));
	check_parse("2000-02-29T12:00:00Z", INT64CONST(951825600000000));
	check_parse("0001-01-01T00:00:00Z", OQ_RFC3339_MIN_US);
	check_parse("9999-12-31T23:59:59.999999Z", OQ_RFC3339_MAX_US);
	check_parse("1969-12-31T23:59:59.999999Z", -1);
	check_reject("2023-02-29T00:00:00Z");
	check_reject("1900-02-29T00:00:00Z");
	check_reject("2026-04-31T00:00:00Z");
	check_reject("2026-01-32T00:00:00Z");
	check_reject("2026-01-00T00:00:00Z");
	check_reject("2026-13-01T00:00:00Z");
	check_reject("2026-00-01T00:00:00Z");
	check_reject("0000-01-01T00:00:00Z");
	/* out of range once the offset is applied */
	check_reject("0001-01-01T00:00:00+00:01");
	check_reject("9999-12-31T23:59:59-00:01");

	/* times of day */
	check_reject("2026-01-01T24:00:00Z");
	check_reject("2026-01-01T23:60:00Z");
	check_reject("2016-12-31T23:59:60Z");	/* leap seconds are not taken */

	/* syntax */
	check_reject("");
	check_reject("2026-01-01");
	check_reject("2026-01-01T00:00:00");
	check_reject("2026-01-01t00:00:00Z");
	check_reject("2026-01-01 00:00:00Z");
	check_reject("2026-01-01T00:00:00.Z");
	check_reject("2026-01-01T00:00:00.1234567890Z");
	check_reject("2026-01-01T00:00:00,5Z");
	check_reject("2026-01-01T00:00:00+0100");
	check_reject("2026-01-01T00:00:00+01");
	check_reject("2026-01-01T00:00:00+24:00");
	check_reject("2026-01-01T00:00:00+01:60");
	check_reject("2026-01-01T00:00:00ZZ");
	check_reject("2026-01-01T00:00:00Z ");
	check_reject(" 2026-01-01T00:00:00Z");
	check_reject("+2026-01-01T00:00:00Z");
	check_reject("26-01-01T00:00:00Z");
	check_reject("2026-1-01T00:00:00Z");
	check_reject("2026-01-01T0:00:00Z");
	check_reject("2026-01-01T00:00:0Z");
	check_reject("2026/01/01T00:00:00Z");
	check_reject("2026-01-01T00-00-00Z");
	check_reject("2026-01-01T00:00:00UTC");

	/* the length bounds the parse: no reading past it, no NUL needed */
	{
		const char *s = "2026-01-28T09:15:02Zgarbage";
		int64		us = 0;

		CHECK(oq_rfc3339_parse(s, 20, &us) && us == INT64CONST(1769591702000000),
			  "parse honours len");
		CHECK(!oq_rfc3339_parse(s, 19, &us), "a truncated string is rejected");
	}

	/* format: always six fraction digits and Z */
	check_format(0, "1970-01-01T00:00:00.000000Z");
	check_format(INT64CONST(1769591702123456), "2026-01-28T09:15:02.123456Z");
	check_format(INT64CONST(1764576000500000), "2025-12-01T08:00:00.500000Z");
	check_format(-1, "1969-12-31T23:59:59.999999Z");
	check_format(INT64CONST(-1000000), "1969-12-31T23:59:59.000000Z");
	check_format(INT64CONST(951825600000000), "2000-02-29T12:00:00.000000Z");
	check_format(OQ_RFC3339_MIN_US, "0001-01-01T00:00:00.000000Z");
	check_format(OQ_RFC3339_MAX_US, "9999-12-31T23:59:59.999999Z");
	/* out of range values are clamped, never overflow the buffer */
	check_format(PG_INT64_MIN, "0001-01-01T00:00:00.000000Z");
	check_format(PG_INT64_MAX, "9999-12-31T23:59:59.999999Z");

	/* round trips over the whole range, and around day boundaries */
	{
		uint64		x = 88172645463325252ULL;
		int			bad = 0;
		int64		span = OQ_RFC3339_MAX_US - OQ_RFC3339_MIN_US;

		for (int i = 0; i < 200000; i++)
		{
			int64		us;
			int64		back = 0;
			char		buf[OQ_RFC3339_BUFLEN];

			/* xorshift64 */
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			if (i % 2)
				us = OQ_RFC3339_MIN_US + (int64) (x % (uint64) span);
			else
				us = (int64) (x % 4000) * INT64CONST(86400000000) / 2 -
					INT64CONST(2000) * INT64CONST(86400000000) + (int64) (x % 3) - 1;
			oq_rfc3339_format(us, buf);
			if (strlen(buf) != OQ_RFC3339_BUFLEN - 1 ||
				!oq_rfc3339_parse(buf, strlen(buf), &back) || back != us)
			{
				if (bad++ < 5)
					printf("# round trip failed: %lld -> %s -> %lld\n",
						   (long long) us, buf, (long long) back);
			}
		}
		CHECK(bad == 0, "format -> parse round trips 200000 values (%d failed)", bad);
	}

	/* parse -> format gives the canonical form */
	{
		const char *in[] = {
			"2025-12-01T08:00:00Z", "2025-12-01T08:00:00.500Z",
			"2025-12-01T08:00:00.123456789Z", "2026-01-28T10:15:02.123456+01:00",
		};
		const char *out[] = {
			"2025-12-01T08:00:00.000000Z", "2025-12-01T08:00:00.500000Z",
			"2025-12-01T08:00:00.123457Z", "2026-01-28T09:15:02.123456Z",
		};

		for (int i = 0; i < (int) lengthof(in); i++)
		{
			int64		us = 0;
			char		buf[OQ_RFC3339_BUFLEN];

			CHECK(parse(in[i], &us), "parse %s", in[i]);
			oq_rfc3339_format(us, buf);
			CHECK_STR(buf, out[i], "canonical form of %s", in[i]);
		}
	}

	return unit_done();
}
