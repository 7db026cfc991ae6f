/*
 * fuzz_arena.c - palloc and friends for the fuzzers, with a reset.
 *
 * In the frontend, libpgcommon's palloc is plain malloc and nothing frees
 * it; in the backend the caller's memory context is reset per task.  A
 * fuzzer running millions of inputs needs the latter, so this file defines
 * every allocation function of libpgcommon's fe_memutils.o (psprintf,
 * StringInfo and the JSON lexer call these; the linker then never loads
 * fe_memutils.o -- if it did, the duplicate symbols would fail the link),
 * and keeps each chunk on a list that fuzz_arena_reset() frees.
 *
 * Chunks are ordinary malloc blocks with a header in front, so
 * AddressSanitizer still sees overflows (past the requested size),
 * use-after-free across pfree/repalloc and double frees.  pfree() of a
 * pointer palloc did not return is caught too: the header's magic is
 * checked first.
 */
#include "postgres_fe.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/fe_memutils.h"
#include "fuzz.h"

#define CHUNK_MAGIC UINT64CONST(0x6f715f66757a7a21)	/* "oq_fuzz!" */

typedef struct Chunk
{
	struct Chunk *prev;
	struct Chunk *next;
	uint64		magic;
	uint64		size;			/* also pads the header to 32 bytes */
} Chunk;

StaticAssertDecl(sizeof(Chunk) % MAXIMUM_ALIGNOF == 0 && sizeof(Chunk) % 16 == 0,
				 "chunk header keeps max alignment");

static Chunk head = {&head, &head, 0, 0};
static long nlive;

static void
arena_fail(const char *what, size_t size)
{
	fprintf(stderr, "fuzz arena: %s (%zu bytes)\n", what, size);
	abort();
}

static Chunk *
chunk_of(void *pointer)
{
	Chunk	   *c = (Chunk *) pointer - 1;

	if (pointer == NULL || c->magic != CHUNK_MAGIC)
		arena_fail("pfree/repalloc of a pointer palloc did not return", 0);
	return c;
}

static void *
arena_alloc(size_t size, int flags)
{
	Chunk	   *c;

	/* the frontend's palloc refuses these too (MaxAllocSize) */
	if (!(flags & MCXT_ALLOC_HUGE) && size > MaxAllocSize)
		arena_fail("invalid memory alloc request size", size);
	c = malloc(sizeof(Chunk) + size);
	if (c == NULL)
	{
		if (flags & MCXT_ALLOC_NO_OOM)
			return NULL;
		arena_fail("out of memory", size);
	}
	c->magic = CHUNK_MAGIC;
	c->size = size;
	c->next = head.next;
	c->prev = &head;
	head.next->prev = c;
	head.next = c;
	nlive++;
	if (flags & MCXT_ALLOC_ZERO)
		memset(c + 1, 0, size);
	return c + 1;
}

void
fuzz_arena_reset(void)
{
	while (head.next != &head)
	{
		Chunk	   *c = head.next;

		head.next = c->next;
		c->magic = 0;
		free(c);
	}
	head.prev = &head;
	nlive = 0;
}

long
fuzz_arena_live(void)
{
	return nlive;
}

void *
palloc(Size size)
{
	return arena_alloc(size, 0);
}

void *
palloc0(Size size)
{
	return arena_alloc(size, MCXT_ALLOC_ZERO);
}

void *
palloc_extended(Size size, int flags)
{
	return arena_alloc(size, flags);
}

void
pfree(void *pointer)
{
	Chunk	   *c;

	/*
	 * The frontend's pfree() is free(), which takes NULL, and from 17 on
	 * libpgcommon's JSON lexer relies on that when it frees its context.
	 */
	if (pointer == NULL)
		return;
	c = chunk_of(pointer);

	c->prev->next = c->next;
	c->next->prev = c->prev;
	c->magic = 0;
	nlive--;
	free(c);
}

void *
repalloc(void *pointer, Size size)
{
	Chunk	   *c = chunk_of(pointer);
	void	   *p;

	if (size > MaxAllocSize)
		arena_fail("invalid memory alloc request size", size);
	/* a fresh block rather than realloc: ASan then flags stale pointers */
	p = arena_alloc(size, 0);
	memcpy(p, pointer, Min(size, c->size));
	pfree(pointer);
	return p;
}

char *
pstrdup(const char *in)
{
	size_t		n = strlen(in);
	char	   *p = arena_alloc(n + 1, 0);

	memcpy(p, in, n + 1);
	return p;
}

char *
pnstrdup(const char *in, Size size)
{
	size_t		n = strnlen(in, size);
	char	   *p = arena_alloc(n + 1, 0);

	memcpy(p, in, n);
	p[n] = '\0';
	return p;
}

/*
 * The rest of fe_memutils.o's interface (overflow-checked array sizes,
 * pg_malloc and its kin), so that nothing ever needs the original.
 */
static Size
mul_or_fail(Size s1, Size s2)
{
	Size		r;

	if (__builtin_mul_overflow(s1, s2, &r))
		arena_fail("invalid memory alloc request size (overflow)", 0);
	return r;
}

Size
add_size(Size s1, Size s2)
{
	Size		r;

	if (__builtin_add_overflow(s1, s2, &r))
		arena_fail("invalid memory alloc request size (overflow)", 0);
	return r;
}

Size
mul_size(Size s1, Size s2)
{
	return mul_or_fail(s1, s2);
}

void *
palloc_mul(Size s1, Size s2)
{
	return palloc(mul_or_fail(s1, s2));
}

void *
palloc0_mul(Size s1, Size s2)
{
	return palloc0(mul_or_fail(s1, s2));
}

void *
palloc_mul_extended(Size s1, Size s2, int flags)
{
	return palloc_extended(mul_or_fail(s1, s2), flags);
}

void *
repalloc_mul(void *p, Size s1, Size s2)
{
	return repalloc(p, mul_or_fail(s1, s2));
}

void *
pg_malloc(size_t size)
{
	return palloc(size);
}

void *
pg_malloc0(size_t size)
{
	return palloc0(size);
}

void *
pg_malloc_extended(size_t size, int flags)
{
	return palloc_extended(size, flags);
}

void *
pg_realloc(void *pointer, size_t size)
{
	return pointer ? repalloc(pointer, size) : palloc(size);
}

char *
pg_strdup(const char *in)
{
	return pstrdup(in);
}

void
pg_free(void *pointer)
{
	if (pointer)
		pfree(pointer);
}

void *
pg_malloc_mul(size_t s1, size_t s2)
{
	return palloc(mul_or_fail(s1, s2));
}

void *
pg_malloc0_mul(size_t s1, size_t s2)
{
	return palloc0(mul_or_fail(s1, s2));
}

void *
pg_malloc_mul_extended(size_t s1, size_t s2, int flags)
{
	return palloc_extended(mul_or_fail(s1, s2), flags);
}

void *
pg_realloc_mul(void *p, size_t s1, size_t s2)
{
	return pg_realloc(p, mul_or_fail(s1, s2));
}
