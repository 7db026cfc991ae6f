/*-------------------------------------------------------------------------
 *
 * taskrow.h
 *		Conversion of a decoded task object into a row of a foreign table:
 *		which field each column reads and how its JSON value becomes the
 *		column's type.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_TASKROW_H
#define OQ_TASKROW_H

#include "access/tupdesc.h"
#include "fmgr.h"
#include "utils/relcache.h"

#include "taskjson.h"

typedef enum OqConversion
{
	OQ_CONV_TEXT,
	OQ_CONV_UUID,
	OQ_CONV_TIMESTAMPTZ,
	OQ_CONV_INT2,
	OQ_CONV_INT4,
	OQ_CONV_INT8,
	OQ_CONV_BOOL,
	OQ_CONV_JSONB,
	OQ_CONV_JSON,
	OQ_CONV_INPUT				/* the type's input function on the text */
} OqConversion;

typedef struct OqColumn
{
	AttrNumber	attnum;
	char	   *field;			/* member name, or "etag" */
	int			known;			/* OqField, or -1 */
	bool		is_etag;		/* the object's ETag, not a member */
	Oid			typid;
	int32		typmod;
	OqConversion conv;
	FmgrInfo	input;			/* OQ_CONV_INPUT */
	Oid			ioparam;
	OqJsonMember dflt;			/* value when absent (known fields) */
	bool		has_dflt;
} OqColumn;

typedef struct OqRowBuilder
{
	TupleDesc	tupdesc;
	OqColumn   *columns;		/* the columns the query needs */
	int			ncolumns;
	/* for the error context of a failed conversion */
	const char *cur_key;
	const char *cur_field;
} OqRowBuilder;

/*
 * Prepare to fill every column of relation 'rel', or only the attributes
 * in 'attnums' (AttrNumbers as ints; NIL: none, as for count(*)).
 */
extern void oq_row_builder_init(OqRowBuilder *rb, Relation rel, bool all_columns,
								List *attnums);

/*
 * Whether every column the builder fills can hold its value: a task the
 * workers accept may hold what PostgreSQL cannot (\u0000 in a string, a
 * timeout_seconds beyond bigint).  When not, sets *field to the member's
 * name, *detail to a sentence saying why and *sqlerrcode, and returns false.
 */
extern bool oq_row_readable(const OqRowBuilder *rb, const OqTaskDoc *doc,
							const char **field, char **detail,
							int *sqlerrcode);

/*
 * The errdetail sentence (translated, for errdetail_internal) and SQLSTATE
 * for an OQ_WHY_* reason
 */
extern char *oq_why_detail(const char *why);
extern int	oq_why_sqlerrcode(const char *why);

/*
 * Fill values/nulls (sized for the tuple descriptor) from a task.  Columns
 * not needed are set NULL.  Conversion errors name the object key and field.
 */
extern void oq_row_build(OqRowBuilder *rb, const OqTaskDoc *doc,
						 const char *key, const char *etag,
						 Datum *values, bool *nulls);

/* Unix microseconds to TimestampTz */
#define OQ_UNIX_TO_PG_US(us) \
	((us) - (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY)

#endif							/* OQ_TASKROW_H */
