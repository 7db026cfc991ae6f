/*-------------------------------------------------------------------------
 *
 * oq_fdw.h
 *		The handler, and the server lookup of the SQL functions.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_FDW_H
#define OQ_FDW_H

#include "fmgr.h"

extern Datum oq_fdw_handler(PG_FUNCTION_ARGS);

/*
 * An oq_fdw server by name, checking USAGE for the current user: here,
 * beside the handler that tells oq_fdw's servers from others.
 */
extern Oid	oq_server_oid_checked(const char *servername);

#endif							/* OQ_FDW_H */
