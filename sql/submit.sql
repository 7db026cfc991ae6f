--
-- submit: oq_submit writes a pending task exactly as the bucket format says
-- a producer does, where workers look for it, and it reads back through the
-- foreign table.  Ids are random: the checks print properties, never ids.
--
\getenv endpoint OQ_TEST_ENDPOINT
\getenv region OQ_TEST_REGION
\getenv access_key_id OQ_TEST_ACCESS_KEY_ID
\getenv secret OQ_TEST_SECRET_ACCESS_KEY
CREATE SERVER w_submit FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-w-submit', endpoint :'endpoint', region :'region');
CREATE USER MAPPING FOR CURRENT_USER SERVER w_submit
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
CREATE SCHEMA w_submit;
IMPORT FOREIGN SCHEMA oq FROM SERVER w_submit INTO w_submit;

-- one task with every argument, one with only a type
SELECT oq_stats_reset();
SELECT oq_submit('w_submit', 'process_order',
                 '{"order_id": "12345", "big": 123456789012345678901234567890,
                   "dec": 0.1000000000000000055511151231257827}',
                 '{"customer": "acme-corp", "region": "us-west"}',
                 schedule_at => '2030-01-02 03:04:05.678901+00',
                 max_retries => 7, timeout_seconds => 600) AS full_id \gset
SELECT oq_submit('w_submit', 'send_email') AS bare_id \gset
-- requests: the clock (first use of this server), then per task its tag
-- index entries, the task, its ready entry
SELECT name, value FROM oq_stats()
WHERE name IN ('requests_head', 'requests_put', 'requests_get', 'tasks_submitted',
               'tag_index_writes')
ORDER BY name;

-- read back through the foreign table: the format's values, our arguments
\x on
SELECT id = :'full_id' AS id_ok, shard = left(replace(id::text, '-', ''), 1) AS shard_ok,
       task_type, status, input, output, input_ref, output_ref, tags,
       timeout_seconds, max_retries, retry_count, retry_policy, attempt,
       created_at = updated_at AS created_is_updated,
       abs(extract(epoch FROM created_at - clock_timestamp())) < 300 AS created_now,
       available_at AT TIME ZONE 'UTC' AS available_at_utc, completed_at, lease_expires_at, lease_id, worker_id,
       last_error, reschedule_count, max_reschedules, cancel_requested,
       cancelled_at, cancelled_by, expires_at, expired_at,
       etag ~ '^[0-9a-f]{32}$' AS etag_ok
FROM w_submit.tasks WHERE id = :'full_id';
-- defaults: available now, no tags, format's retries and timeout
SELECT task_type, status, input, tags, timeout_seconds, max_retries,
       created_at = available_at AND available_at = updated_at AS all_now
FROM w_submit.tasks WHERE id = :'bare_id';
\x off

-- the stored object: members in the reference producer's order, every
-- one the format lists for a new task, Z timestamps with six digits, the
-- input's numbers exactly as given
SELECT convert_from(oq_get_object('w_submit', key), 'UTF8') AS body
FROM oq_list_objects('w_submit', 'tasks/') WHERE key LIKE '%' || :'full_id' || '%' \gset
SELECT string_agg(k, ' ') AS members FROM json_object_keys(:'body'::json) k;
SELECT k, v FROM json_each_text(:'body'::json) AS e(k, v)
WHERE k IN ('created_at', 'available_at', 'updated_at')
  AND v !~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$';
SELECT :'body'::jsonb->>'available_at' AS available_at,
       :'body'::jsonb->>'shard' = left(:'full_id', 1) AS shard_ok,
       strpos(:'body', '"big": 123456789012345678901234567890') > 0 AS big_exact,
       strpos(:'body', '"dec": 0.1000000000000000055511151231257827') > 0 AS dec_exact;

-- where it lies: tasks/{shard}/{id}.json, and its ready entry
-- ready/{shard}/{floor(available_at / 60 s), 10 digits}/{id}
SELECT key = 'tasks/' || t.shard || '/' || t.id || '.json' AS task_key_ok, size > 0 AS has_body
FROM oq_list_objects('w_submit', 'tasks/') o JOIN w_submit.tasks t ON o.key LIKE '%' || t.id || '%'
ORDER BY t.task_type;
SELECT t.task_type,
       o.key = 'ready/' || t.shard || '/' ||
               lpad(floor(extract(epoch FROM t.available_at) / 60)::bigint::text, 10, '0') ||
               '/' || t.id AS ready_key_ok,
       o.size
FROM oq_list_objects('w_submit', 'ready/') o JOIN w_submit.tasks t ON o.key LIKE '%' || t.id
ORDER BY t.task_type;
SELECT regexp_replace(key, '^ready/[0-9a-f]/(\d+)/.*$', 'ready/S/\1/ID') AS scheduled_ready_key
FROM oq_list_objects('w_submit', 'ready/') WHERE key LIKE '%' || :'full_id';

-- input: any JSON value; SQL NULL is JSON null
SELECT oq_submit('w_submit', 'scalar_input', '"just text"') AS scalar_id \gset
SELECT oq_submit('w_submit', 'null_input', NULL) AS null_id \gset
SELECT task_type, input, input IS NULL AS is_null FROM w_submit.tasks
WHERE id IN (:'scalar_id', :'null_id') ORDER BY task_type;

-- arguments that are refused, before anything is written
SELECT oq_stats_reset();
SELECT regress_error($$SELECT oq_submit(NULL, 'x')$$);
SELECT regress_error($$SELECT oq_submit('w_submit', NULL)$$);
SELECT regress_error($$SELECT oq_submit('w_submit', '')$$);
SELECT regress_error($$SELECT oq_submit('w_submit', 'x', schedule_at => 'infinity')$$);
SELECT regress_error($$SELECT oq_submit('w_submit', 'x', schedule_at => '-infinity')$$);
SELECT regress_error($$SELECT oq_submit('w_submit', 'x', schedule_at => '10000-01-01 00:00+00')$$);
SELECT regress_error($$SELECT oq_submit('w_submit', 'x', max_retries => -1)$$);
SELECT regress_error($$SELECT oq_submit('w_submit', 'x', timeout_seconds => -1)$$);
SELECT regress_error($$SELECT oq_submit('no_such_server', 'x')$$);
CREATE FOREIGN DATA WRAPPER w_other;
CREATE SERVER w_other_server FOREIGN DATA WRAPPER w_other;
SELECT regress_error($$SELECT oq_submit('w_other_server', 'x')$$);
SELECT sum(value) AS requests FROM oq_stats() WHERE name LIKE 'requests_%';

-- USAGE on the server is required
CREATE ROLE w_submit_user;
SET ROLE w_submit_user;
SELECT regress_error($$SELECT oq_submit('w_submit', 'x')$$);
RESET ROLE;

SELECT count(*) AS tasks FROM w_submit.tasks;

DROP ROLE w_submit_user;
DROP SERVER w_other_server;
DROP FOREIGN DATA WRAPPER w_other;
