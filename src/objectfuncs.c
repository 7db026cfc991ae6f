/*-------------------------------------------------------------------------
 *
 * objectfuncs.c
 *		SQL functions for raw object access: list, list versions, get, head,
 *		put and delete any key of a server's bucket.
 *
 * They let a user look into a bucket without leaving SQL (what is under
 * tags/? what does this task's JSON really say?) and let tests seed a
 * bucket.  Each needs USAGE on the server; the writing ones are revoked
 * from PUBLIC by the extension script.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "oq_fdw.h"
#include "rfc3339.h"
#include "s3client.h"
#include "tagmarker.h"

PG_FUNCTION_INFO_V1(oq_list_objects);
PG_FUNCTION_INFO_V1(oq_list_object_versions);
PG_FUNCTION_INFO_V1(oq_get_object);
PG_FUNCTION_INFO_V1(oq_head_object);
PG_FUNCTION_INFO_V1(oq_put_object);
PG_FUNCTION_INFO_V1(oq_delete_object);

#define UNIX_TO_PG_EPOCH_US \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY)

static OqBatch *
batch_for_server(Name servername)
{
	Oid			serverid = oq_server_oid_checked(NameStr(*servername));
	OqConnection *conn = oq_get_connection(serverid, GetUserId());

	return oq_s3_batch_create(conn, conn->opts.max_concurrency);
}

static char *
text_arg_or_null(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		return NULL;
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

static int
page_size_arg(FunctionCallInfo fcinfo, int argno)
{
	int			page_size = PG_ARGISNULL(argno) ? 1000 : PG_GETARG_INT32(argno);

	if (page_size < 1 || page_size > 1000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("page_size must be between 1 and 1000")));
	return page_size;
}

/* An S3 timestamp ("2026-01-28T12:34:56.000Z") as a timestamptz datum */
static bool
s3_time_datum(const char *s, Datum *result)
{
	int64		us;

	if (s == NULL || !oq_rfc3339_parse(s, strlen(s), &us))
		return false;
	*result = TimestampTzGetDatum(us - UNIX_TO_PG_EPOCH_US);
	return true;
}

Datum
oq_list_objects(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *prefix;
	char	   *delimiter;
	char	   *start_after;
	int			page_size;
	OqBatch    *batch;
	char	   *token = NULL;
	MemoryContext page_cxt;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	prefix = text_arg_or_null(fcinfo, 1);
	delimiter = text_arg_or_null(fcinfo, 2);
	start_after = text_arg_or_null(fcinfo, 3);
	page_size = page_size_arg(fcinfo, 4);

	InitMaterializedSRF(fcinfo, 0);
	batch = batch_for_server(PG_GETARG_NAME(0));
	page_cxt = AllocSetContextCreate(CurrentMemoryContext, "oq_list_objects page",
									 ALLOCSET_DEFAULT_SIZES);
	do
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(page_cxt);
		OqRequest  *req;
		OqS3ListPage page;
		int			i;

		req = oq_s3_run(batch, oq_s3_list(batch, prefix, delimiter, start_after,
										  token, page_size));
		if (!oq_s3_ok(req))
			oq_s3_report(req, ERROR);
		oq_s3_parse_list(req, &page);
		oq_request_free(req);

		for (i = 0; i < page.nobjects; i++)
		{
			OqS3Object *obj = &page.objects[i];
			Datum		values[4];
			bool		nulls[4] = {false, false, false, false};

			values[0] = CStringGetTextDatum(obj->key);
			values[1] = CStringGetTextDatum(obj->etag ? obj->etag : "");
			nulls[1] = obj->etag == NULL;
			values[2] = Int64GetDatum(obj->size);
			nulls[3] = !s3_time_datum(obj->last_modified, &values[3]);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
		for (i = 0; i < page.nprefixes; i++)
		{
			Datum		values[4];
			bool		nulls[4] = {false, true, true, true};

			values[0] = CStringGetTextDatum(page.common_prefixes[i]);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}

		MemoryContextSwitchTo(oldcxt);
		token = page.is_truncated && page.next_continuation_token ?
			pstrdup(page.next_continuation_token) : NULL;
		MemoryContextReset(page_cxt);
	} while (token != NULL);

	oq_batch_destroy(batch);
	return (Datum) 0;
}

Datum
oq_list_object_versions(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *prefix;
	int			page_size;
	OqBatch    *batch;
	char	   *key_marker = NULL;
	char	   *version_marker = NULL;
	MemoryContext page_cxt;
	bool		more;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	prefix = text_arg_or_null(fcinfo, 1);
	page_size = page_size_arg(fcinfo, 2);

	InitMaterializedSRF(fcinfo, 0);
	batch = batch_for_server(PG_GETARG_NAME(0));
	page_cxt = AllocSetContextCreate(CurrentMemoryContext, "oq_list_object_versions page",
									 ALLOCSET_DEFAULT_SIZES);
	do
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(page_cxt);
		OqRequest  *req;
		OqS3VersionPage page;
		int			i;

		req = oq_s3_run(batch, oq_s3_list_versions(batch, prefix, key_marker,
												   version_marker, page_size));
		if (!oq_s3_ok(req))
			oq_s3_report(req, ERROR);
		oq_s3_parse_versions(req, &page);
		oq_request_free(req);

		for (i = 0; i < page.nversions; i++)
		{
			OqS3Version *v = &page.versions[i];
			Datum		values[7];
			bool		nulls[7] = {false, false, false, false, false, false, false};

			values[0] = CStringGetTextDatum(v->key);
			nulls[1] = v->version_id == NULL;
			values[1] = nulls[1] ? (Datum) 0 : CStringGetTextDatum(v->version_id);
			values[2] = BoolGetDatum(v->is_latest);
			values[3] = BoolGetDatum(v->is_delete_marker);
			nulls[4] = v->etag == NULL;
			values[4] = nulls[4] ? (Datum) 0 : CStringGetTextDatum(v->etag);
			nulls[5] = v->is_delete_marker;
			values[5] = Int64GetDatum(v->size);
			nulls[6] = !s3_time_datum(v->last_modified, &values[6]);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}

		MemoryContextSwitchTo(oldcxt);
		more = page.is_truncated && page.next_key_marker != NULL;
		if (more)
		{
			key_marker = pstrdup(page.next_key_marker);
			version_marker = page.next_version_id_marker ?
				pstrdup(page.next_version_id_marker) : NULL;
		}
		MemoryContextReset(page_cxt);
	} while (more);

	oq_batch_destroy(batch);
	return (Datum) 0;
}

Datum
oq_get_object(PG_FUNCTION_ARGS)
{
	char	   *key = text_to_cstring(PG_GETARG_TEXT_PP(1));
	OqBatch    *batch = batch_for_server(PG_GETARG_NAME(0));
	OqRequest  *req = oq_s3_run(batch, oq_s3_get(batch, key));
	bytea	   *result;

	if (oq_s3_not_found(req))
	{
		oq_batch_destroy(batch);
		PG_RETURN_NULL();
	}
	if (!oq_s3_ok(req))
		oq_s3_report(req, ERROR);

	result = (bytea *) palloc(VARHDRSZ + req->response_len);
	SET_VARSIZE(result, VARHDRSZ + req->response_len);
	memcpy(VARDATA(result), req->response, req->response_len);
	oq_batch_destroy(batch);
	PG_RETURN_BYTEA_P(result);
}

Datum
oq_head_object(PG_FUNCTION_ARGS)
{
	char	   *key = text_to_cstring(PG_GETARG_TEXT_PP(1));
	OqBatch    *batch = batch_for_server(PG_GETARG_NAME(0));
	OqRequest  *req = oq_s3_run(batch, oq_s3_head(batch, key));
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	if (oq_s3_not_found(req))
	{
		/*
		 * A HEAD's 404 has no body to tell a missing key from a missing
		 * bucket: ask the bucket, whose failure is reported as such.
		 */
		OqRequest  *hb = oq_s3_run(batch, oq_s3_head_bucket(batch));

		if (!oq_s3_ok(hb))
			oq_s3_report_head(hb, ERROR);
		oq_batch_destroy(batch);
		PG_RETURN_NULL();
	}
	if (!oq_s3_ok(req))
		oq_s3_report_head(req, ERROR);

	nulls[0] = req->etag == NULL;
	values[0] = nulls[0] ? (Datum) 0 : CStringGetTextDatum(req->etag);
	nulls[1] = req->content_length < 0;
	values[1] = Int64GetDatum(req->content_length);
	nulls[2] = true;
	if (req->last_modified)
	{
		time_t		t = curl_getdate(req->last_modified, NULL);

		if (t > 0)
		{
			values[2] = TimestampTzGetDatum(time_t_to_timestamptz(t));
			nulls[2] = false;
		}
	}
	oq_batch_destroy(batch);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

Datum
oq_put_object(PG_FUNCTION_ARGS)
{
	char	   *key;
	bytea	   *body;
	char	   *if_match;
	char	   *if_none_match;
	OqBatch    *batch;
	OqRequest  *req;
	text	   *etag;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_NULL();
	key = text_to_cstring(PG_GETARG_TEXT_PP(1));
	body = PG_GETARG_BYTEA_PP(2);
	if_match = text_arg_or_null(fcinfo, 3);
	if_none_match = text_arg_or_null(fcinfo, 4);
	if (if_none_match && strcmp(if_none_match, "*") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("if_none_match must be \"*\" or NULL")));
	/* it becomes a header line: CR/LF would add headers of its own */
	if (if_match && (*if_match == '\0' || oq_http_has_control_char(if_match)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for if_match"),
				 errdetail("An ETag is not empty and has no control characters.")));

	batch = batch_for_server(PG_GETARG_NAME(0));
	/* before the request: whatever its outcome, the old answer may be wrong */
	if (oq_is_tag_index_marker(key))
		oq_tag_index_marker_forget();
	req = oq_s3_run(batch, oq_s3_put(batch, key, VARDATA_ANY(body),
									 VARSIZE_ANY_EXHDR(body), NULL, if_match,
									 if_none_match != NULL));
	if (!oq_s3_ok(req))
		oq_s3_report(req, ERROR);
	etag = cstring_to_text(req->etag ? req->etag : "");
	oq_batch_destroy(batch);
	PG_RETURN_TEXT_P(etag);
}

Datum
oq_delete_object(PG_FUNCTION_ARGS)
{
	char	   *key = text_to_cstring(PG_GETARG_TEXT_PP(1));
	OqBatch    *batch = batch_for_server(PG_GETARG_NAME(0));
	OqRequest  *req;

	if (oq_is_tag_index_marker(key))
		oq_tag_index_marker_forget();
	req = oq_s3_run(batch, oq_s3_delete(batch, key));
	if (!oq_s3_ok(req))
		oq_s3_report(req, ERROR);
	oq_batch_destroy(batch);
	PG_RETURN_VOID();
}
