/*-------------------------------------------------------------------------
 *
 * tagindex.h
 *		The tag index tags/{key}/{segment}/{id} as writers keep it: which
 *		entries a task's tags call for, what a change of tags adds and
 *		removes, and the rebuild that makes the whole index match the task
 *		objects.  (Key encoding: tags.h; use by scans: filter.h.)
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_TAGINDEX_H
#define OQ_TAGINDEX_H

#include "connection.h"
#include "tags.h"

/*
 * The index keys of a task's tags (char *, palloc'd): one per tag whose key
 * is indexable (oq_tag_key_indexable), whatever its value.
 */
extern List *oq_tag_index_entries(const char *task_id, const OqTag *tags,
								  int ntags);

/*
 * What a change of a task's tags from 'before' to 'after' does to the
 * index: *add gets the entries of 'after' that 'before' has not (to write
 * before the task PUT), *remove those of 'before' that 'after' has not (to
 * delete once the PUT succeeded).
 */
extern void oq_tag_index_diff(const char *task_id,
							  const OqTag *before, int nbefore,
							  const OqTag *after, int nafter,
							  List **add, List **remove);

typedef struct OqRebuildResult
{
	int64		tasks;			/* task objects read */
	int64		added;			/* missing entries written */
	int64		removed;		/* stale entries deleted */
	int64		kept_recent;	/* stale-looking entries younger than the
								 * grace period, left alone */
	int64		foreign_keys;	/* keys under tags/ that are not entries of
								 * indexable tags, left alone */
} OqRebuildResult;

/*
 * Make the tag index of a bucket match its task objects: read every task,
 * list the whole index, write the entries that are missing and delete
 * those no task holds.  Runs in bounded memory (the expected entries go
 * through a tuplesort, merged with the listing, which S3 returns sorted).
 */
extern void oq_tag_index_rebuild(OqConnection *conn, OqRebuildResult *result);

/*
 * GUC oq_fdw.tag_index_rebuild_grace (seconds): a rebuild leaves alone an
 * entry written less than this long before it started, because the writer
 * of a task writes the entry first and may store the task a moment later.
 */
extern int	oq_tag_index_rebuild_grace;

#endif							/* OQ_TAGINDEX_H */
