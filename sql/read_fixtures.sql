--
-- read_fixtures: every valid task fixture of test/fixtures/tasks (see its
-- README), stored under its key, reads back with the values the queue's
-- workers see.
--
\getenv fixtures OQ_TEST_FIXTURES
\getenv endpoint OQ_TEST_ENDPOINT
\getenv region OQ_TEST_REGION
\getenv access_key_id OQ_TEST_ACCESS_KEY_ID
\getenv secret OQ_TEST_SECRET_ACCESS_KEY
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';

CREATE SERVER fixtures FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-fixtures', endpoint :'endpoint', region :'region');
CREATE USER MAPPING FOR CURRENT_USER SERVER fixtures
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
CREATE SCHEMA fx;
IMPORT FOREIGN SCHEMA oq FROM SERVER fixtures INTO fx;

-- the valid fixtures, each at tasks/{first hex digit}/{id}.json
CREATE TABLE fixture (name text PRIMARY KEY, body bytea, doc jsonb);
INSERT INTO fixture (name, body)
SELECT name, pg_read_binary_file(:'fixtures' || '/' || name || '.json')
FROM unnest(ARRAY['pending-with-tags', 'legacy-no-tags', 'minimal', 'completed-with-output',
                  'running-leased', 'failed', 'cancelled', 'expired', 'archived-pretty',
                  'payload-ref', 'future-fields', 'exotic-values', 'precise-numbers']) name;
UPDATE fixture SET doc = convert_from(body, 'UTF8')::jsonb;
SELECT name, oq_put_object('fixtures',
                           'tasks/' || left(doc->>'id', 1) || '/' || (doc->>'id') || '.json',
                           body) = md5(body) AS stored
FROM fixture ORDER BY name;

-- every column of every task
\x on
SELECT * FROM fx.tasks ORDER BY id;
\x off

-- and each against PostgreSQL's own reading of the file: the JSON values
-- exactly (numbers beyond 64 bits included), the timestamps as timestamptz
-- input reads them, absent fields as the format's defaults
SELECT f.name,
       t.id = (f.doc->>'id')::uuid AS id,
       t.shard = f.doc->>'shard' AND t.task_type = f.doc->>'task_type' AS strings,
       t.status = coalesce(f.doc->>'status', 'pending') AS status,
       t.input IS NOT DISTINCT FROM nullif(f.doc->'input', 'null') AS input,
       t.output IS NOT DISTINCT FROM nullif(f.doc->'output', 'null') AS output,
       t.tags = coalesce(f.doc->'tags', '{}') AS tags,
       t.retry_policy = coalesce(f.doc->'retry_policy',
         '{"initial_interval_ms":1000,"max_interval_ms":60000,"multiplier":2.0,"jitter_percent":0.25}')
         AS retry_policy,
       (t.timeout_seconds, t.max_retries, t.retry_count, t.attempt, t.reschedule_count)
         = (coalesce((f.doc->>'timeout_seconds')::bigint, 300),
            coalesce((f.doc->>'max_retries')::int, 3),
            coalesce((f.doc->>'retry_count')::int, 0), coalesce((f.doc->>'attempt')::int, 0),
            coalesce((f.doc->>'reschedule_count')::int, 0)) AS counters,
       t.max_reschedules IS NOT DISTINCT FROM (f.doc->>'max_reschedules')::int AS max_reschedules,
       (t.created_at, t.available_at, t.updated_at)
         = ((f.doc->>'created_at')::timestamptz, (f.doc->>'available_at')::timestamptz,
            (f.doc->>'updated_at')::timestamptz) AS times,
       (t.completed_at, t.lease_expires_at, t.cancelled_at, t.expires_at, t.expired_at)
         IS NOT DISTINCT FROM
         ((f.doc->>'completed_at')::timestamptz, (f.doc->>'lease_expires_at')::timestamptz,
          (f.doc->>'cancelled_at')::timestamptz, (f.doc->>'expires_at')::timestamptz,
          (f.doc->>'expired_at')::timestamptz) AS optional_times,
       (t.lease_id, t.worker_id, t.last_error, t.input_ref, t.output_ref, t.cancelled_by)
         IS NOT DISTINCT FROM
         ((f.doc->>'lease_id')::uuid, f.doc->>'worker_id', f.doc->>'last_error',
          f.doc->>'input_ref', f.doc->>'output_ref', f.doc->>'cancelled_by') AS optional_strings,
       t.cancel_requested = coalesce((f.doc->>'cancel_requested')::boolean, false) AS cancel_requested,
       t.etag = md5(f.body) AS etag
FROM fixture f JOIN fx.tasks t ON t.id = (f.doc->>'id')::uuid
ORDER BY f.name;

-- the three widths of fractions: 0, 3 and 9 digits (the last rounded to us)
SELECT created_at, available_at, updated_at FROM fx.tasks
WHERE id = 'e7b04a19-2c6d-4e85-b3f1-09a8d7c6e524';
-- values with '/', '%', '&', '<', '+', tab, quotes, backslash, non-ASCII and
-- \u escapes
SELECT tags->>'customer' AS customer, tags->>'note' AS note FROM fx.tasks
WHERE tags ? 'note';
-- one of each status
SELECT status, count(*) FROM fx.tasks GROUP BY status ORDER BY status;
