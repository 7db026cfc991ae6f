/*-------------------------------------------------------------------------
 *
 * jsontext.c
 *		What PostgreSQL's JSON lexer leaves undone when it runs without
 *		de-escaping: the meaning of \u escapes, and how deep a document
 *		nests.
 *
 * The task decoder runs the lexer with need_escapes = false (see
 * taskjson.c for why), so \u escapes are checked for syntax only.  Here
 * the strings we need are de-escaped to UTF-8, refusing \u0000 (text
 * cannot hold it) and unpaired UTF-16 surrogates (not characters), and the
 * nesting depth is measured before the parser recurses into it.
 *
 * Pure functions: no I/O, no ereport; frontend-compatible.
 *
 *-------------------------------------------------------------------------
 */
#ifdef FRONTEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include "mb/pg_wchar.h"

#include "jsontext.h"

const char	OQ_WHY_NUL[] = "\\u0000, which PostgreSQL text and jsonb cannot hold";
const char	OQ_WHY_SURROGATE[] = "an unpaired UTF-16 surrogate escape";

/* The value of four hex digits (the lexer has checked that they are) */
static int
hex4(const char *p)
{
	int			v = 0;

	for (int i = 0; i < 4; i++)
		v = (v << 4) | (p[i] <= '9' ? p[i] - '0' : (p[i] | 0x20) - 'a' + 10);
	return v;
}

/*
 * De-escape a JSON string token (quotes included) that the lexer accepted,
 * into palloc'd UTF-8.  The lexer checked the escape syntax but, without
 * de-escaping, not what \u escapes mean: returns NULL and sets *why for
 * \u0000 (text cannot hold it) and unpaired UTF-16 surrogates (not
 * characters; PostgreSQL and the reference producer's serde_json reject
 * them too).  De-escaping never lengthens a string, so one allocation of
 * the token's size suffices.
 */
char *
oq_json_unescape(const char *tok, int toklen, const char **why)
{
	const char *p = tok + 1;
	const char *end = tok + toklen - 1;
	char	   *out;
	char	   *o;

	Assert(toklen >= 2 && tok[0] == '"' && end[0] == '"');
	if (memchr(p, '\\', end - p) == NULL)
		return pnstrdup(p, end - p);

	o = out = palloc(end - p + 1);
	while (p < end)
	{
		pg_wchar	ch;

		if (*p != '\\')
		{
			*o++ = *p++;
			continue;
		}
		p++;
		switch (*p++)
		{
			case 'b':
				*o++ = '\b';
				continue;
			case 'f':
				*o++ = '\f';
				continue;
			case 'n':
				*o++ = '\n';
				continue;
			case 'r':
				*o++ = '\r';
				continue;
			case 't':
				*o++ = '\t';
				continue;
			case 'u':
				break;
			default:			/* '"', '\\' and '/' stand for themselves */
				*o++ = p[-1];
				continue;
		}

		ch = hex4(p);
		p += 4;
		if (is_utf16_surrogate_first(ch))
		{
			if (end - p < 6 || p[0] != '\\' || p[1] != 'u' ||
				!is_utf16_surrogate_second(hex4(p + 2)))
			{
				*why = OQ_WHY_SURROGATE;
				return NULL;
			}
			ch = surrogate_pair_to_codepoint(ch, hex4(p + 2));
			p += 6;
		}
		else if (is_utf16_surrogate_second(ch))
		{
			*why = OQ_WHY_SURROGATE;
			return NULL;
		}
		else if (ch == 0)
		{
			*why = OQ_WHY_NUL;
			return NULL;
		}
		unicode_to_utf8(ch, (unsigned char *) o);
		o += pg_utf_mblen((unsigned char *) o);
	}
	*o = '\0';
	return out;
}

const char *
oq_json_text_problem(const char *raw, int len, bool nul_ok)
{
	const char *p = raw;
	const char *end = raw + len;

	/* in valid JSON a backslash can only start an escape in a string */
	while (p < end && (p = memchr(p, '\\', end - p)) != NULL)
	{
		int			ch;

		if (end - p < 6 || p[1] != 'u')
		{
			p += 2;				/* a one-character escape */
			continue;
		}
		ch = hex4(p + 2);
		p += 6;
		if (ch == 0 && !nul_ok)
			return OQ_WHY_NUL;
		if (is_utf16_surrogate_first(ch))
		{
			if (end - p < 6 || p[0] != '\\' || p[1] != 'u' ||
				!is_utf16_surrogate_second(hex4(p + 2)))
				return OQ_WHY_SURROGATE;
			p += 6;
		}
		else if (is_utf16_surrogate_second(ch))
			return OQ_WHY_SURROGATE;
	}
	return NULL;
}

/*
 * The deepest nesting of arrays and objects in the body, counting brackets
 * outside strings.  For invalid JSON it may overcount, never undercount,
 * what the parser would reach, which is all the depth check needs.  Stops
 * counting once past limit.
 */
int
oq_json_max_depth(const char *s, size_t len, int limit)
{
	int			depth = 0;
	int			max = 0;
	bool		in_string = false;

	for (size_t i = 0; i < len; i++)
	{
		char		c = s[i];

		if (in_string)
		{
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
		}
		else if (c == '"')
			in_string = true;
		else if (c == '[' || c == '{')
		{
			if (++depth > max)
			{
				max = depth;
				if (max > limit)
					break;
			}
		}
		else if (c == ']' || c == '}')
			depth--;
	}
	return max;
}
