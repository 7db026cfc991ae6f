--
-- task_cache: a scan of an unchanged bucket reads no task twice; changed,
-- added and deleted tasks are seen at once; oq_fdw.cache_size bounds it.
--
\getenv endpoint OQ_TEST_ENDPOINT
\getenv region OQ_TEST_REGION
\getenv access_key_id OQ_TEST_ACCESS_KEY_ID
\getenv secret OQ_TEST_SECRET_ACCESS_KEY

CREATE SERVER cache FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-cache', endpoint :'endpoint', region :'region');
CREATE USER MAPPING FOR CURRENT_USER SERVER cache
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
CREATE FOREIGN TABLE cached (id uuid, status text, tags jsonb, etag text) SERVER cache;

CREATE FUNCTION cache_task(n int, status text) RETURNS bytea LANGUAGE sql AS $$
  SELECT convert_to(jsonb_build_object(
    'id', md5('cache ' || n)::uuid, 'shard', left(md5('cache ' || n), 1),
    'task_type', 't', 'status', status, 'input', '{}'::jsonb,
    'created_at', '2026-01-28T09:00:00Z', 'available_at', '2026-01-28T09:00:00Z',
    'updated_at', '2026-01-28T09:00:00Z', 'tags', jsonb_build_object('n', n::text))::text, 'UTF8')
$$;
CREATE FUNCTION cache_key(n int) RETURNS text LANGUAGE sql AS $$
  SELECT 'tasks/' || left(md5('cache ' || n), 1) || '/' || md5('cache ' || n)::uuid || '.json'
$$;
SELECT count(oq_put_object('cache', cache_key(n), cache_task(n, 'pending')))
FROM generate_series(1, 20) n;

-- the first scan reads every task, the second none
SELECT explain_analyze('SELECT * FROM cached');
SELECT explain_analyze('SELECT * FROM cached');

-- a changed, an added and a deleted task: two GETs, and the new state
SELECT oq_put_object('cache', cache_key(3), cache_task(3, 'running')) IS NOT NULL;
SELECT oq_put_object('cache', cache_key(21), cache_task(21, 'pending')) IS NOT NULL;
SELECT oq_delete_object('cache', cache_key(4));
SELECT oq_stats_reset();
SELECT count(*), count(*) FILTER (WHERE status = 'running') AS running,
       bool_or(id = md5('cache 21')::uuid) AS has_added,
       bool_or(id = md5('cache 4')::uuid) AS has_deleted
FROM cached;
SELECT name, value FROM oq_stats() WHERE name IN ('requests_get', 'cache_hits') ORDER BY name;
SELECT etag = md5(cache_task(3, 'running')) AS etag_is_new FROM cached WHERE id = md5('cache 3')::uuid;

-- lookups by id and through the index do not use listed ETags: they GET
SELECT explain_analyze('SELECT * FROM cached WHERE id = md5(''cache 5'')::uuid');

-- off, and too small to hold anything: every scan reads every task
SET oq_fdw.cache_size = 0;
SELECT explain_analyze('SELECT * FROM cached');
SELECT count(*) FROM cached;
SET oq_fdw.cache_size = '1kB';
SELECT oq_stats_reset();
SELECT count(*) FROM cached;
SELECT value >= 18 AS nearly_all_fetched FROM oq_stats() WHERE name = 'requests_get';
RESET oq_fdw.cache_size;

-- a change of the server forgets what its tasks were
SELECT count(*) FROM cached;
ALTER SERVER cache OPTIONS (ADD max_concurrency '8');
SELECT explain_analyze('SELECT * FROM cached');

DROP FOREIGN TABLE cached;
DROP FUNCTION cache_task, cache_key;
DROP SERVER cache CASCADE;
