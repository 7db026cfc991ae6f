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

/* Largest response body we accept for a task object or a listing page */
#define OQ_MAX_RESPONSE_BYTES (64 * 1024 * 1024)

extern Datum oq_fdw_handler(PG_FUNCTION_ARGS);

#endif							/* OQ_FDW_H */
