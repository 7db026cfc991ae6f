/*-------------------------------------------------------------------------
 *
 * option.h
 *		Options of oq_fdw servers, user mappings, foreign tables and columns.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OQ_OPTION_H
#define OQ_OPTION_H

#include "foreign/foreign.h"

/* Server option tag_index: when scans may answer tag conditions from it */
typedef enum OqTagIndexMode
{
	OQ_TAG_INDEX_AUTO,			/* while the bucket has the marker (tagmarker.h) */
	OQ_TAG_INDEX_ON,			/* always: the user vouches for the index */
	OQ_TAG_INDEX_OFF			/* never */
} OqTagIndexMode;

typedef struct OqServerOptions
{
	char	   *bucket;
	char	   *endpoint;		/* scheme://host[:port], no trailing slash */
	char	   *region;
	bool		path_style;		/* url_style 'path' */
	int			shard_prefix_len;
	OqTagIndexMode tag_index_mode;	/* server option tag_index */
	int			max_concurrency;
	int			max_retries;
	int			connect_timeout_ms;
	int			request_timeout_ms;
	char	   *ca_file;		/* NULL: the system's CAs */
	int			batch_size;
	/* a role to assume on top of the mapping's credentials; all may be NULL */
	char	   *assume_role_arn;
	char	   *external_id;
	char	   *role_session_name;
	char	   *sts_endpoint;	/* scheme://host[:port], no trailing slash */
} OqServerOptions;

typedef struct OqUserOptions
{
	char	   *access_key_id;
	char	   *secret_access_key;
	char	   *session_token;
	bool		use_server_environment;
} OqUserOptions;

typedef enum OqOnInvalid
{
	OQ_ON_INVALID_ERROR,
	OQ_ON_INVALID_SKIP
} OqOnInvalid;

typedef struct OqTableOptions
{
	OqOnInvalid on_invalid;
	int			batch_size;		/* 0: the server's */
	int			parallel_workers;	/* -1: let the planner choose */
} OqTableOptions;

extern void oq_server_options(ForeignServer *server, OqServerOptions *opts);
extern void oq_user_options(UserMapping *user, OqUserOptions *opts);
extern void oq_table_options(Oid relid, OqTableOptions *opts);

/* The task field a column reads: its "field" option, else its name */
extern char *oq_column_field(Oid relid, AttrNumber attnum);

#endif							/* OQ_OPTION_H */
