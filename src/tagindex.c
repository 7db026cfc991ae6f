/*-------------------------------------------------------------------------
 *
 * tagindex.c
 *		The tag index as writers keep it: the entries a task's tags call
 *		for, the difference a change of tags makes, and the rebuild.
 *
 * An entry tags/{key}/{segment}/{id} is an empty object meaning "task id
 * has tag key = the value this segment encodes" (tags.c has the
 * encoding).  Every tag whose key follows the key rules has one, whatever
 * its value, because that is exactly when scans consult the index
 * (filter.c); tags with other keys -- only another producer can write
 * them -- are found by listing.
 *
 * The rebuild repairs a bucket written by producers that do not keep the
 * index, or after best-effort deletions failed.  It reads every task
 * (the ordinary scan, invalid objects skipped with a warning) and feeds
 * the entries their tags call for into a tuplesort, in C collation, which
 * is S3's listing order for these ASCII keys; then it lists tags/ once and
 * merges the two sorted streams: an expected key the listing lacks is
 * written, a listed key nothing expects is deleted.  Memory stays bounded
 * by work_mem (the sort spills) and one listing page, whatever the size of
 * the bucket, and writes go out max_concurrency at a time.
 *
 * Deleting needs care while writers are at work: a writer puts a task's
 * new entries before the task itself, so an entry can rightly exist a
 * moment before any task holds it.  The rebuild therefore removes only
 * entries last written at least oq_fdw.tag_index_rebuild_grace seconds
 * before it started (by the S3 server's clock and LastModified).  Keys
 * under tags/ that are not entries of indexable tags (another tool's, or
 * malformed) are left alone, and so is the marker.
 *
 * At the end the rebuild writes the marker tags/_complete (tagmarker.h),
 * the bucket's word that every task has its entries, which lets scans
 * with tag_index 'auto' use the index.  A task written during the rebuild
 * by oq_fdw has its entries (its writers always write them first); one
 * written by a producer that keeps no index has none, which is why every
 * producer must keep the index before the rebuild runs.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_collation_d.h"
#include "catalog/pg_operator_d.h"
#include "catalog/pg_type_d.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/tuplesort.h"

#include "filter.h"
#include "keys.h"
#include "rfc3339.h"
#include "s3client.h"
#include "scan.h"
#include "stats.h"
#include "tagindex.h"
#include "tagmarker.h"
#include "taskjson.h"

int			oq_tag_index_rebuild_grace = 300;

#define REBUILD_LIST_PAGE_KEYS 1000

List *
oq_tag_index_entries(const char *task_id, const OqTag *tags, int ntags)
{
	List	   *entries = NIL;

	for (int i = 0; i < ntags; i++)
	{
		/* entries only for string values (the index's segment is a string) */
		if (tags[i].value != NULL && oq_tag_key_indexable(tags[i].key))
			entries = lappend(entries, oq_tag_index_key(tags[i].key,
														tags[i].value,
														task_id));
	}
	return entries;
}

/* Does 'tags' hold key = value? */
static bool
has_tag(const OqTag *tags, int ntags, const OqTag *tag)
{
	int			at = oq_tag_find(tags, ntags, tag->key);

	return at >= 0 && oq_tag_same_value(&tags[at], tag);
}

void
oq_tag_index_diff(const char *task_id, const OqTag *before, int nbefore,
				  const OqTag *after, int nafter, List **add, List **remove)
{
	*add = NIL;
	*remove = NIL;
	for (int i = 0; i < nafter; i++)
	{
		if (after[i].value != NULL && oq_tag_key_indexable(after[i].key) &&
			!has_tag(before, nbefore, &after[i]))
			*add = lappend(*add, oq_tag_index_key(after[i].key, after[i].value,
												  task_id));
	}
	for (int i = 0; i < nbefore; i++)
	{
		if (before[i].value != NULL && oq_tag_key_indexable(before[i].key) &&
			!has_tag(after, nafter, &before[i]))
			*remove = lappend(*remove, oq_tag_index_key(before[i].key,
														before[i].value,
														task_id));
	}
}

/* ----------------------------------------------------------------
 * Rebuild
 * ----------------------------------------------------------------
 */

typedef struct Rebuild
{
	OqConnection *conn;
	OqBatch    *writes;			/* entry PUTs and DELETEs */
	OqRebuildResult *result;
	int64		cutoff_s;		/* delete only entries written up to this */
	Tuplesortstate *sort;
	char	   *expected;		/* current expected key, or NULL at the end */
} Rebuild;

/*
 * Take in the writes that finished, and wait while the batch is full (or,
 * at the end, until it is empty).  A failed write fails the rebuild: it is
 * an explicit repair, and should say when it could not finish.
 */
static void
collect_writes(Rebuild *rb, bool drain)
{
	OqBatch    *batch = rb->writes;

	while (batch->ndone > 0 ||
		   oq_batch_pending(batch) >= batch->max_inflight ||
		   (drain && oq_batch_pending(batch) > 0))
	{
		OqRequest  *req = oq_batch_next(batch);

		if (req == NULL)
			break;
		if (!oq_s3_ok(req))
			oq_s3_report(req, ERROR);
		if (req->op == OQ_OP_PUT)
		{
			rb->result->added++;
			oq_stat_inc(OQ_STAT_TAG_INDEX_WRITES);
			oq_tag_stat_entry(req->key, OQ_TAG_STAT_WRITES);
		}
		else
		{
			rb->result->removed++;
			oq_stat_inc(OQ_STAT_TAG_INDEX_DELETES);
			oq_tag_stat_entry(req->key, OQ_TAG_STAT_DELETES);
		}
		oq_request_free(req);
	}
}

static void
write_entry(Rebuild *rb, const char *key)
{
	collect_writes(rb, false);
	(void) oq_s3_put(rb->writes, key, "", 0, NULL, NULL, false);
}

/* A listed key no task calls for: delete it if it is a stale entry */
static void
consider_stale(Rebuild *rb, const OqS3Object *obj)
{
	char	   *tag_key;
	char	   *segment;
	char	   *task_id;
	int64		modified_us;

	if (oq_is_tag_index_marker(obj->key))
		return;
	if (!oq_tag_index_parse_key(obj->key, &tag_key, &segment, &task_id) ||
		!oq_tag_key_indexable(tag_key) ||
		!oq_uuid_is_canonical(task_id, strlen(task_id)))
	{
		rb->result->foreign_keys++;
		return;
	}
	if (obj->last_modified == NULL ||
		!oq_rfc3339_parse(obj->last_modified, strlen(obj->last_modified),
						  &modified_us) ||
		oq_unix_floor_seconds(modified_us) > rb->cutoff_s)
	{
		rb->result->kept_recent++;
		return;
	}
	collect_writes(rb, false);
	(void) oq_s3_delete(rb->writes, obj->key);
}

/* Step to the next distinct expected key (NULL at the end) */
static void
next_expected(Rebuild *rb)
{
	Datum		d;
	bool		isnull;
	char	   *prev = rb->expected;

	rb->expected = NULL;
	/* 16 asks whether to copy the datum: yes, it is pfree'd below */
#if PG_VERSION_NUM >= 160000
	while (tuplesort_getdatum(rb->sort, true, true, &d, &isnull, NULL))
#else
	while (tuplesort_getdatum(rb->sort, true, &d, &isnull, NULL))
#endif
	{
		char	   *key = TextDatumGetCString(d);

		pfree(DatumGetPointer(d));
		if (prev == NULL || strcmp(key, prev) != 0)
		{
			rb->expected = key;
			break;
		}
		pfree(key);
	}
	if (prev)
		pfree(prev);
}

/* Read every task; put the index keys its tags call for into the sort */
static void
collect_expected(Rebuild *rb)
{
	OqScan	   *scan;
	const OqTaskDoc *doc;
	MemoryContext task_cxt;

	scan = oq_scan_create(rb->conn, "oq_rebuild_tag_index", OQ_ACCESS_FULL,
						  OQ_ON_INVALID_SKIP);
	/* oq_fdw.max_scan_objects guards queries; a rebuild must read it all */
	scan->max_objects = 0;
	oq_scan_start(scan, oq_filter_build(NIL, NULL, NULL));

	task_cxt = AllocSetContextCreate(CurrentMemoryContext, "oq_fdw rebuild task",
									 ALLOCSET_SMALL_SIZES);
	while ((doc = oq_scan_next(scan)) != NULL)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(task_cxt);
		const char *id = doc->field[OQ_F_ID]->str;
		ListCell   *lc;

		rb->result->tasks++;
		foreach(lc, oq_tag_index_entries(id, doc->tags, doc->ntags))
			tuplesort_putdatum(rb->sort, CStringGetTextDatum((char *) lfirst(lc)),
							   false);
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(task_cxt);
	}
	oq_scan_end(scan);
	MemoryContextDelete(task_cxt);
}

/* List tags/ in order and merge it with the sorted expected keys */
static void
merge_with_listing(Rebuild *rb)
{
	OqBatch    *list_batch = oq_s3_batch_create(rb->conn, 1);
	MemoryContext page_cxt;
	OqRequest  *req;

	page_cxt = AllocSetContextCreate(CurrentMemoryContext, "oq_fdw rebuild page",
									 ALLOCSET_DEFAULT_SIZES);
	next_expected(rb);
	req = oq_s3_list(list_batch, OQ_TAGS_PREFIX, NULL, NULL, NULL,
					 REBUILD_LIST_PAGE_KEYS);
	while (req != NULL)
	{
		MemoryContext oldcxt;
		OqS3ListPage page;

		oq_batch_wait_for(list_batch, req);
		if (!oq_s3_ok(req))
			oq_s3_report(req, ERROR);
		oldcxt = MemoryContextSwitchTo(page_cxt);
		oq_s3_parse_list(req, &page);
		MemoryContextSwitchTo(oldcxt);
		oq_request_free(req);

		/* ask for the next page now: it arrives while this one is merged */
		req = NULL;
		if (page.is_truncated && page.next_continuation_token)
			req = oq_s3_list(list_batch, OQ_TAGS_PREFIX, NULL, NULL,
							 page.next_continuation_token,
							 REBUILD_LIST_PAGE_KEYS);

		for (int i = 0; i < page.nobjects; i++)
		{
			const OqS3Object *obj = &page.objects[i];
			int			cmp = 1;

			while (rb->expected && (cmp = strcmp(rb->expected, obj->key)) < 0)
			{
				write_entry(rb, rb->expected);
				next_expected(rb);
			}
			if (rb->expected && cmp == 0)
				next_expected(rb);
			else
				consider_stale(rb, obj);
		}
		MemoryContextReset(page_cxt);
		CHECK_FOR_INTERRUPTS();
	}
	while (rb->expected)
	{
		write_entry(rb, rb->expected);
		next_expected(rb);
	}
	oq_batch_destroy(list_batch);
	MemoryContextDelete(page_cxt);
}

void
oq_tag_index_rebuild(OqConnection *conn, OqRebuildResult *result)
{
	Rebuild		rb;

	memset(result, 0, sizeof(OqRebuildResult));
	memset(&rb, 0, sizeof(rb));
	rb.conn = conn;
	rb.result = result;
	rb.writes = oq_s3_batch_create(conn, conn->opts.max_concurrency);

	/* the grace period counts back from the start, by the server's clock */
	rb.cutoff_s = oq_unix_floor_seconds(oq_s3_server_now(rb.writes)) -
		oq_tag_index_rebuild_grace;

	rb.sort = tuplesort_begin_datum(TEXTOID, TextLessOperator, C_COLLATION_OID,
									false, work_mem, NULL, TUPLESORT_NONE);
	collect_expected(&rb);
	tuplesort_performsort(rb.sort);
	merge_with_listing(&rb);
	collect_writes(&rb, true);
	tuplesort_end(rb.sort);

	/*
	 * Every task has its entries now, and oq_fdw's writers always write
	 * them first: the bucket may say its index is complete.
	 */
	oq_tag_index_mark(rb.writes);
	oq_batch_destroy(rb.writes);
}
