/*-------------------------------------------------------------------------
 *
 * history.c
 *		oq_task_history(): a task's object versions, oldest first, each with
 *		a one-line account of what changed, like "oq history" in the tagging
 *		specification.
 *
 * Every successful PUT of a task makes a new object version when the
 * bucket has versioning on, so the version list is the task's history:
 * created by a producer, retagged, claimed by a worker, completed...
 * Consecutive versions are compared field by field to say which.  Without
 * versioning there is only the current version, and a NOTICE says why.
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

#include "keys.h"
#include "oq_fdw.h"
#include "rfc3339.h"
#include "s3client.h"
#include "tagsql.h"
#include "taskjson.h"
#include "taskrow.h"

PG_FUNCTION_INFO_V1(oq_task_history);

typedef struct OqVersion
{
	OqS3Version meta;
	OqRequest  *get;			/* NULL for a delete marker */
	OqTaskDoc	doc;
	bool		decoded;
} OqVersion;

/* A string field's text; one text cannot hold (\u0000) as stored, escaped */
static const char *
str_field(const OqTaskDoc *doc, OqField f, const char *dflt)
{
	const OqJsonMember *m = doc->field[f];

	if (m == NULL || m->type != OQ_JSON_STRING)
		return dflt;
	return m->str ? m->str : pnstrdup(m->raw + 1, m->raw_len - 2);
}

static bool
same_field(const OqTaskDoc *a, const OqTaskDoc *b, OqField f)
{
	const OqJsonMember *ma = a->field[f];
	const OqJsonMember *mb = b->field[f];

	if (ma == NULL || mb == NULL)
		return ma == mb;
	return ma->raw_len == mb->raw_len && memcmp(ma->raw, mb->raw, ma->raw_len) == 0;
}

/*
 * {customer: acme-corp, priority: critical}, as the tagging specification
 * writes tags
 */
static void
append_tags(StringInfo buf, const OqTaskDoc *doc)
{
	appendStringInfoChar(buf, '{');
	for (int i = 0; i < doc->ntags; i++)
		appendStringInfo(buf, "%s%s: %s", i > 0 ? ", " : "", doc->tags[i].key,
						 doc->tags[i].value ? doc->tags[i].value : doc->tags[i].json);
	appendStringInfoChar(buf, '}');
}

/*
 * The only version an unversioned bucket keeps: how the task came to be so
 * is unknown, so say what it is now
 */
static char *
describe_current(const OqTaskDoc *cur)
{
	StringInfoData buf;
	const char *status = str_field(cur, OQ_F_STATUS, "pending");
	const char *worker = str_field(cur, OQ_F_WORKER_ID, NULL);
	const char *err = str_field(cur, OQ_F_LAST_ERROR, NULL);
	const char *by = str_field(cur, OQ_F_CANCELLED_BY, NULL);

	initStringInfo(&buf);
	if (strcmp(status, "running") == 0 && worker)
		appendStringInfo(&buf, "running on %s", worker);
	else if (strcmp(status, "failed") == 0 && err)
		appendStringInfo(&buf, "failed: %s", err);
	else if (strcmp(status, "cancelled") == 0 && by)
		appendStringInfo(&buf, "cancelled by %s", by);
	else
		appendStringInfoString(&buf, status);
	if (cur->ntags > 0)
	{
		appendStringInfoString(&buf, ", tags ");
		append_tags(&buf, cur);
	}
	return buf.data;
}

/* What changed from 'prev' (NULL: nothing before) to 'cur' */
static char *
describe(const OqTaskDoc *prev, const OqTaskDoc *cur)
{
	StringInfoData buf;
	const char *status = str_field(cur, OQ_F_STATUS, "pending");
	const char *worker = str_field(cur, OQ_F_WORKER_ID, NULL);

	initStringInfo(&buf);
	if (prev == NULL)
	{
		appendStringInfoString(&buf, "created");
		if (cur->ntags > 0)
		{
			appendStringInfoString(&buf, " with tags ");
			append_tags(&buf, cur);
		}
		return buf.data;
	}

	if (strcmp(str_field(prev, OQ_F_STATUS, "pending"), status) != 0)
	{
		if (strcmp(status, "running") == 0)
			appendStringInfo(&buf, "claimed%s%s", worker ? " by " : "", worker ? worker : "");
		else if (strcmp(status, "failed") == 0)
		{
			const char *err = str_field(cur, OQ_F_LAST_ERROR, NULL);

			appendStringInfo(&buf, "failed%s%s", err ? ": " : "", err ? err : "");
		}
		else if (strcmp(status, "cancelled") == 0)
		{
			const char *by = str_field(cur, OQ_F_CANCELLED_BY, NULL);

			appendStringInfo(&buf, "cancelled%s%s", by ? " by " : "", by ? by : "");
		}
		else if (strcmp(status, "pending") == 0)
			appendStringInfoString(&buf, "released for retry");
		else
			appendStringInfoString(&buf, status);	/* completed, expired, ... */
	}
	if (!oq_tags_equal(prev->tags, prev->ntags, cur->tags, cur->ntags))
	{
		appendStringInfo(&buf, "%stags updated: ", buf.len ? "; " : "");
		append_tags(&buf, cur);
	}
	if (buf.len == 0)
	{
		if (!same_field(prev, cur, OQ_F_LEASE_EXPIRES_AT))
			appendStringInfoString(&buf, "lease extended");
		else if (!same_field(prev, cur, OQ_F_CANCEL_REQUESTED))
			appendStringInfoString(&buf, "cancellation requested");
		else
			appendStringInfoString(&buf, "updated");
	}
	return buf.data;
}

/* Every version of the key, oldest first */
static List *
list_versions(OqBatch *batch, const char *key)
{
	List	   *versions = NIL;
	char	   *key_marker = NULL;
	char	   *version_marker = NULL;
	bool		more;

	do
	{
		OqRequest  *req = oq_s3_run(batch, oq_s3_list_versions(batch, key, key_marker,
															   version_marker, 1000));
		OqS3VersionPage page;

		if (!oq_s3_ok(req))
			oq_s3_report(req, ERROR);
		oq_s3_parse_versions(req, &page);
		for (int i = 0; i < page.nversions; i++)
		{
			OqVersion  *v;

			if (strcmp(page.versions[i].key, key) != 0)
				continue;
			v = palloc0(sizeof(OqVersion));
			v->meta = page.versions[i];
			/* S3 lists a key's versions newest first */
			versions = lcons(v, versions);
		}
		more = page.is_truncated && page.next_key_marker != NULL;
		key_marker = more ? page.next_key_marker : NULL;
		version_marker = more ? page.next_version_id_marker : NULL;
		oq_request_free(req);
	} while (more);
	return versions;
}

Datum
oq_task_history(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			serverid = oq_server_oid_checked(NameStr(*PG_GETARG_NAME(0)));
	char	   *id = DatumGetCString(DirectFunctionCall1(uuid_out, PG_GETARG_DATUM(1)));
	OqConnection *conn = oq_get_connection(serverid, GetUserId());
	OqBatch    *batch = oq_s3_batch_create(conn, conn->opts.max_concurrency);
	char	   *key = oq_task_key(id, conn->opts.shard_prefix_len);
	List	   *versions;
	ListCell   *lc;
	const OqTaskDoc *prev = NULL;
	bool		versioned = false;
	int			n = 0;

	InitMaterializedSRF(fcinfo, 0);

	versions = list_versions(batch, key);
	/* while the queue changes its shard_prefix_len: the other lengths */
	for (int len = 1; versions == NIL && len <= OQ_MAX_SHARD_PREFIX_LEN; len++)
	{
		char	   *other;

		if (len == conn->opts.shard_prefix_len)
			continue;
		other = oq_task_key(id, len);
		versions = list_versions(batch, other);
		if (versions != NIL)
			key = other;
	}
	if (versions == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("task \"%s\" does not exist", id),
				 errdetail("Bucket \"%s\" has no object \"%s\" and no versions of it.",
						   conn->opts.bucket, key)));

	/* unversioned buckets list one version, whose id is "null" */
	foreach(lc, versions)
	{
		OqVersion  *v = (OqVersion *) lfirst(lc);

		if (v->meta.version_id && strcmp(v->meta.version_id, "null") != 0)
			versioned = true;
	}
	if (!versioned)
		ereport(NOTICE,
				(errmsg("bucket \"%s\" does not have versioning on",
						conn->opts.bucket),
				 errdetail("Only the current version of the task is known."),
				 errhint("Turn versioning on for the bucket to keep every version of its tasks.")));

	/* fetch every version at once */
	foreach(lc, versions)
	{
		OqVersion  *v = (OqVersion *) lfirst(lc);

		if (!v->meta.is_delete_marker)
			v->get = versioned ? oq_s3_get_version(batch, key, v->meta.version_id) :
				oq_s3_get(batch, key);
	}

	foreach(lc, versions)
	{
		OqVersion  *v = (OqVersion *) lfirst(lc);
		Datum		values[7];
		bool		nulls[7] = {false, false, false, false, false, false, false};
		int64		us;
		char	   *problem;

		values[0] = Int32GetDatum(++n);
		nulls[1] = !versioned || v->meta.version_id == NULL;
		values[1] = nulls[1] ? (Datum) 0 : CStringGetTextDatum(v->meta.version_id);
		values[2] = BoolGetDatum(v->meta.is_latest);
		nulls[3] = v->meta.last_modified == NULL ||
			!oq_rfc3339_parse(v->meta.last_modified, strlen(v->meta.last_modified), &us);
		values[3] = nulls[3] ? (Datum) 0 : TimestampTzGetDatum(OQ_UNIX_TO_PG_US(us));

		if (v->meta.is_delete_marker)
		{
			nulls[4] = nulls[5] = true;
			values[6] = CStringGetTextDatum("deleted");
			prev = NULL;
		}
		else
		{
			oq_batch_wait_for(batch, v->get);
			/* deleted since it was listed */
			if (!versioned && oq_s3_not_found(v->get))
				ereport(ERROR,
						(errcode(ERRCODE_NO_DATA_FOUND),
						 errmsg("task \"%s\" does not exist", id),
						 errdetail("Bucket \"%s\" has no object \"%s\".",
								   conn->opts.bucket, key)));
			if (!oq_s3_ok(v->get))
				oq_s3_report(v->get, ERROR);
			if (!oq_task_decode(v->get->response, v->get->response_len, &v->doc, &problem))
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
						 errmsg("could not read version %d of task object \"%s\" in bucket \"%s\"",
								n, key, conn->opts.bucket),
						 errdetail_internal("%s", problem)));
			if (v->doc.tags_why)
				ereport(ERROR,
						(errcode(oq_why_sqlerrcode(v->doc.tags_why)),
						 errmsg("could not read field \"tags\" of version %d of task object \"%s\" in bucket \"%s\"",
								n, key, conn->opts.bucket),
						 errdetail_internal("%s", oq_why_detail(v->doc.tags_why))));
			values[4] = CStringGetTextDatum(str_field(&v->doc, OQ_F_STATUS, "pending"));
			values[5] = JsonbPGetDatum(oq_tags_to_jsonb(v->doc.tags, v->doc.ntags));
			values[6] = CStringGetTextDatum(versioned ? describe(prev, &v->doc) :
											describe_current(&v->doc));
			prev = &v->doc;
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}

	oq_batch_destroy(batch);
	return (Datum) 0;
}
