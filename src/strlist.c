/*-------------------------------------------------------------------------
 *
 * strlist.c
 *		Lists of C strings.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"

#include "strlist.h"

List *
oq_text_array_strings(ArrayType *array)
{
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	int			i;
	List	   *result = NIL;

	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &nelems);
	for (i = 0; i < nelems; i++)
		if (!nulls[i])
			result = lappend(result, TextDatumGetCString(elems[i]));
	return result;
}

bool
oq_string_list_member(const List *list, const char *s)
{
	ListCell   *lc;

	if (s == NULL)
		return false;
	foreach(lc, list)
	{
		if (strcmp(s, (const char *) lfirst(lc)) == 0)
			return true;
	}
	return false;
}
