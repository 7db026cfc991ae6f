/*-------------------------------------------------------------------------
 *
 * submitargs.c
 *		Checking the SQL values that describe a new task, shared by
 *		oq_submit() and INSERT on the foreign table, so that both refuse
 *		the same values with the same errors.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "utils/builtins.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "rfc3339.h"
#include "submitargs.h"
#include "tagsql.h"

void
oq_submit_set_task_type(OqSubmitSpec *spec, text *task_type)
{
	spec->task_type = text_to_cstring(task_type);
	if (spec->task_type[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("task_type must not be empty")));
}

/*
 * serde_json's recursion limit: it counts down from 128 on entering each
 * array or object and refuses the one that reaches 0, so a document nests
 * at most 127 levels.  The task object is one of them, and input sits
 * inside it: input ({} is one level) may nest at most 126.
 */
#define OQ_WORKER_NESTING_LIMIT	128
#define OQ_MAX_INPUT_DEPTH		(OQ_WORKER_NESTING_LIMIT - 2)

static void
check_input_number(Numeric num)
{
	char	   *text = DatumGetCString(DirectFunctionCall1(numeric_out,
														   NumericGetDatum(num)));

	/* glibc's strtod rounds correctly, as serde_json does */
	if (isinf(strtod(text, NULL)))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("input holds a number out of range for the queue's workers"),
				 errdetail("The workers read JSON numbers as double precision values, whose magnitude is at most about 1.8e308; the number has %zu digits before any decimal point.",
						   strcspn(text, ".") - (text[0] == '-' ? 1 : 0))));
	pfree(text);
}

/* What the queue's workers could not parse in input: see the top */
static void
check_input(Jsonb *input)
{
	JsonbIterator *it = JsonbIteratorInit(&input->root);
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			depth = 0;

	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		switch (tok)
		{
			case WJB_BEGIN_ARRAY:
				if (v.val.array.rawScalar)
					break;
				/* FALLTHROUGH */
			case WJB_BEGIN_OBJECT:
				if (++depth > OQ_MAX_INPUT_DEPTH)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("input nests arrays and objects more than %d levels deep",
									OQ_MAX_INPUT_DEPTH),
							 errdetail("The queue's workers refuse a task nested %d levels deep, the task object counting as one and input lying inside it.",
									   OQ_WORKER_NESTING_LIMIT)));
				break;
			case WJB_END_ARRAY:
			case WJB_END_OBJECT:
				/* a raw scalar's pseudo-array ends at depth 0 */
				if (depth > 0)
					depth--;
				break;
			case WJB_KEY:
			case WJB_VALUE:
			case WJB_ELEM:
				if (v.type == jbvNumeric)
					check_input_number(v.val.numeric);
				break;
			case WJB_DONE:
				break;
		}
	}
}

void
oq_submit_set_input(OqSubmitSpec *spec, Jsonb *input)
{
	check_input(input);
	/* jsonb's text keeps numbers exact: it is spliced in as is */
	spec->input_json = JsonbToCString(NULL, &input->root, VARSIZE(input));
}

void
oq_submit_set_tags(OqSubmitSpec *spec, Jsonb *tags)
{
	spec->tags = oq_tags_from_jsonb(tags, &spec->ntags);
}

void
oq_submit_set_available_at(OqSubmitSpec *spec, TimestampTz ts, const char *name)
{
	int64		us;

	if (TIMESTAMP_NOT_FINITE(ts))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("%s must be a finite timestamp", name)));
	us = ts + (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
	if (us < OQ_RFC3339_MIN_US || us > OQ_RFC3339_MAX_US)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("%s is out of range for the oq bucket format", name),
				 errdetail("Task timestamps lie between the years 1 and 9999.")));
	spec->scheduled = true;
	spec->available_at_us = us;
}

void
oq_submit_set_max_retries(OqSubmitSpec *spec, int64 value)
{
	if (value < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_retries must not be negative")));
	if (value > (int64) PG_UINT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("max_retries must be at most %u", PG_UINT32_MAX),
				 errdetail("The queue's workers read max_retries as an unsigned 32-bit integer.")));
	spec->max_retries = value;
}

void
oq_submit_set_timeout_seconds(OqSubmitSpec *spec, int64 value)
{
	if (value < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("timeout_seconds must not be negative"),
				 errdetail("The queue's workers read timeout_seconds as an unsigned 64-bit integer.")));
	spec->timeout_seconds = value;
}
