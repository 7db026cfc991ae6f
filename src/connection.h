/*-------------------------------------------------------------------------
 *
 * connection.h
 *		Per-backend cache of what it takes to talk to one oq_fdw server as
 *		one user: options, credentials, the libcurl multi handle (and with
 *		it the kept-alive connections), and the S3 server's clock.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_CONNECTION_H
#define OQ_CONNECTION_H

#include <curl/curl.h>

#include "credtypes.h"
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
	OqCredentials creds;		/* what requests sign with (cred.c) */
	MemoryContext creds_cxt;	/* holds creds' strings; replaced on refresh */

	/* where requests go */
	char	   *origin;			/* scheme://host[:port], with "bucket." in
								 * virtual-host style */
	char	   *base_path;		/* "/bucket" in path style, else "" */
	char	   *host_header;	/* the Host we sign */

	OqSigV4KeyCache sigkey;		/* today's signing key (s3sign.h) */

	CURLM	   *multi;			/* owns the connection pool */
	CURL	  **idle_easy;		/* easy handles ready for reuse */
	int			nidle;
	int			maxidle;
	int			nbatches;		/* batches using this entry now */

	/*
	 * Holders: scans, writes and function calls (until their memory
	 * context goes) and batches.  A changed catalog makes the cache build a
	 * new connection; one still held is only detached from the cache and
	 * freed by its last holder, so a cursor keeps the server, options and
	 * credentials it started with.
	 */
	int			pins;
	bool		detached;		/* no longer in the cache */

	/* the S3 server's clock, from Date headers (see oq_server_now) */
	int64		clock_offset_us;
	int64		clock_window_start_us;
	int64		clock_last_sample_us;

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

/* An oq_fdw server by name, checking USAGE for the current user */
extern Oid	oq_server_oid_checked(const char *servername);

/*
 * Current credentials, resolved or refreshed first when they are not yet
 * known or about to expire.  A refresh may make requests (STS, metadata
 * services) on the connection's multi handle, so call this only between
 * libcurl calls and never while a batch is starting requests: the request
 * driver calls it before it starts a batch's queued requests, and signing
 * then reads conn->creds.
 */
extern const OqCredentials *oq_connection_credentials(OqConnection *conn);

extern CURL *oq_connection_take_easy(OqConnection *conn);
extern void oq_connection_return_easy(OqConnection *conn, CURL *easy);

/* Unix microseconds by the local clock */
extern int64 oq_local_now_us(void);

/* Record the Date header of a response received at local time local_us */
extern void oq_connection_clock_sample(OqConnection *conn, int64 date_unix_s,
									   int64 local_us);

/*
 * Now by the S3 server's clock, in Unix microseconds: the local clock
 * corrected by the offset Date headers showed, when that offset is a
 * second or more (Date has one-second resolution, so smaller offsets
 * are indistinguishable from none).  Returns false when no response of
 * the last five minutes carried a Date: the caller must make a request.
 */
extern bool oq_server_now_us(OqConnection *conn, int64 *now_us);

#endif							/* OQ_CONNECTION_H */
