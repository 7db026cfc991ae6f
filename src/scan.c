/*-------------------------------------------------------------------------
 *
 * scan.c
 *		The streaming task scan.
 *
 * A scan is a pipeline on one request batch.  Producers find task keys:
 * sixteen concurrent ListObjectsV2 chains over tasks/0 .. tasks/f (the
 * shards are independent prefixes, whatever shard_prefix_len is), or the
 * listings of tag index prefixes, or nothing at all when the ids are
 * given.  A queue of keys feeds GETs, kept at max_concurrency in flight.
 * Each finished GET is decoded and filtered by the pushed-down clauses;
 * a match is handed to the executor while later pages are still being
 * listed and fetched.
 *
 * Memory stays bounded whatever the number of tasks: a listing page is
 * only requested while fewer than OQ_QUEUE_LOW_WATER keys wait or may
 * arrive with the pages already requested, each key is freed once its GET
 * is submitted, and each task's body and decoded form live until the next
 * task is asked for.
 *
 * With several index conjuncts (tags->>'a' = 'x' AND tags->>'b' = 'y'),
 * the first page of every one is listed, and the scan continues with the
 * smallest; other conjuncts whose listing was complete on that first page
 * still narrow it, by intersection.  Everything the index says is
 * rechecked against the task object; entries whose task no longer has the
 * tag are stale, counted, and skipped.
 *
 * While the queue changes its shard_prefix_len, a task may be stored under
 * a shard of another length (tasks/a/{id}.json beside tasks/ab/...), even
 * under both.  Each task is read once, and the key of the server's length
 * wins: a listed key of another length is read only after a HEAD of the
 * server's key found nothing, and an id whose key of the server's length
 * is missing is looked for under the other lengths, one after the other.
 * Both cost requests only for such keys and for ids that do not exist.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/pg_prng.h"
#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "keys.h"
#include "s3client.h"
#include "scan.h"
#include "stats.h"
#include "tagmarker.h"
#include "sharedcache.h"
#include "taskcache.h"

int			oq_max_scan_objects = 0;

/* Ask for more listing pages while fewer task keys than this wait */
#define OQ_QUEUE_LOW_WATER	2000
#define OQ_LIST_PAGE_KEYS	1000

/*
 * req->tag (and OqPendingKey.tag): LIST requests carry their chain's index;
 * a GET of a listed key OQ_TAG_GET; the HEAD of the server's key for a
 * listed key of shard length n, OQ_TAG_PROBE(n); the GET of an id's key,
 * OQ_TAG_ID(mask of the shard lengths tried so far, this one included).
 */
#define OQ_TAG_GET			(-1)
#define OQ_TAG_PROBE(n)		(-10 - (n))
#define OQ_TAG_IS_PROBE(t)	((t) <= -11 && (t) >= -10 - OQ_MAX_SHARD_PREFIX_LEN)
#define OQ_TAG_PROBE_LEN(t)	((int) (-10 - (t)))
#define OQ_TAG_ID(mask)		(-100 - (mask))
#define OQ_TAG_IS_ID(t)		((t) <= -100)
#define OQ_TAG_ID_MASK(t)	((int) (-100 - (t)))

static const char hex_digits[] = "0123456789abcdef";

typedef struct OqIdEntry
{
	char		id[OQ_UUID_LEN + 1];
} OqIdEntry;

static HTAB *
create_id_set(MemoryContext cxt)
{
	HASHCTL		ctl;

	ctl.keysize = OQ_UUID_LEN + 1;
	ctl.entrysize = sizeof(OqIdEntry);
	ctl.hcxt = cxt;
	return hash_create("oq_fdw task ids", 256, &ctl,
					   HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
}

static void
push_key(OqPendingKey **head, OqPendingKey **tail, OqPendingKey *pk)
{
	pk->next = NULL;
	if (*tail)
		(*tail)->next = pk;
	else
		*head = pk;
	*tail = pk;
}

static OqPendingKey *
pop_key(OqPendingKey **head, OqPendingKey **tail)
{
	OqPendingKey *pk = *head;

	*head = pk->next;
	if (*head == NULL)
		*tail = NULL;
	return pk;
}

static void
free_key(OqPendingKey *pk)
{
	if (pk->etag)
		pfree(pk->etag);
	pfree(pk);
}

static void
enqueue_tagged(OqScan *scan, const char *key, const char *etag, int64 tag)
{
	size_t		len = strlen(key);
	OqPendingKey *pk = MemoryContextAlloc(scan->scan_cxt,
										  offsetof(OqPendingKey, key) + len + 1);

	memcpy(pk->key, key, len + 1);
	pk->tag = tag;
	pk->etag = etag ? MemoryContextStrdup(scan->scan_cxt, etag) : NULL;
	push_key(&scan->queue_head, &scan->queue_tail, pk);
	scan->nqueued++;
}

static void
enqueue_key(OqScan *scan, const char *key, const char *etag)
{
	enqueue_tagged(scan, key, etag, OQ_TAG_GET);
}

/* The id's key under shard length 'len', tried after those in 'mask' */
static void
enqueue_id_len(OqScan *scan, const char *id, int len, int mask)
{
	char	   *key = oq_task_key(id, len);

	enqueue_tagged(scan, key, NULL, OQ_TAG_ID(mask | (1 << len)));
	pfree(key);
}

static void
enqueue_id(OqScan *scan, const char *id)
{
	enqueue_id_len(scan, id, scan->conn->opts.shard_prefix_len, 0);
}

static void
add_chain(OqScan *scan, const char *prefix, int conjunct)
{
	OqListChain *chain = &scan->chains[scan->nchains++];

	memset(chain, 0, sizeof(*chain));
	chain->prefix = MemoryContextStrdup(scan->scan_cxt, prefix);
	chain->conjunct = conjunct;
	chain->claimed = true;
}

/* Shard listings a participant of a parallel scan works on at once */
#define OQ_PARALLEL_CHAINS	2

/* Parallel scan: take more shard listings while fewer than two are open */
static void
claim_chains(OqScan *scan)
{
	int			open = 0;
	int			i;

	for (i = 0; i < scan->nchains; i++)
		if (scan->chains[i].claimed && !scan->chains[i].done)
			open++;
	while (open < OQ_PARALLEL_CHAINS)
	{
		uint32		next = pg_atomic_fetch_add_u32(&scan->parallel->next_chain, 1);

		if (next >= (uint32) scan->nchains)
			break;
		scan->chains[next].claimed = true;
		open++;
	}
}

/*
 * oq_tag_stats(): a full listing for a scan with conditions on tag keys
 * counts once under each key, whether the index could not answer them or
 * was not chosen (ANALYZE's listing has no conditions)
 */
static void
count_full_scan_keys(const OqFilter *filter)
{
	List	   *keys = NIL;
	ListCell   *lc;

	foreach(lc, filter->terms)
	{
		OqFilterTerm *t = (OqFilterTerm *) lfirst(lc);
		ListCell   *lk;

		if (t->key)
			keys = list_append_unique(keys, makeString(t->key));
		foreach(lk, t->keys)
			keys = list_append_unique(keys, makeString((char *) lfirst(lk)));
	}
	foreach(lc, keys)
		oq_tag_stat_add(strVal(lfirst(lc)), OQ_TAG_STAT_FULL_SCANS, 1);
	list_free_deep(keys);
}

static void
start_full_listing(OqScan *scan)
{
	int			i;

	count_full_scan_keys(scan->filter);

	scan->access = OQ_ACCESS_FULL;
	scan->chains = MemoryContextAlloc(scan->scan_cxt, sizeof(OqListChain) * 16);
	for (i = 0; i < 16; i++)
	{
		char		prefix[sizeof(OQ_TASKS_PREFIX) + 1];

		snprintf(prefix, sizeof(prefix), OQ_TASKS_PREFIX "%c", hex_digits[i]);
		add_chain(scan, prefix, -1);
		scan->chains[i].claimed = scan->parallel == NULL;
	}
	scan->phase = OQ_PHASE_COLLECT;
}

static void
start_index_listing(OqScan *scan, List *conjuncts)
{
	ListCell   *lc;
	int			nprefixes = 0;
	int			j = 0;

	foreach(lc, conjuncts)
		nprefixes += list_length(((OqIndexConjunct *) lfirst(lc))->prefixes);

	scan->conjuncts = conjuncts;
	scan->nconjuncts = list_length(conjuncts);
	scan->chains = MemoryContextAlloc(scan->scan_cxt, sizeof(OqListChain) * nprefixes);
	scan->conjunct_ids = MemoryContextAllocZero(scan->scan_cxt,
												sizeof(HTAB *) * scan->nconjuncts);
	foreach(lc, conjuncts)
	{
		OqIndexConjunct *c = (OqIndexConjunct *) lfirst(lc);
		ListCell   *lp;

		foreach(lp, c->prefixes)
			add_chain(scan, (const char *) lfirst(lp), j);
		if (scan->nconjuncts > 1)
			scan->conjunct_ids[j] = create_id_set(scan->scan_cxt);
		j++;
	}
	scan->seen_ids = create_id_set(scan->scan_cxt);
	scan->phase = scan->nconjuncts > 1 ? OQ_PHASE_PROBE : OQ_PHASE_COLLECT;
	scan->chosen = scan->nconjuncts > 1 ? -1 : 0;
	scan->probes_pending = scan->nconjuncts > 1 ? scan->nchains : 0;
	oq_stat_inc(OQ_STAT_TAG_INDEX_QUERIES);
	foreach(lc, conjuncts)
	{
		ListCell   *lk;

		foreach(lk, ((OqIndexConjunct *) lfirst(lc))->tag_keys)
			oq_tag_stat_add((const char *) lfirst(lk), OQ_TAG_STAT_QUERIES, 1);
	}
}

static void
scan_start(OqScan *scan)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(scan->scan_cxt);

	scan->batch = oq_s3_batch_create(scan->conn, scan->max_inflight);
	scan->access = scan->planned_access;

	if (scan->filter->never)
	{
		/* a NULL comparison value or the like: no task can match */
		scan->phase = OQ_PHASE_COLLECT;
	}
	else if (scan->access == OQ_ACCESS_IDS && scan->filter->has_ids)
	{
		ListCell   *lc;

		foreach(lc, oq_filter_ids(scan->filter))
			enqueue_id(scan, (const char *) lfirst(lc));
		scan->phase = OQ_PHASE_COLLECT;
	}
	else if (scan->access == OQ_ACCESS_INDEX)
	{
		List	   *conjuncts = oq_filter_index_conjuncts(scan->filter);

		if (conjuncts != NIL)
			start_index_listing(scan, conjuncts);
		else
		{
			/* e.g. a parameter '' or '5': exact only by reading every task */
			scan->counters.index_fallbacks++;
			start_full_listing(scan);
		}
	}
	else
		start_full_listing(scan);

	MemoryContextSwitchTo(oldcxt);
}

OqScan *
oq_scan_create(OqConnection *conn, const char *relname, OqAccessKind access,
			   OqOnInvalid on_invalid)
{
	OqScan	   *scan = palloc0(sizeof(OqScan));

	scan->conn = conn;
	scan->relname = pstrdup(relname);
	scan->planned_access = access;
	scan->on_invalid = on_invalid;
	scan->max_inflight = conn->opts.max_concurrency;
	scan->max_objects = oq_max_scan_objects;
	scan->scan_cxt = AllocSetContextCreate(CurrentMemoryContext, "oq_fdw scan",
										   ALLOCSET_DEFAULT_SIZES);
	scan->page_cxt = AllocSetContextCreate(CurrentMemoryContext, "oq_fdw listing page",
										   ALLOCSET_DEFAULT_SIZES);
	scan->task_cxt = AllocSetContextCreate(CurrentMemoryContext, "oq_fdw task",
										   ALLOCSET_DEFAULT_SIZES);
	return scan;
}

/*
 * Keep the pipeline full: listing pages while the queue runs low (only
 * first pages while probing), GETs up to the concurrency limit.
 */
static void
refill(OqScan *scan)
{
	OqBatch    *batch = scan->batch;
	int64		listing = 0;	/* keys that pages in flight may bring */
	int			i;

	if (scan->parallel && scan->access == OQ_ACCESS_FULL)
		claim_chains(scan);
	for (i = 0; i < scan->nchains; i++)
		if (scan->chains[i].inflight)
			listing += OQ_LIST_PAGE_KEYS;

	for (i = 0; i < scan->nchains; i++)
	{
		OqListChain *chain = &scan->chains[i];
		OqRequest  *req;

		if (chain->done || chain->inflight || chain->dropped || !chain->claimed)
			continue;

		/*
		 * While GETs are the bottleneck, list only as far ahead as needed to
		 * keep them busy; when keys drain at once (cache hits, a sample
		 * being drawn), every chain lists side by side.
		 */
		if (scan->phase == OQ_PHASE_PROBE ? chain->pages > 0 :
			scan->sample_target == 0 &&
			scan->nqueued + listing >= OQ_QUEUE_LOW_WATER)
			continue;
		listing += OQ_LIST_PAGE_KEYS;
		req = oq_s3_list(batch, chain->prefix, NULL, NULL, chain->token,
						 OQ_LIST_PAGE_KEYS);
		req->tag = i;
		chain->inflight = true;
	}

	/*
	 * Keys whose listed ETag the cache holds need no GET; the others go out
	 * as GETs while the batch has room.
	 */
	while (scan->queue_head)
	{
		OqPendingKey *pk = scan->queue_head;
		OqRequest  *req;

		if (pk->etag && oq_cache_contains(scan->conn, pk->key, pk->etag))
		{
			pop_key(&scan->queue_head, &scan->queue_tail);
			scan->nqueued--;
			push_key(&scan->hits_head, &scan->hits_tail, pk);
			continue;
		}
		if (batch->nqueued + batch->ninflight >= scan->max_inflight)
			break;

		pop_key(&scan->queue_head, &scan->queue_tail);
		scan->nqueued--;
		if (pk->etag && oq_cache_enabled())
			oq_cache_count_miss();
		if (OQ_TAG_IS_PROBE(pk->tag))
		{
			char		id[OQ_UUID_LEN + 1];
			int			len;
			char	   *ours;

			/* is the task under the server's shard length too? */
			if (!oq_task_key_parse_any(pk->key, id, &len, NULL))
				elog(ERROR, "queued key \"%s\" is not a task key", pk->key);
			ours = oq_task_key(id, scan->conn->opts.shard_prefix_len);
			req = oq_s3_head(batch, ours);
			pfree(ours);
		}
		else
			req = oq_s3_get(batch, pk->key);
		req->tag = pk->tag;
		free_key(pk);
	}
}

static void
report_invalid_summary(OqScan *scan)
{
	if (scan->invalid_count == 0 || scan->warned)
		return;
	scan->warned = true;
	ereport(WARNING,
			(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
			 errmsg_plural("skipped %lld invalid task object in bucket \"%s\"",
						   "skipped %lld invalid task objects in bucket \"%s\"",
						   scan->invalid_count,
						   (long long) scan->invalid_count,
						   scan->conn->opts.bucket),
			 scan->first_invalid_field ?
			 errdetail("The first was \"%s\", whose field \"%s\" could not be read. %s",
					   scan->first_invalid, scan->first_invalid_field,
					   scan->first_invalid_detail) :
			 errdetail("The first was \"%s\": %s.", scan->first_invalid,
					   scan->first_invalid_problem)));
}

/* One more skipped object, or the first: kept for the summary */
static void
count_invalid(OqScan *scan, const char *key, const char *problem,
			  const char *field, const char *detail)
{
	if (scan->invalid_count++ == 0)
	{
		scan->first_invalid = MemoryContextStrdup(scan->scan_cxt, key);
		if (field)
		{
			scan->first_invalid_field = MemoryContextStrdup(scan->scan_cxt, field);
			scan->first_invalid_detail = MemoryContextStrdup(scan->scan_cxt, detail);
		}
		else
			scan->first_invalid_problem = MemoryContextStrdup(scan->scan_cxt, problem);
	}
	scan->counters.invalid_skipped++;
	oq_stat_inc(OQ_STAT_INVALID_TASKS_SKIPPED);
}

/*
 * An object that is not a valid task (problem: a translated message
 * clause): an error, or with on_invalid 'skip' one more skipped object.
 */
static void
task_invalid(OqScan *scan, const char *key, const char *problem)
{
	if (scan->on_invalid == OQ_ON_INVALID_ERROR)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
				 errmsg("could not read task object \"%s\" in bucket \"%s\"",
						key, scan->conn->opts.bucket),
				 errdetail_internal("%s", problem),
				 errhint("Set the option on_invalid 'skip' on foreign table \"%s\" to skip such objects with a warning.",
						 scan->relname)));
	count_invalid(scan, key, problem, NULL, NULL);
}

/*
 * A valid task with a value PostgreSQL cannot hold in a field the query
 * reads: an error naming both, or with on_invalid 'skip' one more skipped
 * task.  Tasks that do not read that field are returned as usual.
 */
static void
task_unreadable(OqScan *scan, const char *key, const char *field,
				const char *detail, int sqlerrcode)
{
	if (scan->on_invalid == OQ_ON_INVALID_ERROR)
		ereport(ERROR,
				(errcode(sqlerrcode),
				 errmsg("could not read field \"%s\" of task object \"%s\" in bucket \"%s\"",
						field, key, scan->conn->opts.bucket),
				 errdetail_internal("%s", detail),
				 errhint("Leave that field's column out of the query, or set the option on_invalid 'skip' on foreign table \"%s\" to skip such tasks with a warning.",
						 scan->relname)));
	count_invalid(scan, key, NULL, field, detail);
}

/* The field a pushed-down term reads that this task cannot give, or NULL */
static const char *
filter_unreadable_field(const OqScan *scan, const OqTaskDoc *doc,
						const char **why)
{
	ListCell   *lc;

	*why = doc->tags_why;
	if (scan->access == OQ_ACCESS_INDEX && doc->tags_why)
		return "tags";
	foreach(lc, scan->filter->terms)
	{
		OqFilterTerm *t = (OqFilterTerm *) lfirst(lc);
		const OqJsonMember *m;
		OqField		f;

		switch (t->kind)
		{
			case OQ_QUAL_STATUS_EQ:
			case OQ_QUAL_TASK_TYPE_EQ:
				f = t->kind == OQ_QUAL_STATUS_EQ ? OQ_F_STATUS : OQ_F_TASK_TYPE;
				m = doc->field[f];
				if (m && m->type == OQ_JSON_STRING && m->str == NULL)
				{
					*why = m->str_why;
					return oq_task_fields[f].name;
				}
				break;
			case OQ_QUAL_ID_EQ:
			case OQ_QUAL_ID_IN:
				break;
			default:			/* the tag terms */
				if (doc->tags_why)
					return "tags";
				break;
		}
	}
	return NULL;
}

static void
check_scan_limit(OqScan *scan)
{
	if (scan->max_objects <= 0 || scan->nlisted <= scan->max_objects)
		return;

	if (scan->index_not_kept)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("scan of foreign table \"%s\" would read more than %lld task objects",
						scan->relname, (long long) scan->max_objects),
				 errdetail("Bucket \"%s\" has no tag index (no object \"%s\"), so the scan reads every task; oq_fdw.max_scan_objects is %lld.",
						   scan->conn->opts.bucket, OQ_TAG_INDEX_MARKER_KEY,
						   (long long) scan->max_objects),
				 errhint("Run oq_rebuild_tag_index('%s') once every producer writing to the bucket keeps the tag index, add a condition id = '...', or raise oq_fdw.max_scan_objects.",
						 scan->conn->server_name)));
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("scan of foreign table \"%s\" would read more than %lld task objects",
					scan->relname, (long long) scan->max_objects),
			 errdetail("Without a condition the tag index or id lookups can answer, the scan reads every task in bucket \"%s\"; oq_fdw.max_scan_objects is %lld.",
					   scan->conn->opts.bucket, (long long) scan->max_objects),
			 scan->conn->opts.tag_index_mode == OQ_TAG_INDEX_OFF ?
			 errhint("Add a condition id = '...', turn on the server option tag_index so that tag conditions use the index, or raise oq_fdw.max_scan_objects.") :
			 scan->conn->opts.tag_index_mode == OQ_TAG_INDEX_ON ?
			 errhint("Add a condition the tag index or an id lookup can answer, such as tags->>'key' = 'value', tags @> '{\"key\": \"value\"}' or id = '...', or raise oq_fdw.max_scan_objects.") :
			 errhint("Add a condition the tag index or an id lookup can answer, such as tags->>'key' = 'value', tags @> '{\"key\": \"value\"}' or id = '...' (the tag index is used once oq_rebuild_tag_index('%s') has built it), or raise oq_fdw.max_scan_objects.",
					 scan->conn->server_name)));
}

/* The id of an index entry tags/{key}/{segment}/{id}, or NULL */
static const char *
index_entry_id(const char *key)
{
	const char *slash = strrchr(key, '/');

	if (slash == NULL || !oq_uuid_is_canonical(slash + 1, strlen(slash + 1)))
		return NULL;
	return slash + 1;
}

/* Queue an index hit's task unless seen or excluded by an intersection */
static void
collect_index_id(OqScan *scan, const char *id)
{
	ListCell   *lc;
	bool		found;

	foreach(lc, scan->allowed_ids)
	{
		if (hash_search((HTAB *) lfirst(lc), id, HASH_FIND, NULL) == NULL)
			return;
	}
	hash_search(scan->seen_ids, id, HASH_ENTER, &found);
	if (!found)
		enqueue_id(scan, id);
}

/*
 * All first pages are in: continue with the conjunct that names the fewest
 * tasks (complete listings first), intersected with the other complete ones.
 */
static void
choose_conjunct(OqScan *scan)
{
	bool	   *complete = palloc(sizeof(bool) * scan->nconjuncts);
	int64		best_cost = PG_INT64_MAX;
	int			best = 0;
	int			i;
	int			j;
	HASH_SEQ_STATUS seq;
	OqIdEntry  *entry;
	MemoryContext oldcxt = MemoryContextSwitchTo(scan->scan_cxt);

	for (j = 0; j < scan->nconjuncts; j++)
		complete[j] = true;
	for (i = 0; i < scan->nchains; i++)
		if (!scan->chains[i].done)
			complete[scan->chains[i].conjunct] = false;

	for (j = 0; j < scan->nconjuncts; j++)
	{
		int64		cost = hash_get_num_entries(scan->conjunct_ids[j]);

		if (!complete[j])
			cost += PG_INT64_MAX / 2;
		if (cost < best_cost)
		{
			best_cost = cost;
			best = j;
		}
	}

	for (j = 0; j < scan->nconjuncts; j++)
		if (j != best && complete[j])
			scan->allowed_ids = lappend(scan->allowed_ids, scan->conjunct_ids[j]);
	for (i = 0; i < scan->nchains; i++)
		if (scan->chains[i].conjunct != best)
			scan->chains[i].dropped = true;

	scan->chosen = best;
	scan->phase = OQ_PHASE_COLLECT;
	hash_seq_init(&seq, scan->conjunct_ids[best]);
	while ((entry = (OqIdEntry *) hash_seq_search(&seq)) != NULL)
		collect_index_id(scan, entry->id);
	pfree(complete);
	MemoryContextSwitchTo(oldcxt);
}

static bool
listing_done(OqScan *scan)
{
	int			i;

	for (i = 0; i < scan->nchains; i++)
		if (!scan->chains[i].done && !scan->chains[i].dropped)
			return false;
	return true;
}

/* Algorithm R: every listed key ends in the sample with equal probability */
static void
sample_key(OqScan *scan, const char *key)
{
	int64		seen = scan->nlisted;	/* including this key */
	int64		slot;

	if (scan->nsample < scan->sample_target)
	{
		scan->sample[scan->nsample++] = MemoryContextStrdup(scan->scan_cxt, key);
		return;
	}
	slot = (int64) pg_prng_uint64_range(&pg_global_prng_state, 0, seen - 1);
	if (slot < scan->sample_target)
	{
		pfree(scan->sample[slot]);
		scan->sample[slot] = MemoryContextStrdup(scan->scan_cxt, key);
	}
}

static void
handle_listing(OqScan *scan, OqRequest *req)
{
	OqListChain *chain = &scan->chains[req->tag];
	MemoryContext oldcxt;
	OqS3ListPage page;
	int			i;

	chain->inflight = false;
	if (!oq_s3_ok(req))
		oq_s3_report(req, ERROR);

	oldcxt = MemoryContextSwitchTo(scan->page_cxt);
	oq_s3_parse_list(req, &page);
	MemoryContextSwitchTo(oldcxt);

	chain->pages++;
	chain->keys += page.nobjects;
	if (chain->token)
		pfree(chain->token);
	chain->token = NULL;
	if (page.is_truncated && page.next_continuation_token)
		chain->token = MemoryContextStrdup(scan->scan_cxt, page.next_continuation_token);
	else
		chain->done = true;

	if (scan->access == OQ_ACCESS_FULL)
	{
		for (i = 0; i < page.nobjects; i++)
		{
			const char *key = page.objects[i].key;
			char		id[OQ_UUID_LEN + 1];
			char	   *problem;
			int			len;

			if (!oq_task_key_parse_any(key, id, &len, &problem))
			{
				task_invalid(scan, key, problem);
				continue;
			}
			if (!oq_filter_match_id(scan->filter, id))
				continue;
			if (len != scan->conn->opts.shard_prefix_len && scan->sample_target == 0)
			{
				/* read only if the server's key is absent: see the top */
				enqueue_tagged(scan, key, NULL, OQ_TAG_PROBE(len));
				continue;
			}
			scan->nlisted++;
			if (scan->sample_target > 0)
			{
				sample_key(scan, key);
				continue;
			}
			check_scan_limit(scan);
			enqueue_key(scan, key, page.objects[i].etag);
		}
		if (scan->sample_target > 0 && listing_done(scan))
		{
			/* the sample is final: fetch it */
			for (i = 0; i < scan->nsample; i++)
				enqueue_key(scan, scan->sample[i], NULL);
			scan->sample_target = 0;
		}
	}
	else if (!chain->dropped)
	{
		int64		nentries = 0;

		for (i = 0; i < page.nobjects; i++)
		{
			const char *id = index_entry_id(page.objects[i].key);

			if (id == NULL)
				continue;
			scan->counters.index_entries++;
			nentries++;
			if (scan->phase == OQ_PHASE_PROBE)
				hash_search(scan->conjunct_ids[chain->conjunct], id, HASH_ENTER, NULL);
			else
				collect_index_id(scan, id);
		}
		oq_tag_stat_prefix(chain->prefix, OQ_TAG_STAT_ENTRIES, nentries);
		if (scan->phase == OQ_PHASE_PROBE && --scan->probes_pending == 0)
			choose_conjunct(scan);
	}

	MemoryContextReset(scan->page_cxt);
}

/* An index entry named a task that is gone or no longer has the tag */
static void
count_stale_entry(OqScan *scan)
{
	const OqIndexConjunct *conjunct;

	scan->counters.index_stale++;
	oq_stat_inc(OQ_STAT_TAG_INDEX_STALE);
	if (scan->chosen < 0)
		return;					/* not reached: tasks are read once chosen */
	/* a conjunct's alternatives are all of one key (see filter.c) */
	conjunct = list_nth(scan->conjuncts, scan->chosen);
	oq_tag_stat_add((const char *) linitial(conjunct->tag_keys),
					OQ_TAG_STAT_STALE, 1);
}

/*
 * A task body (fetched, or from the cache): decode, check it belongs under
 * its key, filter.  Returns true when it is a row to return.
 */
static bool
handle_body(OqScan *scan, const char *key, const char *etag, const char *body,
			size_t len, bool fetched)
{
	char	   *problem;
	char		id[OQ_UUID_LEN + 1];
	const OqJsonMember *m;
	const char *field;
	const char *why;
	char	   *detail;
	int			sqlerrcode;
	int			shard_len;

	oq_stat_inc(OQ_STAT_TASKS_READ);
	if (!oq_task_decode(body, len, &scan->doc, &problem))
	{
		task_invalid(scan, key, problem);
		return false;
	}

	/* the object must be the task its key names (any shard length) */
	if (!oq_task_key_parse_any(key, id, &shard_len, &problem))
	{
		task_invalid(scan, key, problem);
		return false;
	}
	m = scan->doc.field[OQ_F_ID];
	if (m == NULL || m->type != OQ_JSON_STRING || strcmp(m->str, id) != 0)
	{
		task_invalid(scan, key,
					 psprintf(_("task field \"id\" is \"%s\", which does not match the key"),
							  m && m->str ? m->str : ""));
		return false;
	}
	if (fetched)
		oq_cache_put(scan->conn, key, etag, body, len);

	/* conditions read their fields: one PostgreSQL cannot hold stops here */
	if ((field = filter_unreadable_field(scan, &scan->doc, &why)) != NULL)
	{
		task_unreadable(scan, key, field, oq_why_detail(why),
						oq_why_sqlerrcode(why));
		return false;
	}

	if (scan->access == OQ_ACCESS_INDEX &&
		!oq_index_conjunct_holds(list_nth(scan->conjuncts, scan->chosen), &scan->doc))
	{
		count_stale_entry(scan);
		return false;
	}
	if (scan->access == OQ_ACCESS_INDEX)
		scan->counters.index_matched++;
	if (!oq_filter_match(scan->filter, &scan->doc))
		return false;
	if (scan->rb &&
		!oq_row_readable(scan->rb, &scan->doc, &field, &detail, &sqlerrcode))
	{
		task_unreadable(scan, key, field, detail, sqlerrcode);
		return false;
	}
	return true;
}

/* A finished GET (or a HEAD of OQ_TAG_PROBE) */
static bool
handle_task(OqScan *scan, OqRequest *req)
{
	if (OQ_TAG_IS_PROBE(req->tag))
	{
		char		id[OQ_UUID_LEN + 1];
		int			len;
		char	   *other;

		if (oq_s3_ok(req))
			return false;		/* read under the server's key */
		if (!oq_s3_not_found(req))
			oq_s3_report_head(req, ERROR);
		/* only the other length has it: read that (a listed task) */
		if (!oq_task_key_parse_any(req->key, id, &len, NULL))
			elog(ERROR, "probed key \"%s\" is not a task key", req->key);
		other = oq_task_key(id, OQ_TAG_PROBE_LEN(req->tag));
		scan->nlisted++;
		check_scan_limit(scan);
		enqueue_key(scan, other, NULL);
		pfree(other);
		return false;
	}

	if (OQ_TAG_IS_ID(req->tag) && oq_s3_not_found(req))
	{
		int			mask = OQ_TAG_ID_MASK(req->tag);
		char		id[OQ_UUID_LEN + 1];
		int			len;

		/* not under the server's shard length: try the others in turn */
		if (!oq_task_key_parse_any(req->key, id, &len, NULL))
			elog(ERROR, "key \"%s\" is not a task key", req->key);
		for (len = 1; len <= OQ_MAX_SHARD_PREFIX_LEN; len++)
		{
			if ((mask & (1 << len)) == 0)
			{
				enqueue_id_len(scan, id, len, mask);
				return false;
			}
		}
	}

	/* deleted since it was listed, or named by a stale index entry */
	if (oq_s3_not_found(req))
	{
		if (scan->access == OQ_ACCESS_INDEX)
			count_stale_entry(scan);
		return false;
	}
	if (!oq_s3_ok(req))
		oq_s3_report(req, ERROR);
	return handle_body(scan, req->key, req->etag, req->response,
					   req->response_len, true);
}

/* A cache hit; false when the entry was evicted since (the key is queued) */
static bool
handle_hit(OqScan *scan, OqPendingKey *pk, bool *match)
{
	size_t		len;

	/* a copy: the entry may be evicted while the row is in use */
	char	   *body = oq_cache_get(scan->conn, pk->key, pk->etag, &len);

	if (body == NULL)
	{
		enqueue_key(scan, pk->key, NULL);
		return false;
	}
	scan->counters.cache_hits++;
	oq_stat_inc(OQ_STAT_CACHE_HITS);
	scan->current_key = pstrdup(pk->key);
	scan->current_etag = pstrdup(pk->etag);
	*match = handle_body(scan, scan->current_key, scan->current_etag, body, len, false);
	return true;
}

static void
release_current(OqScan *scan)
{
	if (scan->current)
	{
		oq_request_free(scan->current);
		scan->current = NULL;
	}
	MemoryContextReset(scan->task_cxt);
}

const OqTaskDoc *
oq_scan_next(OqScan *scan)
{
	release_current(scan);

	for (;;)
	{
		OqRequest  *req;
		MemoryContext oldcxt;
		bool		match;

		refill(scan);

		/* cache hits first: they cost nothing to wait for */
		if (scan->hits_head)
		{
			OqPendingKey *pk = pop_key(&scan->hits_head, &scan->hits_tail);
			bool		handled;

			oldcxt = MemoryContextSwitchTo(scan->task_cxt);
			handled = handle_hit(scan, pk, &match);
			MemoryContextSwitchTo(oldcxt);
			free_key(pk);
			if (handled && match)
				return &scan->doc;
			MemoryContextReset(scan->task_cxt);
			continue;
		}

		req = oq_batch_next(scan->batch);
		if (req == NULL)
		{
			report_invalid_summary(scan);
			return NULL;
		}

		if (req->tag >= 0)
		{
			handle_listing(scan, req);
			oq_request_free(req);
			continue;
		}

		/* the task's decoded form lives until the next call */
		scan->current = req;
		oldcxt = MemoryContextSwitchTo(scan->task_cxt);
		match = handle_task(scan, req);
		MemoryContextSwitchTo(oldcxt);
		if (match)
		{
			scan->current_key = req->key;
			scan->current_etag = req->etag;
			return &scan->doc;
		}
		release_current(scan);
	}
}

/*
 * How many tasks a server's bucket held when this backend last listed all
 * of it (plus the tasks it submitted since): a better row estimate for the
 * planner than a guess, and free.  The time of the listing lets the planner
 * prefer an ANALYZE made since, by any backend.
 */
typedef struct OqTaskCount
{
	Oid			serverid;
	double		ntasks;
	TimestampTz listed_at;
} OqTaskCount;

static HTAB *task_counts = NULL;

static void
remember_task_count(OqScan *scan)
{
	OqTaskCount *entry;
	int			i;

	/*
	 * Only a listing of every shard: not one that found nothing to list (a
	 * filter that can match no task has no chains), an id or index lookup,
	 * or a listing stopped early (LIMIT, an error, a parallel participant's
	 * share).
	 */
	if (scan->filter == NULL || scan->access != OQ_ACCESS_FULL ||
		scan->filter->has_ids || scan->filter->never || scan->nchains == 0)
		return;
	for (i = 0; i < scan->nchains; i++)
		if (!scan->chains[i].done)
			return;

	if (task_counts == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(OqTaskCount);
		task_counts = hash_create("oq_fdw task counts", 8, &ctl,
								  HASH_ELEM | HASH_BLOBS);
	}
	entry = hash_search(task_counts, &scan->conn->serverid, HASH_ENTER, NULL);
	entry->ntasks = (double) (scan->nlisted + scan->invalid_count);
	entry->listed_at = GetCurrentTimestamp();
	/* and for the sessions that have not listed it (shared memory only) */
	oq_shcache_note_task_count(scan->conn->serverid, entry->ntasks,
							   entry->listed_at);
}

bool
oq_known_task_count(Oid serverid, double *ntasks, TimestampTz *listed_at)
{
	OqTaskCount *entry = NULL;
	double		shared_ntasks;
	TimestampTz shared_at;
	bool		shared;

	/* the newer of this backend's listing and any session's */
	shared = oq_shcache_task_count(serverid, &shared_ntasks, &shared_at);
	if (task_counts != NULL)
		entry = hash_search(task_counts, &serverid, HASH_FIND, NULL);
	if (entry != NULL && (!shared || entry->listed_at >= shared_at))
	{
		*ntasks = entry->ntasks;
		*listed_at = entry->listed_at;
		return true;
	}
	if (!shared)
		return false;
	*ntasks = shared_ntasks;
	*listed_at = shared_at;
	return true;
}

void
oq_task_count_add(Oid serverid, double n)
{
	OqTaskCount *entry;

	if (task_counts == NULL)
		return;
	entry = hash_search(task_counts, &serverid, HASH_FIND, NULL);
	if (entry)
		entry->ntasks = Max(entry->ntasks + n, 0);
}

static void
scan_stop(OqScan *scan)
{
	int			i;

	remember_task_count(scan);
	release_current(scan);
	if (scan->batch)
	{
		for (i = 0; i < OQ_NUM_OPS; i++)
			scan->counters.requests[i] += scan->batch->requests[i];
		scan->counters.retries += scan->batch->retries;
		oq_batch_destroy(scan->batch);
		scan->batch = NULL;
	}
}

void
oq_scan_start_sample(OqScan *scan, int targrows)
{
	Assert(scan->batch == NULL && targrows > 0);
	scan->filter = palloc0(sizeof(OqFilter));	/* no conditions */
	scan->planned_access = OQ_ACCESS_FULL;
	scan->sample_target = targrows;
	scan->sample = MemoryContextAlloc(scan->scan_cxt, sizeof(char *) * targrows);
	scan->nsample = 0;
	scan_start(scan);
}

void
oq_scan_reset(OqScan *scan)
{
	scan_stop(scan);
	MemoryContextReset(scan->scan_cxt);
	MemoryContextReset(scan->page_cxt);
	scan->filter = NULL;
	scan->chains = NULL;
	scan->nchains = scan->nconjuncts = scan->probes_pending = 0;
	scan->conjuncts = NIL;
	scan->conjunct_ids = NULL;
	scan->seen_ids = NULL;
	scan->allowed_ids = NIL;
	scan->queue_head = scan->queue_tail = NULL;
	scan->hits_head = scan->hits_tail = NULL;
	scan->nqueued = scan->nlisted = 0;
}

void
oq_scan_start(OqScan *scan, OqFilter *filter)
{
	Assert(scan->batch == NULL);
	scan->filter = filter;
	scan_start(scan);
}

void
oq_scan_end(OqScan *scan)
{
	scan_stop(scan);
	report_invalid_summary(scan);
}
