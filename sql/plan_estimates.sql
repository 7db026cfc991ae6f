--
-- plan_estimates: the planner's row estimate of a scan is the bucket's
-- size as this backend last listed it, or as ANALYZE counted it, whichever
-- is newer; and a query the tag index could answer is read from a warm
-- task cache instead when that costs fewer round trips.
--
\getenv endpoint OQ_TEST_ENDPOINT
\getenv region OQ_TEST_REGION
\getenv access_key_id OQ_TEST_ACCESS_KEY_ID
\getenv secret OQ_TEST_SECRET_ACCESS_KEY

CREATE SERVER estimates FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-estimates', endpoint :'endpoint', region :'region', tag_index 'on');
CREATE USER MAPPING FOR CURRENT_USER SERVER estimates
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
CREATE SCHEMA est;
IMPORT FOREIGN SCHEMA oq FROM SERVER estimates INTO est;

-- the scan node's row estimate and access path (costs vary with the model)
CREATE FUNCTION plan_of(query text) RETURNS TABLE (estimated_rows numeric, access text)
LANGUAGE plpgsql AS $$
DECLARE
  plan jsonb;
BEGIN
  EXECUTE 'EXPLAIN (FORMAT JSON) ' || query INTO plan;
  plan := plan -> 0 -> 'Plan';
  RETURN QUERY SELECT (plan ->> 'Plan Rows')::numeric, plan ->> 'Oq Access';
END $$;

-- 60 tasks, 15 in each of four groups
INSERT INTO est.tasks (task_type, tags)
SELECT 'est', jsonb_build_object('grp', 'g' || (n % 4)) FROM generate_series(1, 60) n;

-- a new session knows nothing: the planner's default guess
\c
SELECT * FROM plan_of('SELECT * FROM est.tasks');

-- a scan that lists nothing (a NULL parameter matches no task) is no count
-- of the bucket: the estimate stays a guess, not 1
SET plan_cache_mode = force_generic_plan;
PREPARE by_status(text) AS SELECT count(*) FROM est.tasks WHERE status = $1;
EXECUTE by_status(NULL);
DEALLOCATE by_status;
RESET plan_cache_mode;
SELECT * FROM plan_of('SELECT * FROM est.tasks');

-- a complete listing counts the tasks; the tasks this backend submits
-- since are added to that count
SELECT count(*) FROM est.tasks;
SELECT * FROM plan_of('SELECT * FROM est.tasks');
INSERT INTO est.tasks (task_type, tags)
SELECT 'est', jsonb_build_object('grp', 'g' || (n % 4)) FROM generate_series(1, 4) n;
SELECT * FROM plan_of('SELECT * FROM est.tasks');
-- a listing cut short (LIMIT) counts nothing
SELECT count(*) FROM (SELECT id FROM est.tasks LIMIT 1) t;
SELECT * FROM plan_of('SELECT * FROM est.tasks');

-- ANALYZE counts every task; a new session (no listing of its own) plans
-- with that count, and the selectivity of the conditions on top
ANALYZE est.tasks;
SELECT reltuples FROM pg_class WHERE oid = 'est.tasks'::regclass;
\c
SELECT * FROM plan_of('SELECT * FROM est.tasks');
SELECT * FROM plan_of($$SELECT * FROM est.tasks WHERE task_type = 'est'$$);
SELECT * FROM plan_of($$SELECT * FROM est.tasks WHERE task_type = 'other'$$);

-- a listing newer than the ANALYZE wins: two tasks another producer put
SELECT oq_put_object('estimates', 'tasks/' || left(id, 1) || '/' || id || '.json',
                     convert_to(format('{"id":"%s","shard":"%s","task_type":"est","input":{},"created_at":"2026-01-01T00:00:00Z","available_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}',
                                       id, left(id, 1)), 'UTF8')) IS NOT NULL AS put
FROM unnest(ARRAY['e5e5e5e5-0000-4000-8000-000000000001', 'e5e5e5e5-0000-4000-8000-000000000002']) id;
SELECT count(*) FROM est.tasks;
SELECT * FROM plan_of('SELECT * FROM est.tasks');

-- a warm task cache against the tag index.  A new session has no cached
-- task: one group is read through the index (an index listing and a GET
-- per entry)
\c
SELECT * FROM plan_of($$SELECT id FROM est.tasks WHERE tags->>'grp' = 'g1'$$);
CREATE TEMP TABLE by_index AS SELECT id FROM est.tasks WHERE tags->>'grp' = 'g1';
SELECT count(*) FROM by_index;
-- a full listing puts every task in the cache; now the same query lists
-- the bucket and reads no task (each ETag is unchanged), and EXPLAIN says why
SELECT count(*) FROM est.tasks;
SELECT * FROM plan_of($$SELECT id FROM est.tasks WHERE tags->>'grp' = 'g1'$$);
SELECT explain_analyze($$SELECT id FROM est.tasks WHERE tags->>'grp' = 'g1'$$);
-- the same answer
SELECT (SELECT array_agg(id ORDER BY id) FROM est.tasks WHERE tags->>'grp' = 'g1') =
       (SELECT array_agg(id ORDER BY id) FROM by_index) AS same_answer;
-- oq_tag_stats(): one index query and its 16 entries, then two full
-- listings with a condition on grp, by choice (explain_analyze() and the
-- comparison; plan_of() only plans)
SELECT tag_key, index_queries, index_entries, index_stale, full_scans
FROM oq_tag_stats() ORDER BY tag_key;
-- without the cache the index is cheaper again
SET oq_fdw.cache_size = 0;
SELECT * FROM plan_of($$SELECT id FROM est.tasks WHERE tags->>'grp' = 'g1'$$);
RESET oq_fdw.cache_size;

DROP FUNCTION plan_of(text);
DROP SERVER estimates CASCADE;
DROP SCHEMA est CASCADE;
