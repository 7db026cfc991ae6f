/*-------------------------------------------------------------------------
 *
 * taskfields.c
 *		The fields of the oq task object: names, kinds, the column types
 *		IMPORT FOREIGN SCHEMA gives them, and their defaults.
 *
 * Pure data: usable in the backend and in the frontend unit tests.
 *
 *-------------------------------------------------------------------------
 */
#ifdef FRONTEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include "taskfields.h"

#define DEFAULT_RETRY_POLICY \
	"{\"initial_interval_ms\":1000,\"max_interval_ms\":60000,\"multiplier\":2.0,\"jitter_percent\":0.25}"

/*
 * The fields of the format, in the column order of IMPORT FOREIGN SCHEMA
 * creates.  Required and nullable follow the reference
 * producer's serde model: Option<T> fields take null, fields it skips when
 * absent take null too, the rest must hold a value of their kind.
 */
const OqFieldSpec oq_task_fields[OQ_NUM_FIELDS] = {
	[OQ_F_ID] = {"id", OQ_KIND_UUID, "uuid", true, false, NULL},
	[OQ_F_SHARD] = {"shard", OQ_KIND_STRING, "text", true, false, NULL},
	[OQ_F_TASK_TYPE] = {"task_type", OQ_KIND_STRING, "text", true, false, NULL},
	[OQ_F_STATUS] = {"status", OQ_KIND_STRING, "text", false, false, "\"pending\""},
	[OQ_F_INPUT] = {"input", OQ_KIND_JSON, "jsonb", true, true, NULL},
	[OQ_F_OUTPUT] = {"output", OQ_KIND_JSON, "jsonb", false, true, NULL},
	[OQ_F_INPUT_REF] = {"input_ref", OQ_KIND_STRING, "text", false, true, NULL},
	[OQ_F_OUTPUT_REF] = {"output_ref", OQ_KIND_STRING, "text", false, true, NULL},
	[OQ_F_TAGS] = {"tags", OQ_KIND_TAGS, "jsonb", false, false, "{}"},
	[OQ_F_TIMEOUT_SECONDS] = {"timeout_seconds", OQ_KIND_INTEGER, "bigint", false, false, "300"},
	[OQ_F_MAX_RETRIES] = {"max_retries", OQ_KIND_INTEGER, "integer", false, false, "3"},
	[OQ_F_RETRY_COUNT] = {"retry_count", OQ_KIND_INTEGER, "integer", false, false, "0"},
	[OQ_F_RETRY_POLICY] = {"retry_policy", OQ_KIND_OBJECT, "jsonb", false, false, DEFAULT_RETRY_POLICY},
	[OQ_F_ATTEMPT] = {"attempt", OQ_KIND_INTEGER, "integer", false, false, "0"},
	[OQ_F_CREATED_AT] = {"created_at", OQ_KIND_TIMESTAMP, "timestamptz", true, false, NULL},
	[OQ_F_AVAILABLE_AT] = {"available_at", OQ_KIND_TIMESTAMP, "timestamptz", true, false, NULL},
	[OQ_F_UPDATED_AT] = {"updated_at", OQ_KIND_TIMESTAMP, "timestamptz", true, false, NULL},
	[OQ_F_COMPLETED_AT] = {"completed_at", OQ_KIND_TIMESTAMP, "timestamptz", false, true, NULL},
	[OQ_F_LEASE_EXPIRES_AT] = {"lease_expires_at", OQ_KIND_TIMESTAMP, "timestamptz", false, true, NULL},
	[OQ_F_LEASE_ID] = {"lease_id", OQ_KIND_UUID, "uuid", false, true, NULL},
	[OQ_F_WORKER_ID] = {"worker_id", OQ_KIND_STRING, "text", false, true, NULL},
	[OQ_F_LAST_ERROR] = {"last_error", OQ_KIND_STRING, "text", false, true, NULL},
	[OQ_F_RESCHEDULE_COUNT] = {"reschedule_count", OQ_KIND_INTEGER, "integer", false, false, "0"},
	[OQ_F_MAX_RESCHEDULES] = {"max_reschedules", OQ_KIND_INTEGER, "integer", false, true, NULL},
	[OQ_F_CANCEL_REQUESTED] = {"cancel_requested", OQ_KIND_BOOLEAN, "boolean", false, false, "false"},
	[OQ_F_CANCELLED_AT] = {"cancelled_at", OQ_KIND_TIMESTAMP, "timestamptz", false, true, NULL},
	[OQ_F_CANCELLED_BY] = {"cancelled_by", OQ_KIND_STRING, "text", false, true, NULL},
	[OQ_F_EXPIRES_AT] = {"expires_at", OQ_KIND_TIMESTAMP, "timestamptz", false, true, NULL},
	[OQ_F_EXPIRED_AT] = {"expired_at", OQ_KIND_TIMESTAMP, "timestamptz", false, true, NULL},
};

int
oq_task_field_lookup(const char *name)
{
	for (int f = 0; f < OQ_NUM_FIELDS; f++)
	{
		/* first byte before strcmp: most names differ there */
		if (name[0] == oq_task_fields[f].name[0] &&
			strcmp(name, oq_task_fields[f].name) == 0)
			return f;
	}
	return -1;
}
