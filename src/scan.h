/*-------------------------------------------------------------------------
 *
 * scan.h
 *		The streaming task scan: finds task keys (by listing tasks/, the tag
 *		index, or from given ids), GETs the objects with many requests in
 *		flight, and hands back one decoded, filtered task at a time.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_SCAN_H
#define OQ_SCAN_H

#include "datatype/timestamp.h"
#include "port/atomics.h"
#include "utils/hsearch.h"

#include "filter.h"
#include "option.h"
#include "pushdown.h"
#include "s3client.h"
#include "taskjson.h"
#include "taskrow.h"

/*
 * Shared by the participants of a parallel scan: the sixteen shard
 * listings are handed out one at a time, so a participant that finishes
 * early takes more.
 */
typedef struct OqParallelScan
{
	pg_atomic_uint32 next_chain;
} OqParallelScan;

/* One shard-prefix (or index-prefix) listing, paged with its token */
typedef struct OqListChain
{
	char	   *prefix;
	char	   *token;			/* continuation token of the next page */
	int			conjunct;		/* index path: which conjunct it serves */
	int			pages;
	int			keys;
	bool		inflight;
	bool		done;
	bool		dropped;		/* not the chosen conjunct: ignore */
	bool		claimed;		/* this participant lists it */
} OqListChain;

/* A task object waiting to be fetched */
typedef struct OqPendingKey
{
	struct OqPendingKey *next;
	int64		tag;			/* what its request is for: see scan.c */
	char	   *etag;			/* from the listing, or NULL */
	char		key[FLEXIBLE_ARRAY_MEMBER];
} OqPendingKey;

typedef enum OqScanPhase
{
	OQ_PHASE_PROBE,				/* index: first pages of every conjunct */
	OQ_PHASE_COLLECT			/* listing and fetching */
} OqScanPhase;

/* Counters shown by EXPLAIN ANALYZE */
typedef struct OqScanCounters
{
	int64		requests[OQ_NUM_OPS];
	int64		retries;
	int64		index_entries;	/* entries the index listings returned */
	int64		index_matched;	/* tasks named by the index that have the
								 * tag (before any other filter) */
	int64		index_stale;	/* entries whose task is gone or no longer
								 * has the tag */
	int64		cache_hits;
	int64		invalid_skipped;
	int64		index_fallbacks;	/* (re)scans planned on the index whose
									 * run-time values it cannot answer */
} OqScanCounters;

typedef struct OqScan
{
	OqConnection *conn;
	OqBatch    *batch;
	OqAccessKind planned_access;
	OqAccessKind access;		/* what the scan really does */
	OqFilter   *filter;
	const char *relname;
	int			max_inflight;
	OqParallelScan *parallel;	/* NULL unless a parallel full scan */
	OqOnInvalid on_invalid;
	int64		max_objects;	/* oq_fdw.max_scan_objects, 0: no limit */
	bool		index_not_kept; /* full listing because the bucket has no
								 * tag index marker (tag_index 'auto') */
	const OqRowBuilder *rb;		/* the columns rows are built with, or NULL:
								 * a task with a value they cannot hold is
								 * reported (or skipped) by the scan */

	MemoryContext scan_cxt;		/* reset at rescan */
	MemoryContext page_cxt;		/* reset per listing page */
	MemoryContext task_cxt;		/* reset per task returned */

	OqScanPhase phase;
	OqListChain *chains;
	int			nchains;
	List	   *conjuncts;		/* index path: OqIndexConjunct */
	int			nconjuncts;
	int			chosen;			/* the conjunct being listed; -1 probing */
	int			probes_pending;
	HTAB	  **conjunct_ids;	/* probing: ids of each conjunct's first pages */
	HTAB	   *seen_ids;		/* index path: ids already queued */
	List	   *allowed_ids;	/* index path: other conjuncts' complete id
								 * sets (HTAB *) to intersect with */

	OqPendingKey *queue_head;	/* keys to GET */
	OqPendingKey *queue_tail;
	int64		nqueued;
	OqPendingKey *hits_head;	/* keys whose listed ETag the cache holds */
	OqPendingKey *hits_tail;
	int64		nlisted;		/* task keys found (guardrail) */

	/* ANALYZE: a reservoir of task keys, fetched once listing is done */
	int			sample_target;	/* 0: not sampling */
	char	  **sample;
	int			nsample;

	/* the task most recently returned */
	OqRequest  *current;
	OqTaskDoc	doc;
	const char *current_key;
	const char *current_etag;

	/* on_invalid 'skip' */
	int64		invalid_count;
	char	   *first_invalid;	/* the first skipped object's key */
	char	   *first_invalid_problem;	/* ... why it is not a valid task */
	char	   *first_invalid_field;	/* ... or the field it cannot be read
										 * for, and why */
	char	   *first_invalid_detail;
	bool		warned;

	OqScanCounters counters;
} OqScan;

/* A scan ready to start; nothing is requested until oq_scan_start() */
extern OqScan *oq_scan_create(OqConnection *conn, const char *relname,
							  OqAccessKind access, OqOnInvalid on_invalid);

/* The next task that passes the filter, or NULL at the end */
extern const OqTaskDoc *oq_scan_next(OqScan *scan);

/* Start listing and fetching for the values in 'filter' */
extern void oq_scan_start(OqScan *scan, OqFilter *filter);

/*
 * For ANALYZE: list every task key, keep a uniform random sample of
 * 'targrows' of them, then fetch only those.  scan->nlisted then counts
 * all the tasks listed.
 */
extern void oq_scan_start_sample(OqScan *scan, int targrows);

/*
 * Rescan: stop, freeing everything that depends on the old filter; the
 * caller starts again with a filter built from the new parameter values.
 */
extern void oq_scan_reset(OqScan *scan);
extern void oq_scan_end(OqScan *scan);

/*
 * Tasks in the server's bucket at this backend's last complete listing
 * (and when it ended), with the tasks this backend submitted since
 */
extern bool oq_known_task_count(Oid serverid, double *ntasks,
								TimestampTz *listed_at);

/* This backend added n tasks (a no-op before any complete listing) */
extern void oq_task_count_add(Oid serverid, double n);

/* GUC oq_fdw.max_scan_objects */
extern int	oq_max_scan_objects;

#endif							/* OQ_SCAN_H */
