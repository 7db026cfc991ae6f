/*-------------------------------------------------------------------------
 *
 * strlist.h
 *		Lists of C strings (List of char *): what pg_list.h does for lists
 *		of nodes, integers and pointers, for the ids, keys and tag values
 *		the planner, the filters and the writers handle.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_STRLIST_H
#define OQ_STRLIST_H

#include "nodes/pg_list.h"
#include "utils/array.h"

/* The non-NULL elements of a text[], palloc'd */
extern List *oq_text_array_strings(ArrayType *array);

/* Whether s (NULL: never) equals an element of list */
extern bool oq_string_list_member(const List *list, const char *s);

#endif							/* OQ_STRLIST_H */
