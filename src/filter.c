/*-------------------------------------------------------------------------
 *
 * filter.c
 *		Evaluation of pushed-down clauses against raw task objects.
 *
 * Each term must give exactly the answer PostgreSQL would give for the
 * clause it came from, because pushed clauses are not rechecked locally:
 * a NULL comparison value matches nothing, NULL array elements are
 * skipped the way ?& and ?| skip them.  Tags are mostly strings, compared
 * here directly; a value another producer stored as other JSON is judged
 * through jsonb itself (its ->> text, or jsonb_contains), so that the
 * answer is PostgreSQL's.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/uuid.h"

#include "filter.h"
#include "keys.h"
#include "strlist.h"
#include "tags.h"

static char *
uuid_string(Datum d)
{
	return DatumGetCString(DirectFunctionCall1(uuid_out, d));
}

static List *
uuid_array_strings(ArrayType *array)
{
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	int			i;
	List	   *result = NIL;

	deconstruct_array(array, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR,
					  &elems, &nulls, &nelems);
	for (i = 0; i < nelems; i++)
		if (!nulls[i])
			result = lappend(result, uuid_string(elems[i]));
	return result;
}

/*
 * What ->> gives for a tag whose value is not a string (its JSON text):
 * NULL for null, else the text jsonb_object_field_text would return.
 */
static const char *
foreign_tag_text(const char *json)
{
	Jsonb	   *jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
														CStringGetDatum(json)));
	JsonbValue	v;

	if (!JB_ROOT_IS_SCALAR(jb))
		return JsonbToCString(NULL, &jb->root, VARSIZE(jb));
	(void) JsonbExtractScalar(&jb->root, &v);
	switch (v.type)
	{
		case jbvNull:
			return NULL;
		case jbvBool:
			return v.val.boolean ? "true" : "false";
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out,
													   NumericGetDatum(v.val.numeric)));
		case jbvString:
			return pnstrdup(v.val.string.val, v.val.string.len);
		default:
			elog(ERROR, "unexpected jsonb scalar type %d", (int) v.type);
	}
	return NULL;
}

/* tags->>'key' of the task: its text, or NULL */
static const char *
tag_text(const OqTaskDoc *doc, const char *key)
{
	const OqTag *tag = oq_task_tag_find(doc, key);

	if (tag == NULL)
		return NULL;
	if (tag->value != NULL)
		return tag->value;
	return foreign_tag_text(tag->json);
}

/* The task's tags column, as the scan would show it */
static Jsonb *
doc_tags_jsonb(const OqTaskDoc *doc)
{
	const OqJsonMember *m = doc->field[OQ_F_TAGS];
	char	   *text = m ? pnstrdup(m->raw, m->raw_len) : pstrdup("{}");

	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));
}

OqFilter *
oq_filter_build(List *quals, const Datum *args, const bool *argnulls)
{
	OqFilter   *filter = palloc0(sizeof(OqFilter));
	ListCell   *lc;

	foreach(lc, quals)
	{
		OqQualDesc *desc = (OqQualDesc *) lfirst(lc);
		OqFilterTerm *term = palloc0(sizeof(OqFilterTerm));
		bool		isnull = desc->arg_index >= 0 && argnulls[desc->arg_index];
		Datum		arg = desc->arg_index >= 0 ? args[desc->arg_index] : (Datum) 0;

		term->kind = desc->kind;
		term->key = desc->key;

		/* Every clause is NULL, hence false, for a NULL value */
		if (isnull)
		{
			filter->never = true;
			continue;
		}

		switch (desc->kind)
		{
			case OQ_QUAL_TAG_EQ:
			case OQ_QUAL_STATUS_EQ:
			case OQ_QUAL_TASK_TYPE_EQ:
				term->value = TextDatumGetCString(arg);
				break;
			case OQ_QUAL_TAG_EXISTS:
				if (term->key == NULL)
					term->key = TextDatumGetCString(arg);
				break;
			case OQ_QUAL_TAG_NOT_NULL:
				break;
			case OQ_QUAL_TAG_IN:
				term->values = oq_text_array_strings(DatumGetArrayTypeP(arg));
				if (term->values == NIL)
					filter->never = true;
				break;
			case OQ_QUAL_TAG_EXISTS_ALL:
				term->keys = oq_text_array_strings(DatumGetArrayTypeP(arg));
				break;
			case OQ_QUAL_TAG_EXISTS_ANY:
				term->keys = oq_text_array_strings(DatumGetArrayTypeP(arg));
				if (term->keys == NIL)
					filter->never = true;
				break;
			case OQ_QUAL_TAG_CONTAINS:
				{
					Jsonb	   *jb = DatumGetJsonbP(arg);

					/* an object never contains a scalar or an array */
					if (!JB_ROOT_IS_OBJECT(jb))
						filter->never = true;
					else if (!oq_jsonb_string_pairs(jb, &term->keys, &term->values))
						term->contains = jb;
				}
				break;
			case OQ_QUAL_ID_EQ:
				term->value = uuid_string(arg);
				filter->has_ids = true;
				break;
			case OQ_QUAL_ID_IN:
				term->values = uuid_array_strings(DatumGetArrayTypeP(arg));
				filter->has_ids = true;
				if (term->values == NIL)
					filter->never = true;
				break;
		}
		filter->terms = lappend(filter->terms, term);
	}
	return filter;
}

static const char *
string_field(const OqTaskDoc *doc, OqField field)
{
	const OqJsonMember *m = doc->field[field];

	if (m == NULL)
	{
		const char *dflt = oq_task_fields[field].default_json;

		/* absent status reads as the default, "pending" */
		return (dflt && dflt[0] == '"') ? "pending" : NULL;
	}
	return m->type == OQ_JSON_STRING ? m->str : NULL;
}

bool
oq_filter_match(const OqFilter *filter, const OqTaskDoc *doc)
{
	ListCell   *lc;

	if (filter->never)
		return false;

	foreach(lc, filter->terms)
	{
		OqFilterTerm *t = (OqFilterTerm *) lfirst(lc);
		const char *v;
		const OqTag *tag;
		ListCell   *lk;
		ListCell   *lv;
		bool		any;

		switch (t->kind)
		{
			case OQ_QUAL_TAG_EQ:
				v = tag_text(doc, t->key);
				if (v == NULL || strcmp(v, t->value) != 0)
					return false;
				break;
			case OQ_QUAL_TAG_IN:
				if (!oq_string_list_member(t->values, tag_text(doc, t->key)))
					return false;
				break;
			case OQ_QUAL_TAG_EXISTS:
				if (oq_task_tag_find(doc, t->key) == NULL)
					return false;
				break;
			case OQ_QUAL_TAG_NOT_NULL:
				tag = oq_task_tag_find(doc, t->key);
				if (tag == NULL ||
					(tag->value == NULL && strcmp(tag->json, "null") == 0))
					return false;
				break;
			case OQ_QUAL_TAG_EXISTS_ALL:
				foreach(lk, t->keys)
					if (oq_task_tag_find(doc, (const char *) lfirst(lk)) == NULL)
						return false;
				break;
			case OQ_QUAL_TAG_EXISTS_ANY:
				any = false;
				foreach(lk, t->keys)
					if (oq_task_tag_find(doc, (const char *) lfirst(lk)) != NULL)
						any = true;
				if (!any)
					return false;
				break;
			case OQ_QUAL_TAG_CONTAINS:
				if (t->contains != NULL)
				{
					if (!DatumGetBool(DirectFunctionCall2(jsonb_contains,
														  JsonbPGetDatum(doc_tags_jsonb(doc)),
														  JsonbPGetDatum(t->contains))))
						return false;
					break;
				}
				/* a string is contained only in the same string */
				forboth(lk, t->keys, lv, t->values)
				{
					v = oq_task_tag(doc, (const char *) lfirst(lk));
					if (v == NULL || strcmp(v, (const char *) lfirst(lv)) != 0)
						return false;
				}
				break;
			case OQ_QUAL_ID_EQ:
			case OQ_QUAL_ID_IN:
				if (!oq_filter_match_id(filter, string_field(doc, OQ_F_ID)))
					return false;
				break;
			case OQ_QUAL_STATUS_EQ:
				v = string_field(doc, OQ_F_STATUS);
				if (v == NULL || strcmp(v, t->value) != 0)
					return false;
				break;
			case OQ_QUAL_TASK_TYPE_EQ:
				v = string_field(doc, OQ_F_TASK_TYPE);
				if (v == NULL || strcmp(v, t->value) != 0)
					return false;
				break;
		}
	}
	return true;
}

bool
oq_filter_match_id(const OqFilter *filter, const char *id)
{
	ListCell   *lc;

	if (filter->never)
		return false;
	if (id == NULL)
		return !filter->has_ids;

	foreach(lc, filter->terms)
	{
		OqFilterTerm *t = (OqFilterTerm *) lfirst(lc);

		if (t->kind == OQ_QUAL_ID_EQ && strcmp(id, t->value) != 0)
			return false;
		if (t->kind == OQ_QUAL_ID_IN && !oq_string_list_member(t->values, id))
			return false;
	}
	return true;
}

List *
oq_filter_ids(const OqFilter *filter)
{
	List	   *candidates = NIL;
	List	   *result = NIL;
	ListCell   *lc;

	if (filter->never)
		return NIL;

	/* Every id named by any id term is a candidate; keep those all allow */
	foreach(lc, filter->terms)
	{
		OqFilterTerm *t = (OqFilterTerm *) lfirst(lc);

		if (t->kind == OQ_QUAL_ID_EQ)
			candidates = lappend(candidates, t->value);
		else if (t->kind == OQ_QUAL_ID_IN)
			candidates = list_concat(candidates, t->values);
	}
	foreach(lc, candidates)
	{
		char	   *id = (char *) lfirst(lc);

		if (oq_filter_match_id(filter, id) && !oq_string_list_member(result, id))
			result = lappend(result, id);
	}
	return result;
}

static void
conjunct_add(OqIndexConjunct *c, const char *key, const char *value)
{
	c->prefixes = lappend(c->prefixes, value ? oq_tag_index_value_prefix(key, value) :
						  oq_tag_index_key_prefix(key));
	c->tag_keys = lappend(c->tag_keys, (char *) key);
	c->tag_values = lappend(c->tag_values, (char *) value);
}

static List *
add_single(List *conjuncts, const char *key, const char *value)
{
	OqIndexConjunct *c;

	if (!oq_tag_key_indexable(key))
		return conjuncts;
	c = palloc0(sizeof(OqIndexConjunct));
	conjunct_add(c, key, value);
	return lappend(conjuncts, c);
}

List *
oq_filter_index_conjuncts(const OqFilter *filter)
{
	List	   *conjuncts = NIL;
	ListCell   *lc;

	foreach(lc, filter->terms)
	{
		OqFilterTerm *t = (OqFilterTerm *) lfirst(lc);
		OqIndexConjunct *c;
		ListCell   *lk;
		ListCell   *lv;

		switch (t->kind)
		{
			case OQ_QUAL_TAG_EQ:
				/* '5' is also the ->> of a number 5, which has no entry */
				if (!oq_tag_text_maybe_nonstring(t->value))
					conjuncts = add_single(conjuncts, t->key, t->value);
				break;
			case OQ_QUAL_TAG_CONTAINS:
				/* string pairs: only an equal string contains one */
				forboth(lk, t->keys, lv, t->values)
					conjuncts = add_single(conjuncts, lfirst(lk), lfirst(lv));
				break;
			case OQ_QUAL_TAG_IN:
				if (!oq_tag_key_indexable(t->key))
					break;
				c = palloc0(sizeof(OqIndexConjunct));
				foreach(lv, t->values)
				{
					if (oq_tag_text_maybe_nonstring(lfirst(lv)))
					{
						c = NULL;
						break;
					}
					conjunct_add(c, t->key, lfirst(lv));
				}
				if (c)
					conjuncts = lappend(conjuncts, c);
				break;

				/*
				 * Presence (?, ?&, ?|, IS NOT NULL) holds for values that
				 * are not strings too, and those have no entries.
				 */
			default:
				break;
		}
	}
	return conjuncts;
}

bool
oq_index_conjunct_holds(const OqIndexConjunct *conjunct, const OqTaskDoc *doc)
{
	ListCell   *lk;
	ListCell   *lv;

	forboth(lk, conjunct->tag_keys, lv, conjunct->tag_values)
	{
		const char *have = oq_task_tag(doc, (const char *) lfirst(lk));
		const char *want = (const char *) lfirst(lv);

		if (have && (want == NULL || strcmp(have, want) == 0))
			return true;
	}
	return false;
}
