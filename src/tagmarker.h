/*-------------------------------------------------------------------------
 *
 * tagmarker.h
 *		The marker object tags/_complete: the bucket's word that its tag
 *		index is kept complete, so that reads may trust it.
 *
 * oq_rebuild_tag_index() writes it once the index matches every task;
 * from then on every producer must write a task's entries before the
 * task.  With the server option tag_index 'auto' (the default), scans use
 * the index only while the marker is there.  No tag key can start with
 * "_", so the key cannot collide with an entry.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_TAGMARKER_H
#define OQ_TAGMARKER_H

#include "connection.h"
#include "http.h"

#define OQ_TAG_INDEX_MARKER_KEY		"tags/_complete"

/*
 * Whether the bucket has the marker.  Asks S3 (one HEAD) unless this
 * statement already asked on this connection less than 30 seconds ago, so
 * that planning and execution of one statement share one request and
 * every new statement sees a marker deleted meanwhile.  An answer other
 * than found or not found is an error.
 */
extern bool oq_tag_index_kept(OqConnection *conn);

/* Write the marker (the rebuild, once the index matches the tasks) */
extern void oq_tag_index_mark(OqBatch *batch);

/* Whether a key is the marker's: writes to it forget what was cached */
extern bool oq_is_tag_index_marker(const char *key);

/* This backend wrote or deleted the marker: ask S3 again next time */
extern void oq_tag_index_marker_forget(void);

#endif							/* OQ_TAGMARKER_H */
