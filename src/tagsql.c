/*-------------------------------------------------------------------------
 *
 * tagsql.c
 *		Tags as SQL values: jsonb and text[] arguments to checked tag lists,
 *		and tag lists back to jsonb.
 *
 * The rules themselves live in tags.c (pure, shared with the unit tests);
 * this file adds what only SQL input can get wrong -- a tags value that is
 * not an object, a value that is not a string -- and turns every broken
 * rule into an ereport with SQLSTATE 22023 whose message names the key and
 * the rule, as the table of errors in the README says.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"

#include "tagsql.h"

/* Characters of a key quoted in a message */
#define KEY_QUOTE_MAX_CHARS 64

/* The JSON type of the root of a jsonb value (containers as such) */
static enum jbvType
jsonb_root_type(Jsonb *jb)
{
	JsonbValue	v;

	if (JB_ROOT_IS_SCALAR(jb) && JsonbExtractScalar(&jb->root, &v))
		return v.type;
	return JB_ROOT_IS_ARRAY(jb) ? jbvArray : jbvObject;
}

/* The JSON type of a value an iterator returned (containers come as binary) */
static enum jbvType
jsonb_value_type(const JsonbValue *v)
{
	if (v->type == jbvBinary)
		return JsonContainerIsArray(v->val.binary.data) ? jbvArray : jbvObject;
	return v->type;
}

/*
 * errmsg() for a tags value that is not an object: one whole message for
 * each JSON type, so that each can be translated.
 */
static int
errmsg_tags_not_object(enum jbvType type)
{
	switch (type)
	{
		case jbvNull:
			return errmsg("tags must be a JSON object, not null");
		case jbvString:
			return errmsg("tags must be a JSON object, not a string");
		case jbvNumeric:
			return errmsg("tags must be a JSON object, not a number");
		case jbvBool:
			return errmsg("tags must be a JSON object, not a boolean");
		case jbvArray:
			return errmsg("tags must be a JSON object, not an array");
		default:
			return errmsg("tags must be a JSON object");
	}
}

/* errmsg() for a tag value that is not a string, by its JSON type */
static int
errmsg_tag_not_string(const char *key, enum jbvType type)
{
	switch (type)
	{
		case jbvNull:
			return errmsg("tag \"%s\" has a null value; tag values must be strings",
						  key);
		case jbvNumeric:
			return errmsg("tag \"%s\" has a number value; tag values must be strings",
						  key);
		case jbvBool:
			return errmsg("tag \"%s\" has a boolean value; tag values must be strings",
						  key);
		case jbvArray:
			return errmsg("tag \"%s\" has an array value; tag values must be strings",
						  key);
		case jbvObject:
			return errmsg("tag \"%s\" has an object value; tag values must be strings",
						  key);
		default:
			return errmsg("tag \"%s\" has a value that is not a string; tag values must be strings",
						  key);
	}
}

OqTag *
oq_tags_from_jsonb(Jsonb *jb, int *ntags)
{
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	v;
	OqTag	   *tags;
	int			n = 0;
	char	   *problem;
	char	   *key = NULL;

	if (!JB_ROOT_IS_OBJECT(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg_tags_not_object(jsonb_root_type(jb)),
				 errhint("Pass tags as an object of strings, such as '{\"customer\": \"acme-corp\"}'.")));

	if (!oq_tag_check_count(JB_ROOT_COUNT(jb), &problem))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg_internal("%s", problem)));

	tags = palloc(sizeof(OqTag) * Max(JB_ROOT_COUNT(jb), 1));
	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			key = pnstrdup(v.val.string.val, v.val.string.len);
		else if (tok == WJB_VALUE)
		{
			char	   *value;

			if (v.type != jbvString)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg_tag_not_string(oq_quote_for_message(key, strlen(key),
																	KEY_QUOTE_MAX_CHARS),
											   jsonb_value_type(&v)),
						 errhint("Write the value as a JSON string, such as \"42\".")));
			value = pnstrdup(v.val.string.val, v.val.string.len);
			if (!oq_tag_check(key, value, &problem))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg_internal("%s", problem)));
			tags[n].key = key;
			tags[n].value = value;
			tags[n].json = NULL;
			n++;
		}
	}
	*ntags = n;
	return tags;
}

char	  **
oq_tag_keys_from_array(ArrayType *keys, int *nkeys)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	char	  **result;

	deconstruct_array(keys, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	result = palloc(sizeof(char *) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("tag keys must not be null")));
		result[i] = TextDatumGetCString(elems[i]);
	}
	*nkeys = n;
	return result;
}

Jsonb *
oq_tags_to_jsonb(const OqTag *tags, int ntags)
{
	JsonbParseState *state = NULL;
	JsonbValue *result;

	(void) pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < ntags; i++)
	{
		JsonbValue	k;
		JsonbValue	v;

		k.type = jbvString;
		k.val.string.val = unconstify(char *, tags[i].key);
		k.val.string.len = strlen(tags[i].key);
		if (tags[i].value == NULL)
		{
			/* another producer's value: its JSON as jsonb reads it */
			Jsonb	   *jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
																CStringGetDatum(tags[i].json)));

			v.type = jbvBinary;
			v.val.binary.data = &jb->root;
			v.val.binary.len = VARSIZE(jb) - VARHDRSZ;
		}
		else
		{
			v.type = jbvString;
			v.val.string.val = unconstify(char *, tags[i].value);
			v.val.string.len = strlen(tags[i].value);
		}
		(void) pushJsonbValue(&state, WJB_KEY, &k);
		(void) pushJsonbValue(&state, WJB_VALUE, &v);
	}
	result = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(result);
}
