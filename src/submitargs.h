/*-------------------------------------------------------------------------
 *
 * submitargs.h
 *		SQL values of a new task (oq_submit's arguments, an INSERT's
 *		columns) checked and put into an OqSubmitSpec.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_SUBMITARGS_H
#define OQ_SUBMITARGS_H

#include "datatype/timestamp.h"
#include "utils/jsonb.h"

#include "taskwrite.h"

/* Each reports a bad value (22023, 22008) naming 'name' */
extern void oq_submit_set_task_type(OqSubmitSpec *spec, text *task_type);
extern void oq_submit_set_input(OqSubmitSpec *spec, Jsonb *input);
extern void oq_submit_set_tags(OqSubmitSpec *spec, Jsonb *tags);
extern void oq_submit_set_available_at(OqSubmitSpec *spec, TimestampTz ts,
									   const char *name);
extern void oq_submit_set_max_retries(OqSubmitSpec *spec, int64 value);
extern void oq_submit_set_timeout_seconds(OqSubmitSpec *spec, int64 value);

#endif							/* OQ_SUBMITARGS_H */
