/*-------------------------------------------------------------------------
 *
 * oq_fdw.c
 *		Foreign data wrapper for the oq task queue, whose only backend is an
 *		S3 bucket: module initialization and the FDW handler.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "foreign/fdwapi.h"

#include "http.h"
#include "oq_fdw.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	oq_http_init();
}

PG_FUNCTION_INFO_V1(oq_fdw_handler);

Datum
oq_fdw_handler(PG_FUNCTION_ARGS)
{
	FdwRoutine *routine = makeNode(FdwRoutine);

	PG_RETURN_POINTER(routine);
}
