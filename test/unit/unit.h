/*
 * unit.h - a minimal TAP-style harness for the frontend unit tests.
 *
 * Each CHECK prints "ok N - what" or "not ok N - what" and the program's
 * exit status is the number of failures (capped), so "make -C test/unit
 * check" fails when any check does.
 */
#ifndef OQ_UNIT_H
#define OQ_UNIT_H

#include <stdio.h>
#include <string.h>

static int	unit_checks;
static int	unit_failures;

#define CHECK(cond, ...) \
	do { \
		bool		unit_pass_ = (cond); \
		unit_checks++; \
		if (unit_pass_) \
			printf("ok %d - ", unit_checks); \
		else \
		{ \
			unit_failures++; \
			printf("not ok %d - ", unit_checks); \
		} \
		printf(__VA_ARGS__); \
		printf("\n"); \
		if (!unit_pass_) \
			printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
	} while (0)

#define CHECK_STR(got, want, ...) \
	do { \
		const char *unit_g_ = (got); \
		const char *unit_w_ = (want); \
		bool		unit_ok_ = (unit_g_ && unit_w_) ? strcmp(unit_g_, unit_w_) == 0 \
			: unit_g_ == unit_w_; \
		CHECK(unit_ok_, __VA_ARGS__); \
		if (!unit_ok_) \
			printf("#   got:  %s\n#   want: %s\n", \
				   unit_g_ ? unit_g_ : "(null)", unit_w_ ? unit_w_ : "(null)"); \
	} while (0)

/* A part of a test that cannot run fails it: nothing is skipped silently */
#define CANNOT_RUN(...) CHECK(false, "cannot run: " __VA_ARGS__)

static inline int
unit_done(void)
{
	printf("1..%d\n", unit_checks);
	if (unit_failures)
		printf("# %d of %d checks failed\n", unit_failures, unit_checks);
	return unit_failures > 100 ? 100 : unit_failures;
}

#endif							/* OQ_UNIT_H */
