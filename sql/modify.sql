--
-- modify: INSERT submits tasks (batched, concurrently), UPDATE changes tags
-- with If-Match on what the scan read, DELETE is refused; every refusal
-- says why.
--
\getenv endpoint OQ_TEST_ENDPOINT
\getenv region OQ_TEST_REGION
\getenv access_key_id OQ_TEST_ACCESS_KEY_ID
\getenv secret OQ_TEST_SECRET_ACCESS_KEY

CREATE SERVER modify FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-modify', endpoint :'endpoint', region :'region', batch_size '8');
CREATE USER MAPPING FOR CURRENT_USER SERVER modify
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
CREATE SCHEMA md;
IMPORT FOREIGN SCHEMA oq FROM SERVER modify INTO md;

-- one row, with RETURNING: the task as stored
INSERT INTO md.tasks (task_type, input, tags, max_retries)
VALUES ('process_order', '{"order_id": 123456789012345678901234567890}', '{"customer": "acme-corp"}', 7)
RETURNING status, task_type, input, tags, max_retries, timeout_seconds, retry_count,
          shard = left(id::text, 1) AS shard_ok, created_at = available_at AS available_now,
          etag IS NOT NULL AS has_etag;

-- a bulk INSERT ... SELECT: batches of batch_size submits in flight
SELECT oq_stats_reset();
INSERT INTO md.tasks (task_type, input, tags)
SELECT 'resize_image', jsonb_build_object('n', n),
       jsonb_build_object('batch_id', 'b-17', 'n', n::text)
FROM generate_series(1, 30) n;
SELECT name, value FROM oq_stats()
WHERE name IN ('tasks_submitted', 'tag_index_writes', 'requests_put') ORDER BY name;
SELECT count(*), count(DISTINCT id), min(status), max(status)
FROM md.tasks WHERE tags->>'batch_id' = 'b-17';
SELECT count(*) AS ready_entries FROM oq_list_objects('modify', 'ready/');
EXPLAIN (COSTS OFF) INSERT INTO md.tasks (task_type) SELECT 'x' FROM generate_series(1, 2);

-- ids may be chosen; taken ones are refused
INSERT INTO md.tasks (id, task_type) VALUES ('0c0ffee0-0000-4000-8000-000000000001', 'chosen');
SELECT task_type FROM md.tasks WHERE id = '0c0ffee0-0000-4000-8000-000000000001';
SELECT regress_error($$INSERT INTO md.tasks (id, task_type) VALUES ('0c0ffee0-0000-4000-8000-000000000001', 'again')$$);

-- what INSERT refuses
INSERT INTO md.tasks (task_type, status) VALUES ('x', 'running');
INSERT INTO md.tasks (input) VALUES ('{}');
INSERT INTO md.tasks (task_type, tags) VALUES ('x', '{"Customer": "acme"}');
INSERT INTO md.tasks (task_type, tags) VALUES ('x', '["not", "an", "object"]');
INSERT INTO md.tasks (task_type, available_at) VALUES ('x', 'infinity');
INSERT INTO md.tasks (task_type) VALUES ('x') ON CONFLICT DO NOTHING;
CREATE FOREIGN TABLE md.odd (task_type text, tags text) SERVER modify;
INSERT INTO md.odd VALUES ('x', '{}');

-- UPDATE: the whole pending batch, by tag
SELECT oq_stats_reset();
UPDATE md.tasks SET tags = tags || '{"priority": "critical"}'
WHERE tags->>'batch_id' = 'b-17' AND status = 'pending';
SELECT name, value FROM oq_stats()
WHERE name IN ('tag_updates', 'tag_index_writes', 'precondition_failed') ORDER BY name;
SELECT count(*) FROM md.tasks WHERE tags @> '{"batch_id": "b-17", "priority": "critical"}';

-- three of them are claimed by workers meanwhile: only the pending change
SELECT count(oq_put_object('modify', 'tasks/' || shard || '/' || id || '.json',
         convert_to((convert_from(oq_get_object('modify', 'tasks/' || shard || '/' || id || '.json'), 'UTF8')::jsonb
                     || '{"status": "running", "worker_id": "w-1"}')::text, 'UTF8')))
FROM (SELECT id, shard FROM md.tasks WHERE tags->>'batch_id' = 'b-17' ORDER BY tags->>'n' LIMIT 3) t;
UPDATE md.tasks SET tags = tags - 'priority'
WHERE tags->>'batch_id' = 'b-17' AND status = 'pending'
RETURNING tags ? 'priority' AS has_priority, status;
SELECT status, count(*), count(*) FILTER (WHERE tags ? 'priority') AS with_priority
FROM md.tasks WHERE tags->>'batch_id' = 'b-17' GROUP BY 1 ORDER BY 1;

-- tags of a task that is not pending cannot change
SELECT regress_error($$UPDATE md.tasks SET tags = '{}' WHERE tags->>'batch_id' = 'b-17' AND status = 'running'$$, true)
       LIKE '55000: cannot change the tags of task "%" DETAIL: Its status is "running"; %' AS refused;
-- and nothing changed on the running ones
SELECT status, count(*) FILTER (WHERE tags ? 'batch_id') AS still_tagged
FROM md.tasks WHERE tags->>'batch_id' = 'b-17' GROUP BY 1 ORDER BY 1;
-- the rules hold for UPDATE as for INSERT
UPDATE md.tasks SET tags = tags || '{"oq_internal": "x"}' WHERE tags->>'n' = '10';
UPDATE md.tasks SET tags = NULL WHERE tags->>'n' = '10';
UPDATE md.tasks SET tags = tags || (SELECT jsonb_object_agg('k' || g, 'v') FROM generate_series(1, 20) g)
WHERE tags->>'n' = '10';

-- only tags; no DELETE; UPDATE needs id and etag columns
UPDATE md.tasks SET status = 'cancelled';
DELETE FROM md.tasks WHERE tags->>'n' = '10';
CREATE FOREIGN TABLE md.no_etag (id uuid, tags jsonb) SERVER modify;
UPDATE md.no_etag SET tags = '{}';
EXPLAIN (COSTS OFF) UPDATE md.tasks SET tags = '{}' WHERE tags->>'n' = '10';

DROP SCHEMA md CASCADE;
DROP SERVER modify CASCADE;
