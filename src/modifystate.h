/*-------------------------------------------------------------------------
 *
 * modifystate.h
 *		The state of an INSERT's or UPDATE's writes, shared by modify.c (the
 *		FDW's modify callbacks, INSERT) and updaterow.c (deciding and
 *		writing an UPDATE's rows, for modify.c and directmodify.c).
 *		Private to those files.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_MODIFYSTATE_H
#define OQ_MODIFYSTATE_H

#include "nodes/execnodes.h"

#include "connection.h"
#include "modify.h"
#include "taskrow.h"
#include "taskwrite.h"

/* The fields an INSERT may give, in the order of the attnos in fdw_private */
typedef enum OqInsertField
{
	OQ_INS_TASK_TYPE,
	OQ_INS_INPUT,
	OQ_INS_TAGS,
	OQ_INS_AVAILABLE_AT,
	OQ_INS_MAX_RETRIES,
	OQ_INS_TIMEOUT_SECONDS,
	OQ_INS_ID,
	OQ_NUM_INSERT_FIELDS
} OqInsertField;

struct OqModifyState
{
	Relation	rel;
	CmdType		operation;
	OqConnection *conn;
	OqBatch    *batch;
	int			max_inflight;
	bool		returning;
	OqRowBuilder rb;			/* every column, for RETURNING and rechecks */
	Datum	   *values;
	bool	   *nulls;
	MemoryContext temp_cxt;		/* reset per row; a slot handed back for
								 * RETURNING points into it until the next */

	/* INSERT */
	AttrNumber	attnos[OQ_NUM_INSERT_FIELDS];
	List	   *null_attnos;	/* routed or copied rows: must be NULL there */
	int			batch_size;
	struct OqInsertProgress *progress;	/* what the statement stored */
	List	   *batch_writes;	/* OqTaskWrite *: the batch being written */
	OqSubmitSpec *buffered;		/* COPY: rows checked, not yet written */
	int			nbuffered;
	MemoryContext buffer_cxt;	/* their memory */

	/* UPDATE */
	AttrNumber	tags_attno;
	AttrNumber	junk_id;
	AttrNumber	junk_etag;
	bool		can_recheck;
	ExprState  *where;
	ExprState  *set_tags;
	ExprContext *econtext;
	TupleTableSlot *recheck_slot;
	AttrNumber	id_attno;		/* direct path: row identity in the scanned row */
	AttrNumber	etag_attno;
	List	   *inflight;		/* OqTaskWrite *: pipelined updates */
	int64		skipped;		/* taken out of the WHERE clause meanwhile */
	MemoryContext query_cxt;	/* where writes live until freed */
};

extern OqModifyState *oq_modify_state_create(EState *estate, ResultRelInfo *rinfo,
											 CmdType operation, Oid userid,
											 bool returning);
extern AttrNumber oq_column_of_field(Relation rel, const char *field);
extern void oq_modify_store_task(OqModifyState *st, TupleTableSlot *slot,
								 MemoryContext cxt, const char *key,
								 const char *body, size_t len, const char *etag);

/* updaterow.c */
extern void oq_update_init(OqModifyState *st, EState *estate, List *fdw_private);
extern void oq_update_drain(OqModifyState *st, int limit);

#endif							/* OQ_MODIFYSTATE_H */
