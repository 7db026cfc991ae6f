/*-------------------------------------------------------------------------
 *
 * oq_fdw.h
 *		Declarations shared by oq_fdw's modules.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_FDW_H
#define OQ_FDW_H

#include "fmgr.h"

/* fdw_private of a ForeignScan, by position */
enum OqPlanPrivate
{
	OQ_PRIV_ACCESS,				/* Integer: OqAccessKind */
	OQ_PRIV_QUALS,				/* serialized pushed-down quals */
	OQ_PRIV_ATTRS,				/* IntList of the attributes to fill */
	OQ_PRIV_DESCRIPTION,		/* String: the access path, for EXPLAIN */
	OQ_PRIV_INDEX_NOT_KEPT,		/* Boolean: full listing for want of a kept
								 * tag index */
	OQ_PRIV_DIRECT				/* a direct UPDATE only: see directmodify.c */
};

/* Largest response body we accept for a task object or a listing page */
#define OQ_MAX_RESPONSE_BYTES (64 * 1024 * 1024)

extern Datum oq_fdw_handler(PG_FUNCTION_ARGS);

#endif							/* OQ_FDW_H */
