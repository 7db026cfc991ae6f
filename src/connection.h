/*-------------------------------------------------------------------------
 *
 * connection.h
 *		Per-backend cache of what it takes to talk to one oq_fdw server as
 *		one user: options, credentials, the HTTP pool (and with it the
 *		kept-alive connections), and the S3 server's clock.
 *
 * It sits above the credential chain and the request driver, and below
 * the S3 client, which gives the driver what it asks (see s3client.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_CONNECTION_H
#define OQ_CONNECTION_H

#include "clock.h"
#include "cred.h"
#include "http.h"
#include "option.h"
#include "s3sign.h"


typedef struct OqConnection
{
	/* the server, the user mapping in use (or none), the user running */
	Oid			serverid;
	Oid			umid;
	Oid			userid;			/* who runs the queries it serves */

	char	   *server_name;
	OqServerOptions opts;
	OqUserOptions user_opts;
	OqCredChain cred;			/* what requests sign with (cred.c) */

	/* where requests go */
	char	   *origin;			/* scheme://host[:port], with "bucket." in
								 * virtual-host style */
	char	   *base_path;		/* "/bucket" in path style, else "" */
	char	   *host_header;	/* the Host we sign */

	OqSigV4KeyCache sigkey;		/* today's signing key (s3sign.h) */

	OqHttpPool	http;			/* S3's kept-alive connections */

	/*
	 * Holders: scans, writes and function calls (until their memory
	 * context goes) and batches.  A changed catalog makes the cache build a
	 * new connection; one still held is only detached from the cache and
	 * freed by its last holder, so a cursor keeps the server, options and
	 * credentials it started with.
	 */
	int			pins;
	bool		detached;		/* no longer in the cache */

	OqServerClock clock;		/* the S3 server's, from its Date headers */

	/* the tag index marker as last seen (tagmarker.c) */
	bool		marker_known;
	bool		marker_present;
	int64		marker_statement;	/* statement start of that check */
	int64		marker_checked_us;
	uint64		marker_epoch;

	bool		invalidated;	/* server or mapping changed: rebuild */
	uint32		server_hashvalue;
	uint32		mapping_hashvalue;
	uint32		role_hashvalue; /* of userid, in pg_authid */
	MemoryContext cxt;			/* everything above lives here */
} OqConnection;

/*
 * The connection for a server and the user the query runs as (the
 * checkAsUser of a foreign table, else the current user), held until
 * CurrentMemoryContext is reset or deleted: give it the context of the
 * scan or call that uses it.  Errors if the database encoding is not
 * UTF8, or the credential rules forbid the mapping to this user.
 */
extern OqConnection *oq_get_connection(Oid serverid, Oid userid);

/* The user mapping userid would use on serverid (its own, else PUBLIC's), or InvalidOid */
extern Oid	oq_find_user_mapping(Oid userid, Oid serverid);

/* Hold conn once more, and let that hold go (batches hold theirs) */
extern void oq_connection_pin(OqConnection *conn);
extern void oq_connection_unpin(OqConnection *conn);

#endif							/* OQ_CONNECTION_H */
