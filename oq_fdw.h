/*-------------------------------------------------------------------------
 *
 * oq_fdw.h
 *		The handler, the layout of a foreign scan's fdw_private, and the
 *		server lookup of the SQL functions.
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

extern Datum oq_fdw_handler(PG_FUNCTION_ARGS);

/*
 * An oq_fdw server by name, checking USAGE for the current user: here,
 * beside the handler that tells oq_fdw's servers from others.
 */
extern Oid	oq_server_oid_checked(const char *servername);

#endif							/* OQ_FDW_H */
