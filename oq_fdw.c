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

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(oq_fdw_handler);
PG_FUNCTION_INFO_V1(oq_fdw_validator);

Datum
oq_fdw_handler(PG_FUNCTION_ARGS)
{
	FdwRoutine *routine = makeNode(FdwRoutine);

	PG_RETURN_POINTER(routine);
}

Datum
oq_fdw_validator(PG_FUNCTION_ARGS)
{
	PG_RETURN_VOID();
}
