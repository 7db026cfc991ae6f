--
-- tag_index_marker: a bucket whose producers keep no tag index gives exact
-- answers with default options (a full listing, and EXPLAIN says why);
-- oq_rebuild_tag_index() builds the index and writes the marker
-- tags/_complete, after which the same query uses the index; deleting the
-- marker turns scans back to full listings, also for a plan made before.
-- Everything goes through SQL and the endpoint of the environment, so the
-- suite runs against any S3 server.
--
\getenv endpoint OQ_TEST_ENDPOINT
\getenv region OQ_TEST_REGION
\getenv access_key_id OQ_TEST_ACCESS_KEY_ID
\getenv secret OQ_TEST_SECRET_ACCESS_KEY

-- one bucket, three servers: the default (tag_index 'auto'), 'on', 'off'
CREATE SERVER mk FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-marker', endpoint :'endpoint', region :'region');
CREATE SERVER mk_on FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-marker', endpoint :'endpoint', region :'region', tag_index 'on');
CREATE SERVER mk_off FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-marker', endpoint :'endpoint', region :'region', tag_index 'off');
CREATE USER MAPPING FOR CURRENT_USER SERVER mk
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
CREATE USER MAPPING FOR CURRENT_USER SERVER mk_on
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
CREATE USER MAPPING FOR CURRENT_USER SERVER mk_off
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
CREATE SCHEMA mk;
IMPORT FOREIGN SCHEMA oq FROM SERVER mk INTO mk;
CREATE SCHEMA mk_on;
IMPORT FOREIGN SCHEMA oq FROM SERVER mk_on INTO mk_on;
CREATE SCHEMA mk_off;
IMPORT FOREIGN SCHEMA oq FROM SERVER mk_off INTO mk_off;

-- the option's values: auto, and the booleans
CREATE SERVER mk_bad FOREIGN DATA WRAPPER oq_fdw OPTIONS (bucket 'oq-marker', tag_index 'perhaps');
CREATE SERVER mk_bad FOREIGN DATA WRAPPER oq_fdw OPTIONS (bucket 'oq-marker', tag_index 'auto');
ALTER SERVER mk_bad OPTIONS (SET tag_index 'true');
ALTER SERVER mk_bad OPTIONS (SET tag_index 'no');
DROP SERVER mk_bad;

-- a task as a producer without index support writes it: the object only
CREATE FUNCTION mk_task(n int, status text, tags jsonb) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
  id uuid := md5('marker ' || n)::uuid;
BEGIN
  PERFORM oq_put_object('mk', 'tasks/' || left(id::text, 1) || '/' || id || '.json',
    convert_to(jsonb_build_object(
      'id', id, 'shard', left(id::text, 1), 'task_type', 'process_order',
      'status', status, 'input', jsonb_build_object('n', n), 'output', NULL,
      'tags', tags, 'timeout_seconds', 300, 'max_retries', 3, 'retry_count', 0,
      'created_at', '2026-01-28T09:00:00Z', 'available_at', '2026-01-28T09:00:00Z',
      'updated_at', '2026-01-28T09:00:00Z', 'attempt', 0,
      'cancel_requested', false)::text, 'UTF8'));
  RETURN id;
END $$;

-- a fresh bucket (no marker, whatever an earlier run left) of 12 tasks, 5
-- of them for acme-corp, without a single index entry
SELECT oq_delete_object('mk', 'tags/_complete');
SELECT count(mk_task(n, CASE WHEN n % 3 = 0 THEN 'completed' ELSE 'pending' END,
                     CASE WHEN n <= 5 THEN '{"customer": "acme-corp"}'
                          WHEN n <= 9 THEN '{"customer": "globex", "region": "eu"}'
                          ELSE '{}' END::jsonb)) AS stored
FROM generate_series(1, 12) n;
SELECT count(*) AS index_entries FROM oq_list_objects('mk', 'tags/');

-- default options: the exact answer, from a full listing, and EXPLAIN says
-- why; one HEAD of the marker serves both planning and execution
SELECT oq_stats_reset();
SELECT count(*) FROM mk.tasks WHERE tags->>'customer' = 'acme-corp';
SELECT name, value FROM oq_stats()
WHERE name IN ('requests_head', 'requests_list', 'requests_get', 'tag_index_queries') ORDER BY name;
EXPLAIN (COSTS OFF) SELECT id FROM mk.tasks WHERE tags->>'customer' = 'acme-corp';
EXPLAIN (COSTS OFF) SELECT id FROM mk.tasks WHERE tags ? 'region' AND status = 'pending';
SELECT count(*) FROM mk.tasks WHERE tags ? 'region' AND status = 'pending';
SELECT count(*) FROM mk.tasks WHERE tags @> '{"customer": "globex"}';
SELECT count(*) FROM mk.tasks WHERE tags->>'customer' IN ('acme-corp', 'globex');
-- queries without a tag condition never ask for the marker
SELECT oq_stats_reset();
SELECT count(*) FROM mk.tasks WHERE status = 'completed';
SELECT value AS requests_head FROM oq_stats() WHERE name = 'requests_head';

-- a join on a tag: no per-row index lookups, the exact counts
CREATE TABLE mk_customers (name text);
INSERT INTO mk_customers VALUES ('acme-corp'), ('globex'), ('initech');
ANALYZE mk_customers;
EXPLAIN (COSTS OFF)
SELECT c.name, count(*) FROM mk.tasks t JOIN mk_customers c ON t.tags->>'customer' = c.name
GROUP BY 1;
SELECT c.name, count(*) FROM mk.tasks t JOIN mk_customers c ON t.tags->>'customer' = c.name
GROUP BY 1 ORDER BY 1;

-- the guardrail's hint names the rebuild
SET oq_fdw.max_scan_objects = 5;
SELECT count(*) FROM mk.tasks WHERE tags->>'customer' = 'acme-corp';
SELECT count(*) FROM mk.tasks;
RESET oq_fdw.max_scan_objects;

-- tag_index 'off': a full listing, no HEAD; tag_index 'on': the index,
-- unchecked, which on this bucket misses every task (the user vouched for
-- an index the bucket does not have)
SELECT oq_stats_reset();
SELECT count(*) AS off FROM mk_off.tasks WHERE tags->>'customer' = 'acme-corp';
SELECT count(*) AS forced_on FROM mk_on.tasks WHERE tags->>'customer' = 'acme-corp';
SELECT name, value FROM oq_stats()
WHERE name IN ('requests_head', 'tag_index_queries') ORDER BY name;
EXPLAIN (COSTS OFF) SELECT id FROM mk_on.tasks WHERE tags->>'customer' = 'acme-corp';
EXPLAIN (COSTS OFF) SELECT id FROM mk_off.tasks WHERE tags->>'customer' = 'acme-corp';

-- the rebuild writes every entry, then the marker; nothing else changed
SET oq_fdw.tag_index_rebuild_grace = 0;
SELECT * FROM oq_rebuild_tag_index('mk');
SELECT convert_from(oq_get_object('mk', 'tags/_complete'), 'UTF8')::jsonb->>'tag_index' AS marker;
SELECT count(*) AS index_entries FROM oq_list_objects('mk', 'tags/') WHERE key <> 'tags/_complete';
RESET oq_fdw.tag_index_rebuild_grace;

-- the same query now uses the index: one HEAD, one LIST, one GET per match.
-- (In a new session: this one learned from its full listings that the
-- bucket holds only 12 tasks, for which one listing costs less.)
\c
SELECT oq_stats_reset();
SELECT count(*) FROM mk.tasks WHERE tags->>'customer' = 'acme-corp';
SELECT name, value FROM oq_stats()
WHERE name IN ('requests_head', 'requests_list', 'requests_get', 'tag_index_queries') ORDER BY name;
EXPLAIN (COSTS OFF) SELECT id FROM mk.tasks WHERE tags->>'customer' = 'acme-corp';
SELECT count(*) FROM mk.tasks WHERE tags->>'region' = 'eu' AND status = 'pending';
SELECT count(*) FROM mk.tasks WHERE tags->>'customer' IN ('acme-corp', 'globex');
EXPLAIN (COSTS OFF)
SELECT c.name, count(*) FROM mk.tasks t JOIN mk_customers c ON t.tags->>'customer' = c.name
GROUP BY 1;
SELECT c.name, count(*) FROM mk.tasks t JOIN mk_customers c ON t.tags->>'customer' = c.name
GROUP BY 1 ORDER BY 1;

-- every write keeps the index, whatever tag_index says: a submit through
-- the 'off' server is found through the index of the others
SELECT oq_stats_reset();
SELECT oq_submit('mk_off', 'process_order', tags => '{"customer": "acme-corp"}') AS submitted \gset
SELECT value AS tag_index_writes FROM oq_stats() WHERE name = 'tag_index_writes';
SELECT count(*) FROM mk.tasks WHERE tags->>'customer' = 'acme-corp';
SELECT oq_update_tags('mk_off', :'submitted', '{"region": "eu"}');
SELECT count(*) FROM mk.tasks WHERE tags->>'region' = 'eu' AND status = 'pending';

-- a plan made while the marker was there, executed after it was deleted and
-- a producer without index support wrote a task: the exact answer, from a
-- full listing, which EXPLAIN shows
PREPARE mk_by_customer(text) AS
  SELECT count(*) FROM mk.tasks WHERE tags->>'customer' = $1;
SET plan_cache_mode = force_generic_plan;
EXECUTE mk_by_customer('acme-corp');
SELECT oq_delete_object('mk', 'tags/_complete');
SELECT mk_task(13, 'pending', '{"customer": "acme-corp"}') IS NOT NULL AS unindexed_task;
EXECUTE mk_by_customer('acme-corp');
EXPLAIN (COSTS OFF) EXECUTE mk_by_customer('acme-corp');
SELECT explain_analyze($q$EXECUTE mk_by_customer('acme-corp')$q$);
RESET plan_cache_mode;
DEALLOCATE mk_by_customer;

-- a new plan does not offer the index either
EXPLAIN (COSTS OFF) SELECT id FROM mk.tasks WHERE tags->>'customer' = 'acme-corp';
SELECT count(*) FROM mk.tasks WHERE tags->>'customer' = 'acme-corp';

-- within one statement too, the marker deleted by this backend is seen at
-- once.  (A new session again, for the index to be cheapest; the marker
-- written by hand vouches for an index that lacks task 13's entry.)
\c
SELECT oq_put_object('mk', 'tags/_complete', '{}') IS NOT NULL AS marked;
DO $$
DECLARE
  n int;
BEGIN
  SELECT count(*) INTO n FROM mk.tasks WHERE tags->>'customer' = 'acme-corp';
  RAISE NOTICE 'marked (index misses the unindexed task): %', n;
  PERFORM oq_delete_object('mk', 'tags/_complete');
  SELECT count(*) INTO n FROM mk.tasks WHERE tags->>'customer' = 'acme-corp';
  RAISE NOTICE 'unmarked: %', n;
END $$;

-- a rebuild makes it whole again, and leaves the marker out of its count
-- of keys under tags/ that are not entries (no NOTICE)
SET oq_fdw.tag_index_rebuild_grace = 0;
SELECT * FROM oq_rebuild_tag_index('mk');
SELECT * FROM oq_rebuild_tag_index('mk');
RESET oq_fdw.tag_index_rebuild_grace;
\c
SELECT oq_stats_reset();
SELECT count(*) FROM mk.tasks WHERE tags->>'customer' = 'acme-corp';
SELECT name, value FROM oq_stats()
WHERE name IN ('requests_list', 'requests_get', 'tag_index_stale') ORDER BY name;

DROP SCHEMA mk, mk_on, mk_off CASCADE;
DROP SERVER mk, mk_on, mk_off CASCADE;
DROP TABLE mk_customers;
DROP FUNCTION mk_task;
