/*-------------------------------------------------------------------------
 *
 * taskrow.c
 *		From a decoded task object to the values of a foreign table row.
 *
 * Columns of the standard types (the ones IMPORT FOREIGN SCHEMA creates)
 * convert on fast paths that reuse what the decoder already parsed;
 * columns of other types go through the type's input function on the
 * value's text, which is what "compatible other types" means (text for a
 * timestamp, json instead of jsonb, varchar...).  A field absent from the
 * object reads as the queue's workers would read it: the format's default
 * where it has one, else NULL.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "option.h"
#include "taskrow.h"

/* A default's JSON text as a member the converters understand */
static void
default_member(OqJsonMember *m, const char *json)
{
	memset(m, 0, sizeof(*m));
	m->raw = json;
	m->raw_len = strlen(json);
	switch (json[0])
	{
		case '"':
			m->type = OQ_JSON_STRING;
			m->str = pnstrdup(json + 1, m->raw_len - 2);
			break;
		case '{':
			m->type = OQ_JSON_OBJECT;
			break;
		case '[':
			m->type = OQ_JSON_ARRAY;
			break;
		case 't':
		case 'f':
			m->type = OQ_JSON_BOOL;
			m->str = json;
			break;
		case 'n':
			m->type = OQ_JSON_NULL;
			break;
		default:
			m->type = OQ_JSON_NUMBER;
			m->str = json;
			break;
	}
}

static OqConversion
conversion_for(Oid typid)
{
	switch (typid)
	{
		case TEXTOID:
			return OQ_CONV_TEXT;
		case UUIDOID:
			return OQ_CONV_UUID;
		case TIMESTAMPTZOID:
			return OQ_CONV_TIMESTAMPTZ;
		case INT2OID:
			return OQ_CONV_INT2;
		case INT4OID:
			return OQ_CONV_INT4;
		case INT8OID:
			return OQ_CONV_INT8;
		case BOOLOID:
			return OQ_CONV_BOOL;
		case JSONBOID:
			return OQ_CONV_JSONB;
		case JSONOID:
			return OQ_CONV_JSON;
		default:
			return OQ_CONV_INPUT;
	}
}

void
oq_row_builder_init(OqRowBuilder *rb, Relation rel, bool all_columns,
					List *attnums)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	Oid			relid = RelationGetRelid(rel);
	int			i;

	memset(rb, 0, sizeof(*rb));
	rb->tupdesc = tupdesc;
	rb->columns = palloc0(sizeof(OqColumn) * Max(tupdesc->natts, 1));

	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		OqColumn   *col;

		if (att->attisdropped)
			continue;
		if (!all_columns && !list_member_int(attnums, att->attnum))
			continue;

		col = &rb->columns[rb->ncolumns++];
		col->attnum = att->attnum;
		col->field = oq_column_field(relid, att->attnum);
		col->known = oq_task_field_lookup(col->field);
		col->is_etag = col->known < 0 && strcmp(col->field, "etag") == 0;
		col->typid = att->atttypid;
		col->typmod = att->atttypmod;
		col->conv = conversion_for(att->atttypid);
		if (col->conv == OQ_CONV_INPUT)
		{
			Oid			infunc;

			getTypeInputInfo(att->atttypid, &infunc, &col->ioparam);
			fmgr_info(infunc, &col->input);
		}
		if (col->known >= 0 && oq_task_fields[col->known].default_json)
		{
			default_member(&col->dflt, oq_task_fields[col->known].default_json);
			col->has_dflt = true;
		}
	}
}

/* The member a column reads (or its default), NULL when absent */
static const OqJsonMember *
column_member(const OqColumn *col, const OqTaskDoc *doc, bool *from_doc)
{
	const OqJsonMember *m;

	*from_doc = true;
	m = col->known >= 0 ? doc->field[col->known] : oq_task_member(doc, col->field);
	if (m == NULL && col->has_dflt)
	{
		*from_doc = false;
		return &col->dflt;
	}
	return m;
}

/* The errdetail sentence for an OQ_WHY_* reason, translated */
char *
oq_why_detail(const char *why)
{
	if (why == OQ_WHY_NUL)
		return pstrdup(_("The value contains \\u0000, which PostgreSQL text and jsonb cannot hold."));
	return pstrdup(_("The value contains an unpaired UTF-16 surrogate escape, which PostgreSQL cannot hold."));
}

int
oq_why_sqlerrcode(const char *why)
{
	return why == OQ_WHY_NUL ? ERRCODE_UNTRANSLATABLE_CHARACTER :
		ERRCODE_INVALID_TEXT_REPRESENTATION;
}

bool
oq_row_readable(const OqRowBuilder *rb, const OqTaskDoc *doc,
				const char **field, char **detail, int *sqlerrcode)
{
	for (int i = 0; i < rb->ncolumns; i++)
	{
		const OqColumn *col = &rb->columns[i];
		const OqJsonMember *m;
		const char *why = NULL;
		bool		from_doc;

		if (col->is_etag)
			continue;
		m = column_member(col, doc, &from_doc);
		if (m == NULL || m->type == OQ_JSON_NULL)
			continue;

		switch (col->conv)
		{
			case OQ_CONV_JSONB:
			case OQ_CONV_JSON:
				/* json keeps \u0000 as an escape; jsonb cannot */
				if (m->type == OQ_JSON_STRING || m->type == OQ_JSON_OBJECT ||
					m->type == OQ_JSON_ARRAY)
					why = oq_json_text_problem(m->raw, m->raw_len,
											   col->conv == OQ_CONV_JSON);
				break;
			case OQ_CONV_INT2:
			case OQ_CONV_INT4:
			case OQ_CONV_INT8:
				if (from_doc && col->known >= 0 &&
					oq_task_fields[col->known].kind == OQ_KIND_INTEGER &&
					(doc->integer[col->known] < 0 ||
					 (col->conv == OQ_CONV_INT4 && doc->integer[col->known] > PG_INT32_MAX) ||
					 (col->conv == OQ_CONV_INT2 && doc->integer[col->known] > PG_INT16_MAX)))
				{
					*field = col->field;
					*detail = psprintf(_("The value %.*s is out of range for type %s."),
									   m->raw_len, m->raw,
									   format_type_be(col->typid));
					*sqlerrcode = ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE;
					return false;
				}
				/* FALLTHROUGH */
			default:
				if (m->type == OQ_JSON_STRING && m->str == NULL)
					why = m->str_why;
				break;
		}
		if (why)
		{
			*field = col->field;
			*detail = oq_why_detail(why);
			*sqlerrcode = oq_why_sqlerrcode(why);
			return false;
		}
	}
	return true;
}

static void
row_error_callback(void *arg)
{
	OqRowBuilder *rb = (OqRowBuilder *) arg;

	if (rb->cur_key && rb->cur_field)
		errcontext("field \"%s\" of task object \"%s\"", rb->cur_field, rb->cur_key);
}

/* The value as text: strings de-escaped, everything else its JSON text */
static char *
member_text(const OqJsonMember *m)
{
	/* the decoder leaves str NULL for strings text cannot hold (\u0000) */
	if (m->type == OQ_JSON_STRING && m->str == NULL)
		ereport(ERROR,
				(errcode(oq_why_sqlerrcode(m->str_why)),
				 errmsg("string value cannot be converted to text"),
				 errdetail_internal("%s", oq_why_detail(m->str_why))));
	if (m->type == OQ_JSON_STRING || m->type == OQ_JSON_NUMBER ||
		m->type == OQ_JSON_BOOL)
		return pstrdup(m->str);
	return pnstrdup(m->raw, m->raw_len);
}

static Datum
integer_datum(OqColumn *col, const OqTaskDoc *doc, const OqJsonMember *m,
			  bool from_doc)
{
	int64		v;

	if (!from_doc || col->known < 0 ||
		oq_task_fields[col->known].kind != OQ_KIND_INTEGER)
	{
		char	   *text = member_text(m);

		switch (col->conv)
		{
			case OQ_CONV_INT2:
				return DirectFunctionCall1(int2in, CStringGetDatum(text));
			case OQ_CONV_INT4:
				return DirectFunctionCall1(int4in, CStringGetDatum(text));
			default:
				return DirectFunctionCall1(int8in, CStringGetDatum(text));
		}
	}

	v = doc->integer[col->known];
	if (v < 0)					/* beyond int64: see oq_row_readable() */
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("value %.*s is out of range for type %s",
						m->raw_len, m->raw, format_type_be(col->typid))));
	if ((col->conv == OQ_CONV_INT4 && (v < PG_INT32_MIN || v > PG_INT32_MAX)) ||
		(col->conv == OQ_CONV_INT2 && (v < PG_INT16_MIN || v > PG_INT16_MAX)))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("value %lld is out of range for type %s",
						(long long) v, format_type_be(col->typid))));
	if (col->conv == OQ_CONV_INT2)
		return Int16GetDatum((int16) v);
	if (col->conv == OQ_CONV_INT4)
		return Int32GetDatum((int32) v);
	return Int64GetDatum(v);
}

static Datum
convert(OqColumn *col, const OqTaskDoc *doc, const OqJsonMember *m,
		bool from_doc)
{
	switch (col->conv)
	{
		case OQ_CONV_TEXT:
			return CStringGetTextDatum(member_text(m));
		case OQ_CONV_UUID:
			return DirectFunctionCall1(uuid_in, CStringGetDatum(member_text(m)));
		case OQ_CONV_TIMESTAMPTZ:
			if (from_doc && col->known >= 0 &&
				oq_task_fields[col->known].kind == OQ_KIND_TIMESTAMP)
				return TimestampTzGetDatum(OQ_UNIX_TO_PG_US(doc->timestamp[col->known]));
			return DirectFunctionCall3(timestamptz_in, CStringGetDatum(member_text(m)),
									   ObjectIdGetDatum(InvalidOid),
									   Int32GetDatum(col->typmod));
		case OQ_CONV_INT2:
		case OQ_CONV_INT4:
		case OQ_CONV_INT8:
			return integer_datum(col, doc, m, from_doc);
		case OQ_CONV_BOOL:
			if (m->type == OQ_JSON_BOOL)
				return BoolGetDatum(m->str[0] == 't');
			return DirectFunctionCall1(boolin, CStringGetDatum(member_text(m)));
		case OQ_CONV_JSONB:
			return DirectFunctionCall1(jsonb_in,
									   CStringGetDatum(pnstrdup(m->raw, m->raw_len)));
		case OQ_CONV_JSON:
			return CStringGetTextDatum(pnstrdup(m->raw, m->raw_len));
		case OQ_CONV_INPUT:
			return InputFunctionCall(&col->input, member_text(m), col->ioparam,
									 col->typmod);
	}
	pg_unreachable();
}

void
oq_row_build(OqRowBuilder *rb, const OqTaskDoc *doc, const char *key,
			 const char *etag, Datum *values, bool *nulls)
{
	ErrorContextCallback errcb;
	int			i;

	memset(nulls, true, sizeof(bool) * rb->tupdesc->natts);

	errcb.callback = row_error_callback;
	errcb.arg = rb;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	rb->cur_key = key;

	for (i = 0; i < rb->ncolumns; i++)
	{
		OqColumn   *col = &rb->columns[i];
		int			idx = col->attnum - 1;
		const OqJsonMember *m;
		bool		from_doc = true;

		rb->cur_field = col->field;
		if (col->is_etag)
		{
			if (etag)
			{
				values[idx] = CStringGetTextDatum(etag);
				nulls[idx] = false;
			}
			continue;
		}

		m = column_member(col, doc, &from_doc);
		if (m == NULL || m->type == OQ_JSON_NULL)
			continue;

		values[idx] = convert(col, doc, m, from_doc);
		nulls[idx] = false;
	}

	error_context_stack = errcb.previous;
	rb->cur_key = rb->cur_field = NULL;
}
