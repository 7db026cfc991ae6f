--
-- read_tables: hand-written foreign tables (a subset of columns, another
-- order, the "field" option, compatible types), empty and missing buckets,
-- EXPLAIN, rescans.  Reads the bucket read_fixtures filled.
--
\getenv endpoint OQ_TEST_ENDPOINT
\getenv region OQ_TEST_REGION
\getenv access_key_id OQ_TEST_ACCESS_KEY_ID
\getenv secret OQ_TEST_SECRET_ACCESS_KEY
-- every scan here reads the objects (the task cache has its own suite)
SET oq_fdw.cache_size = 0;

-- columns in any order, renamed with "field", in other compatible types:
-- text keeps the stored timestamp string, json keeps the exact input text,
-- fields the format does not know are read by name
CREATE FOREIGN TABLE custom (
  kind varchar(20) OPTIONS (field 'task_type'),
  created text OPTIONS (field 'created_at'),
  id uuid,
  payload json OPTIONS (field 'input'),
  priority int,
  namespace jsonb,
  tries bigint OPTIONS (field 'attempt'),
  object_etag text OPTIONS (field 'etag')
) SERVER fixtures;
SELECT * FROM custom ORDER BY id;
SELECT payload FROM custom WHERE id = 'd8139f6e-c7a2-4b05-8f3d-6e0c2a95b417';

-- a type the value does not fit names the field and the object
CREATE FOREIGN TABLE wrong_type (id uuid, created_at integer) SERVER fixtures;
SELECT * FROM wrong_type WHERE id = '5e21c9d4-8b3a-4f67-a0d2-71c4e9b83f15';

-- a table of only the etag, and one with no columns at all
CREATE FOREIGN TABLE etags (etag text) SERVER fixtures;
SELECT count(*), count(DISTINCT etag) FROM etags;
CREATE FOREIGN TABLE nothing () SERVER fixtures;
SELECT count(*) FROM nothing;

-- EXPLAIN names the bucket and the access path, and makes no request
SELECT oq_stats_reset();
EXPLAIN (COSTS OFF) SELECT id FROM fx.tasks;
EXPLAIN (COSTS OFF) SELECT id FROM fx.tasks WHERE status = 'failed' AND task_type <> 'x';
SELECT sum(value) AS requests FROM oq_stats() WHERE name LIKE 'requests_%';

-- EXPLAIN ANALYZE adds the requests made: 16 shard listings, 13 GETs
SELECT explain_analyze('SELECT id FROM fx.tasks');

-- the scan as the inner side of a nested loop is rescanned
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_material = off;
SELECT g, (SELECT count(*) FROM fx.tasks t WHERE t.attempt < g) AS tasks_below
FROM generate_series(0, 3) g ORDER BY g;
SELECT g.g, count(t.id)
FROM generate_series(1, 3) g LEFT JOIN fx.tasks t ON t.retry_count >= g.g
GROUP BY g.g ORDER BY g.g;
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_material;

-- ANALYZE lists every task and reads a sample: the planner then knows
-- (not VERBOSE: 18 adds its own rates and timings, which vary)
ANALYZE fx.tasks;
SELECT reltuples FROM pg_class WHERE oid = 'fx.tasks'::regclass;
SELECT attname, null_frac, round(n_distinct::numeric, 2) AS n_distinct FROM pg_stats
WHERE schemaname = 'fx' AND tablename = 'tasks' AND attname IN ('status', 'worker_id', 'id')
ORDER BY attname;

-- LIMIT stops early: no more GETs than are in flight at once
SELECT oq_stats_reset();
SELECT count(*) FROM (SELECT id FROM fx.tasks LIMIT 3) s;
SELECT value <= 3 + 32 AS bounded FROM oq_stats() WHERE name = 'requests_get';

-- an empty bucket
CREATE SERVER empty FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-empty', endpoint :'endpoint', region :'region');
CREATE USER MAPPING FOR CURRENT_USER SERVER empty
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
CREATE FOREIGN TABLE empty_tasks (id uuid, tags jsonb) SERVER empty;
SELECT count(*) FROM empty_tasks;
SELECT explain_analyze('SELECT * FROM empty_tasks');

-- a bucket that does not exist
CREATE SERVER nobucket FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-not-there', endpoint :'endpoint', region :'region');
CREATE USER MAPPING FOR CURRENT_USER SERVER nobucket
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
CREATE FOREIGN TABLE missing_tasks (id uuid) SERVER nobucket;
\set VERBOSITY terse
SELECT count(*) FROM missing_tasks;
\set VERBOSITY default
SELECT regress_error('SELECT count(*) FROM missing_tasks');

DROP FOREIGN TABLE custom, wrong_type, etags, nothing;
DROP SERVER empty, nobucket CASCADE;
