/*-------------------------------------------------------------------------
 *
 * taskfields.h
 *		The fields of the oq task object, in the column order of the
 *		foreign table.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_TASKFIELDS_H
#define OQ_TASKFIELDS_H

/* The task fields of the format, in the column order of the foreign table */
typedef enum OqField
{
	OQ_F_ID,
	OQ_F_SHARD,
	OQ_F_TASK_TYPE,
	OQ_F_STATUS,
	OQ_F_INPUT,
	OQ_F_OUTPUT,
	OQ_F_INPUT_REF,
	OQ_F_OUTPUT_REF,
	OQ_F_TAGS,
	OQ_F_TIMEOUT_SECONDS,
	OQ_F_MAX_RETRIES,
	OQ_F_RETRY_COUNT,
	OQ_F_RETRY_POLICY,
	OQ_F_ATTEMPT,
	OQ_F_CREATED_AT,
	OQ_F_AVAILABLE_AT,
	OQ_F_UPDATED_AT,
	OQ_F_COMPLETED_AT,
	OQ_F_LEASE_EXPIRES_AT,
	OQ_F_LEASE_ID,
	OQ_F_WORKER_ID,
	OQ_F_LAST_ERROR,
	OQ_F_RESCHEDULE_COUNT,
	OQ_F_MAX_RESCHEDULES,
	OQ_F_CANCEL_REQUESTED,
	OQ_F_CANCELLED_AT,
	OQ_F_CANCELLED_BY,
	OQ_F_EXPIRES_AT,
	OQ_F_EXPIRED_AT
} OqField;

#define OQ_NUM_FIELDS (OQ_F_EXPIRED_AT + 1)

typedef enum OqFieldKind
{
	OQ_KIND_UUID,				/* JSON string, UUID: canonical for the id
								 * (it names the key), any case otherwise */
	OQ_KIND_STRING,				/* JSON string */
	OQ_KIND_TIMESTAMP,			/* JSON string, RFC 3339 */
	OQ_KIND_INTEGER,			/* JSON number, integral, >= 0, fits int64 */
	OQ_KIND_BOOLEAN,			/* JSON true/false */
	OQ_KIND_JSON,				/* any JSON value */
	OQ_KIND_OBJECT,				/* a JSON object */
	OQ_KIND_TAGS				/* object of string to string */
} OqFieldKind;

typedef struct OqFieldSpec
{
	const char *name;			/* member name in the object */
	OqFieldKind kind;
	const char *sql_type;		/* column type IMPORT FOREIGN SCHEMA uses */
	bool		required;		/* absent: the object is not a task */
	bool		nullable;		/* JSON null accepted */
	const char *default_json;	/* value when absent, as JSON; NULL: SQL NULL */
} OqFieldSpec;

extern const OqFieldSpec oq_task_fields[OQ_NUM_FIELDS];

/* Looks a field up by member name; -1 when it is not a field of the format */
extern int	oq_task_field_lookup(const char *name);

#endif							/* OQ_TASKFIELDS_H */
