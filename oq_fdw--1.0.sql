/* oq_fdw--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION oq_fdw" to load this file. \quit

CREATE FUNCTION oq_fdw_handler()
RETURNS fdw_handler
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT;

CREATE FUNCTION oq_fdw_validator(text[], oid)
RETURNS void
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT;

CREATE FOREIGN DATA WRAPPER oq_fdw
  HANDLER oq_fdw_handler
  VALIDATOR oq_fdw_validator;

CREATE FUNCTION oq_stats(OUT name text, OUT value bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'oq_stats_fn'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION oq_tag_stats(OUT tag_key text, OUT index_queries bigint,
                             OUT index_writes bigint, OUT index_deletes bigint,
                             OUT index_entries bigint, OUT index_stale bigint,
                             OUT full_scans bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION oq_stats_reset()
RETURNS void
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE;

-- Raw object access: look into a bucket (and seed one in tests).  Each
-- needs USAGE on the server; the writing ones are for superusers unless
-- granted.

CREATE FUNCTION oq_list_objects(server name, prefix text DEFAULT '',
                                delimiter text DEFAULT NULL,
                                start_after text DEFAULT NULL,
                                page_size integer DEFAULT 1000)
RETURNS TABLE (key text, etag text, size bigint, last_modified timestamptz)
AS 'MODULE_PATHNAME'
LANGUAGE C CALLED ON NULL INPUT VOLATILE;

CREATE FUNCTION oq_list_object_versions(server name, prefix text DEFAULT '',
                                        page_size integer DEFAULT 1000)
RETURNS TABLE (key text, version_id text, is_latest boolean,
               is_delete_marker boolean, etag text, size bigint,
               last_modified timestamptz)
AS 'MODULE_PATHNAME'
LANGUAGE C CALLED ON NULL INPUT VOLATILE;

CREATE FUNCTION oq_get_object(server name, key text)
RETURNS bytea
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION oq_head_object(server name, key text,
                               OUT etag text, OUT size bigint,
                               OUT last_modified timestamptz)
RETURNS record
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION oq_put_object(server name, key text, body bytea,
                              if_match text DEFAULT NULL,
                              if_none_match text DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME'
LANGUAGE C CALLED ON NULL INPUT VOLATILE;

CREATE FUNCTION oq_delete_object(server name, key text)
RETURNS void
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE;

REVOKE EXECUTE ON FUNCTION oq_put_object(name, text, bytea, text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION oq_delete_object(name, text) FROM PUBLIC;

-- Writing the queue (the README's reference).  Each needs USAGE on the
-- server; what S3 lets the user mapping's key do is the real limit.

CREATE FUNCTION oq_submit(server name, task_type text,
                          input jsonb DEFAULT '{}', tags jsonb DEFAULT '{}',
                          schedule_at timestamptz DEFAULT NULL,
                          max_retries integer DEFAULT NULL,
                          timeout_seconds bigint DEFAULT NULL)
RETURNS uuid
AS 'MODULE_PATHNAME'
LANGUAGE C CALLED ON NULL INPUT VOLATILE;

CREATE FUNCTION oq_update_tags(server name, task_id uuid, tags jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION oq_remove_tags(server name, task_id uuid, keys text[])
RETURNS jsonb
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION oq_rebuild_tag_index(server name)
RETURNS TABLE (entries_added bigint, entries_removed bigint)
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE;

-- A task's object versions, oldest first, with what each changed
CREATE FUNCTION oq_task_history(server name, task_id uuid)
RETURNS TABLE (version integer, version_id text, is_latest boolean,
               last_modified timestamptz, status text, tags jsonb, change text)
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE;
