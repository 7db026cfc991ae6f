/*-------------------------------------------------------------------------
 *
 * functions.c
 *		The SQL functions that write the queue: oq_submit, oq_update_tags,
 *		oq_remove_tags and oq_rebuild_tag_index.
 *
 * They check and convert their arguments (USAGE on the server first,
 * then every argument, before any request), and leave the work to
 * taskwrite.c and tagindex.c, which a bulk INSERT or UPDATE on the
 * foreign table shares.  Their signatures are in oq_fdw--1.0.sql and the
 * README's reference.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "oq_fdw.h"
#include "rfc3339.h"
#include "s3client.h"
#include "submitargs.h"
#include "tagindex.h"
#include "tagsql.h"
#include "taskwrite.h"

PG_FUNCTION_INFO_V1(oq_submit);
PG_FUNCTION_INFO_V1(oq_update_tags);
PG_FUNCTION_INFO_V1(oq_remove_tags);
PG_FUNCTION_INFO_V1(oq_rebuild_tag_index);

/* A write batch for the named server, as the current user */
static OqBatch *
write_batch(Oid serverid)
{
	OqConnection *conn = oq_get_connection(serverid, GetUserId());

	return oq_s3_batch_create(conn, conn->opts.max_concurrency);
}

static void
require_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name)));
}

static char *
uuid_arg(FunctionCallInfo fcinfo, int argno)
{
	/* uuid_out writes the canonical form, the one task keys use */
	return DatumGetCString(DirectFunctionCall1(uuid_out, PG_GETARG_DATUM(argno)));
}

/*
 * oq_submit(server name, task_type text, input jsonb DEFAULT '{}',
 *			 tags jsonb DEFAULT '{}', schedule_at timestamptz DEFAULT NULL,
 *			 max_retries integer DEFAULT NULL,
 *			 timeout_seconds bigint DEFAULT NULL) RETURNS uuid
 *
 * NULL input is JSON null; NULL tags no tags; NULL schedule_at now (by the
 * S3 server's clock); NULL max_retries and timeout_seconds the format's
 * defaults.
 */
Datum
oq_submit(PG_FUNCTION_ARGS)
{
	Oid			serverid;
	OqSubmitSpec spec;
	OqBatch    *batch;
	OqTaskWrite *w;
	Datum		result;

	require_arg(fcinfo, 0, "server");
	serverid = oq_server_oid_checked(NameStr(*PG_GETARG_NAME(0)));
	require_arg(fcinfo, 1, "task_type");

	oq_submit_spec_init(&spec);
	oq_submit_set_task_type(&spec, PG_GETARG_TEXT_PP(1));
	if (!PG_ARGISNULL(2))
		oq_submit_set_input(&spec, PG_GETARG_JSONB_P(2));
	if (!PG_ARGISNULL(3))
		oq_submit_set_tags(&spec, PG_GETARG_JSONB_P(3));
	if (!PG_ARGISNULL(4))
		oq_submit_set_available_at(&spec, PG_GETARG_TIMESTAMPTZ(4), "schedule_at");
	if (!PG_ARGISNULL(5))
		oq_submit_set_max_retries(&spec, PG_GETARG_INT32(5));
	if (!PG_ARGISNULL(6))
		oq_submit_set_timeout_seconds(&spec, PG_GETARG_INT64(6));

	batch = write_batch(serverid);
	w = oq_task_submit_begin(batch, &spec);
	oq_task_write_run(w);
	result = DirectFunctionCall1(uuid_in, CStringGetDatum(w->id));
	oq_task_write_free(w);
	oq_batch_destroy(batch);
	PG_RETURN_DATUM(result);
}

/* Run a change of tags on one task; returns its tags afterwards */
static Datum
change_tags(Oid serverid, const char *task_id, const OqTagChange *change)
{
	OqBatch    *batch = write_batch(serverid);
	OqTaskWrite *w = oq_task_tags_begin(batch, task_id, change, NULL, 0, NULL);
	Jsonb	   *tags;

	oq_task_write_run(w);
	tags = oq_tags_to_jsonb(w->tags, w->ntags);
	oq_task_write_free(w);
	oq_batch_destroy(batch);
	PG_RETURN_JSONB_P(tags);
}

/* oq_update_tags(server name, task_id uuid, tags jsonb) RETURNS jsonb */
Datum
oq_update_tags(PG_FUNCTION_ARGS)
{
	Oid			serverid = oq_server_oid_checked(NameStr(*PG_GETARG_NAME(0)));
	char	   *task_id = uuid_arg(fcinfo, 1);
	OqTagChange change;

	memset(&change, 0, sizeof(change));
	change.set = oq_tags_from_jsonb(PG_GETARG_JSONB_P(2), &change.nset);
	return change_tags(serverid, task_id, &change);
}

/* oq_remove_tags(server name, task_id uuid, keys text[]) RETURNS jsonb */
Datum
oq_remove_tags(PG_FUNCTION_ARGS)
{
	Oid			serverid = oq_server_oid_checked(NameStr(*PG_GETARG_NAME(0)));
	char	   *task_id = uuid_arg(fcinfo, 1);
	OqTagChange change;
	char	  **keys;

	memset(&change, 0, sizeof(change));
	keys = oq_tag_keys_from_array(PG_GETARG_ARRAYTYPE_P(2), &change.nremove);
	change.remove = (const char *const *) keys;
	return change_tags(serverid, task_id, &change);
}

/*
 * oq_rebuild_tag_index(server name)
 *		RETURNS TABLE (entries_added bigint, entries_removed bigint)
 */
Datum
oq_rebuild_tag_index(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			serverid = oq_server_oid_checked(NameStr(*PG_GETARG_NAME(0)));
	OqConnection *conn;
	OqRebuildResult res;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	InitMaterializedSRF(fcinfo, 0);
	conn = oq_get_connection(serverid, GetUserId());
	oq_tag_index_rebuild(conn, &res);

	if (res.kept_recent > 0)
		ereport(NOTICE,
				(errmsg_plural("kept %lld tag index entry that no task holds",
							   "kept %lld tag index entries that no task holds",
							   res.kept_recent,
							   (long long) res.kept_recent),
				 errdetail_plural("It was written less than %d seconds before the rebuild, and a writer puts a task's new index entries just before the task itself.",
								  "They were written less than %d seconds before the rebuild, and a writer puts a task's new index entries just before the task itself.",
								  res.kept_recent,
								  oq_tag_index_rebuild_grace),
				 errhint("Run the rebuild again later, or lower oq_fdw.tag_index_rebuild_grace when nothing writes to the bucket.")));
	if (res.foreign_keys > 0)
		ereport(NOTICE,
				(errmsg_plural("left %lld key under tags/ that is not a tag index entry of a valid tag key",
							   "left %lld keys under tags/ that are not tag index entries of valid tag keys",
							   res.foreign_keys,
							   (long long) res.foreign_keys)));

	values[0] = Int64GetDatum(res.added);
	values[1] = Int64GetDatum(res.removed);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}
