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

#include "utils/builtins.h"
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

void
oq_submit_set_input(OqSubmitSpec *spec, Jsonb *input)
{
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
	spec->max_retries = value;
}

void
oq_submit_set_timeout_seconds(OqSubmitSpec *spec, int64 value)
{
	if (value < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("timeout_seconds must not be negative")));
	spec->timeout_seconds = value;
}
