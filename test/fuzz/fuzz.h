/*
 * fuzz.h - shared by the libFuzzer harnesses of test/fuzz.
 *
 * Each harness checks properties of what the pure modules return, not only
 * that they do not crash: FUZZ_CHECK aborts with a message on a violated
 * property, which libFuzzer reports as a crash (and saves the input).
 *
 * palloc and friends are replaced by fuzz_arena.c: every chunk is tracked
 * and freed by fuzz_arena_reset() at the end of each input, the way the
 * backend resets the memory context the caller works in.  So palloc'd
 * memory never piles up over millions of inputs, while memory from plain
 * malloc (jansson, libxml2, OpenSSL) is left to LeakSanitizer: a leak of
 * it is a crash.
 */
#ifndef OQ_FUZZ_H
#define OQ_FUZZ_H

#include "postgres_fe.h"

#include <stdio.h>
#include <stdlib.h>

#include "mb/pg_wchar.h"

/* Free every chunk palloc'd since the last reset */
extern void fuzz_arena_reset(void);

/* How many palloc'd chunks are live */
extern long fuzz_arena_live(void);

#define FUZZ_CHECK(cond, ...) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "\nPROPERTY VIOLATED at %s:%d: %s\n  ", \
					__FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__); \
			fprintf(stderr, "\n"); \
			abort(); \
		} \
	} while (0)

/* Valid UTF-8 by PostgreSQL's rules (which are RFC 3629's), no NUL byte */
static inline bool
fuzz_utf8_ok(const char *s, size_t len)
{
	return len <= (size_t) PG_INT32_MAX &&
		memchr(s, '\0', len) == NULL &&
		pg_encoding_verifymbstr(PG_UTF8, s, (int) len) == (int) len;
}

static inline bool
fuzz_cstr_utf8_ok(const char *s)
{
	return s != NULL && fuzz_utf8_ok(s, strlen(s));
}

/* Whether needle occurs in the n bytes at s (memmem is a GNU extension) */
static inline bool
fuzz_contains(const void *s, size_t n, const char *needle)
{
	size_t		k = strlen(needle);

	for (size_t i = 0; k <= n && i <= n - k; i++)
		if (memcmp((const char *) s + i, needle, k) == 0)
			return true;
	return false;
}

/* NULL-safe string equality */
static inline bool
fuzz_streq(const char *a, const char *b)
{
	return (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;
}

/*
 * A byte reader over the fuzzer's input, for harnesses that build
 * structured values: reads past the end give zeros.
 */
typedef struct FuzzInput
{
	const uint8_t *data;
	size_t		len;
	size_t		pos;
} FuzzInput;

static inline uint8_t
fuzz_byte(FuzzInput *in)
{
	return in->pos < in->len ? in->data[in->pos++] : 0;
}

static inline uint64_t
fuzz_u64(FuzzInput *in)
{
	uint64_t	v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | fuzz_byte(in);
	return v;
}

/*
 * The next piece of the input up to (not including) a 0x00 byte or the
 * end, as a palloc'd NUL-terminated string; NULL once the input is used up
 */
static inline char *
fuzz_piece(FuzzInput *in)
{
	const uint8_t *start = in->data + in->pos;
	const uint8_t *nul;
	size_t		n;

	if (in->pos >= in->len)
		return NULL;
	nul = memchr(start, 0, in->len - in->pos);
	n = nul ? (size_t) (nul - start) : in->len - in->pos;
	in->pos += n + (nul != NULL);
	return pnstrdup((const char *) start, n);
}

#endif							/* OQ_FUZZ_H */
