/*-------------------------------------------------------------------------
 *
 * jsontext.h
 *		Checks of JSON text that PostgreSQL's lexer does not make without
 *		de-escaping: \u escapes, nesting depth.
 *
 * Pure functions: no I/O, no ereport; frontend-compatible.  Results are
 * palloc'd in CurrentMemoryContext.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_JSONTEXT_H
#define OQ_JSONTEXT_H

/*
 * Why a JSON string has no text value (compare the pointers).  The queue's
 * workers (serde_json) read \u0000 in any string, so a task holding one is
 * valid, and only reading that value into text or jsonb fails; they refuse
 * an unpaired surrogate in every member they read.
 */
extern const char OQ_WHY_NUL[];
extern const char OQ_WHY_SURROGATE[];

/*
 * De-escape a JSON string token (quotes included) that the lexer accepted,
 * into palloc'd UTF-8; NULL with *why set (OQ_WHY_*) for \u0000 or an
 * unpaired surrogate escape.
 */
extern char *oq_json_unescape(const char *tok, int toklen, const char **why);

/*
 * Scan JSON text (already checked by the parser) for \u0000 and unpaired
 * surrogate escapes in its strings; returns the first problem's OQ_WHY_*,
 * or NULL.  With nul_ok, \u0000 is not a problem.
 */
extern const char *oq_json_text_problem(const char *raw, int len, bool nul_ok);

/*
 * The deepest nesting of arrays and objects in s, never less than the
 * parser would reach (more for invalid JSON); counting stops past limit.
 */
extern int	oq_json_max_depth(const char *s, size_t len, int limit);

#endif							/* OQ_JSONTEXT_H */
