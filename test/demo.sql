--
-- test/demo.sql - the headline queries test/demo shows, run against the
-- sample tasks test/gen_tasks.py loaded into moto.  test/demo passes the
-- connection settings in the environment; \getenv reads them.
--
\set ON_ERROR_STOP on
\pset footer off
\getenv endpoint OQ_TEST_ENDPOINT
\getenv region OQ_TEST_REGION
\getenv bucket OQ_DEMO_BUCKET
\getenv access_key_id OQ_TEST_ACCESS_KEY_ID
\getenv secret OQ_TEST_SECRET_ACCESS_KEY

-- Statements are echoed from here on, except the user mapping: ECHO shows a
-- statement after variable substitution, which would print the secret.
\set ECHO queries
CREATE EXTENSION oq_fdw;
CREATE SERVER demo FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket :'bucket', endpoint :'endpoint', region :'region');
\set ECHO none
CREATE USER MAPPING FOR CURRENT_USER SERVER demo
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
\echo '-- CREATE USER MAPPING FOR CURRENT_USER SERVER demo OPTIONS (access_key_id ..., secret_access_key ...);'
\set ECHO queries

IMPORT FOREIGN SCHEMA oq FROM SERVER demo INTO public;

-- The whole queue at a glance: one LIST per shard prefix, GETs in parallel
SELECT status, count(*) FROM tasks GROUP BY 1 ORDER BY 2 DESC;

-- One customer's tasks: answered from the tag index, not by reading them all
SELECT id, status, tags FROM tasks
WHERE tags->>'customer' = 'acme-corp' AND status = 'pending'
ORDER BY created_at LIMIT 5;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT id, status, tags FROM tasks WHERE tags->>'customer' = 'acme-corp';

-- How far is each batch?
SELECT tags->>'batch_id' AS batch,
       count(*) FILTER (WHERE status = 'completed') AS completed,
       count(*) FILTER (WHERE status IN ('pending', 'running')) AS open,
       count(*) AS total
FROM tasks WHERE tags ? 'batch_id'
GROUP BY 1 ORDER BY 1 DESC LIMIT 5;

-- Join with ordinary tables: a nested loop of index lookups, one per customer
CREATE TABLE customers (name text PRIMARY KEY, plan text);
INSERT INTO customers VALUES ('acme-corp', 'enterprise'), ('globex', 'team'), ('initech', 'free');
ANALYZE customers;
SELECT c.name, c.plan, count(*) AS tasks,
       count(*) FILTER (WHERE t.status = 'failed') AS failed
FROM tasks t JOIN customers c ON t.tags->>'customer' = c.name
GROUP BY 1, 2 ORDER BY 3 DESC;
EXPLAIN (COSTS OFF)
SELECT c.name, count(*) FROM tasks t JOIN customers c ON t.tags->>'customer' = c.name GROUP BY 1;

-- One task by id: a single GET, every field
SELECT id AS some_id FROM tasks WHERE tags->>'customer' = 'initech' LIMIT 1 \gset
\x on
SELECT * FROM tasks WHERE id = :'some_id';
\x off

-- Submit a task as the queue's own producers do (If-None-Match, tag index,
-- ready entry, timestamps from the S3 server's clock)
SELECT oq_submit('demo', 'process_order', '{"order_id": "12345"}',
                 tags => '{"customer": "acme-corp", "batch_id": "b-17"}') AS new_id \gset

-- Bulk: submit twenty more, then tag the whole pending batch
INSERT INTO tasks (task_type, input, tags)
SELECT 'process_order', jsonb_build_object('order_id', 20000 + n),
       '{"customer": "acme-corp", "batch_id": "b-17"}'
FROM generate_series(1, 20) n;
UPDATE tasks SET tags = tags || '{"priority": "critical"}'
WHERE tags->>'batch_id' = 'b-17' AND status = 'pending';
SELECT status, count(*), count(*) FILTER (WHERE tags->>'priority' = 'critical') AS critical
FROM tasks WHERE tags->>'batch_id' = 'b-17' GROUP BY 1;

-- Tags can change only while a task is pending, and never lose a write
SELECT oq_update_tags('demo', :'new_id', '{"region": "us-west"}');
SELECT oq_remove_tags('demo', :'new_id', ARRAY['priority']);

-- The task's history, from the bucket's object versions
SELECT version, status, change FROM oq_task_history('demo', :'new_id');

-- What that cost, in S3 requests (this session)
SELECT name, value FROM oq_stats() WHERE value > 0 ORDER BY name;
