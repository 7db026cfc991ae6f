--
-- tag_index: writes keep the index tags/{key}/{segment}/{id} in step (every
-- allowed value gets one safe segment), scans find the tasks through it, a
-- server with tag_index off keeps it all the same, and oq_rebuild_tag_index
-- repairs a bucket written without it.
--
\getenv endpoint OQ_TEST_ENDPOINT
\getenv region OQ_TEST_REGION
\getenv access_key_id OQ_TEST_ACCESS_KEY_ID
\getenv secret OQ_TEST_SECRET_ACCESS_KEY
CREATE SERVER w_index FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-w-index', endpoint :'endpoint', region :'region');
CREATE USER MAPPING FOR CURRENT_USER SERVER w_index
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
CREATE SCHEMA w_index;
IMPORT FOREIGN SCHEMA oq FROM SERVER w_index INTO w_index;
CREATE FUNCTION index_keys(server name, id text) RETURNS SETOF text LANGUAGE sql AS $$
  SELECT replace(key, id, 'ID') FROM oq_list_objects(server, 'tags/')
  WHERE key LIKE '%/' || id ORDER BY key $$;
-- a new bucket: the rebuild finds nothing to do and writes the marker that
-- lets scans use the index, which every write from now on keeps
SELECT * FROM oq_rebuild_tag_index('w_index');
SELECT key FROM oq_list_objects('w_index', 'tags/');
-- (a new session, which has not learned from the rebuild's listing that the
-- bucket was empty, when a listing is cheaper than any index)
\c

-- values of every kind: '/', '%', spaces, non-ASCII, '~', dot segments,
-- the empty string, and 256 four-byte characters (hashed to stay short)
SELECT oq_stats_reset();
SELECT oq_submit('w_index', 'exotic', tags => jsonb_build_object(
         'path', 'a/b', 'pct', '100%', 'space', 'us west', 'cafe', 'Café 東京',
         'tilde', '~x', 'dot', '.', 'dotdot', '..', 'empty', '', 'enc', 'a%2Fb',
         'long', repeat('😀', 256))) AS exotic_id \gset
SELECT index_keys('w_index', :'exotic_id');
SELECT key = 'tags/long/~' || encode(sha256(convert_to(repeat('😀', 256), 'UTF8')), 'hex') || '/' || :'exotic_id'
       AS hashed_ok, octet_length(key) AS key_bytes
FROM oq_list_objects('w_index', 'tags/long/');
-- one request per entry, all before the task (test_write_races checks the order)
SELECT name, value FROM oq_stats()
WHERE name IN ('tag_index_writes', 'requests_put', 'tasks_submitted') ORDER BY name;

-- scans use the index, and find the task by each value
EXPLAIN (COSTS OFF) SELECT id FROM w_index.tasks WHERE tags->>'path' = 'a/b';
SELECT count(*) FILTER (WHERE tags->>'path' = 'a/b') AS by_path FROM w_index.tasks WHERE tags->>'path' = 'a/b';
SELECT count(*) AS by_cafe FROM w_index.tasks WHERE tags->>'cafe' = 'Café 東京';
SELECT count(*) AS by_dotdot FROM w_index.tasks WHERE tags @> '{"dotdot": ".."}';
SELECT count(*) AS by_empty FROM w_index.tasks WHERE tags->>'empty' = '';
SELECT count(*) AS by_long FROM w_index.tasks WHERE tags->>'long' = repeat('😀', 256);
SELECT count(*) AS has_enc FROM w_index.tasks WHERE tags ? 'enc';

-- update: the added and changed values' entries are written first, the
-- old value's entry deleted after the task is stored
SELECT oq_submit('w_index', 'plain', tags => '{"customer": "acme", "region": "us-west"}') AS plain_id \gset
SELECT oq_stats_reset();
SELECT oq_update_tags('w_index', :'plain_id', '{"region": "eu", "priority": "high"}');
SELECT index_keys('w_index', :'plain_id');
SELECT name, value FROM oq_stats()
WHERE name IN ('requests_get', 'requests_put', 'requests_delete', 'tag_index_writes',
               'tag_index_deletes', 'tag_updates')
ORDER BY name;
SELECT count(*) AS by_old_region FROM w_index.tasks WHERE tags->>'region' = 'us-west';
SELECT count(*) AS by_new_region FROM w_index.tasks WHERE tags->>'region' = 'eu';

-- remove: the entries go
SELECT oq_remove_tags('w_index', :'plain_id', ARRAY['priority', 'customer']);
SELECT index_keys('w_index', :'plain_id');

-- tag_index off: scans never use the index, but writes keep it all the
-- same (another server or session may rely on it): entries written before
-- the task, the changed value's entry deleted after it.
CREATE SERVER w_noindex FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-w-rebuild', endpoint :'endpoint', region :'region', tag_index 'off');
CREATE USER MAPPING FOR CURRENT_USER SERVER w_noindex
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
SELECT oq_stats_reset();
SELECT oq_submit('w_noindex', 'unindexed', tags => '{"customer": "acme", "region": "us-west"}') AS n1 \gset
SELECT oq_submit('w_noindex', 'unindexed', tags => '{"customer": "globex"}') AS n2 \gset
SELECT oq_update_tags('w_noindex', :'n1', '{"region": "eu"}');
SELECT count(*) AS entries FROM oq_list_objects('w_noindex', 'tags/');
SELECT name, value FROM oq_stats() WHERE name IN ('tag_index_writes', 'tag_index_deletes') ORDER BY name;

-- rebuild a bucket another producer wrote without an index: a task it
-- wrote (a key the rules refuse, a value with a line break), one that is
-- not valid JSON, and stale entries: for a task that does not exist, for a
-- value the task no longer has, and keys that are no entries of ours
SELECT oq_put_object('w_noindex', 'tasks/d/d0000000-0000-4000-8000-000000000001.json',
  convert_to('{"id":"d0000000-0000-4000-8000-000000000001","shard":"d","task_type":"foreign","input":null,"created_at":"2026-01-28T09:15:02Z","available_at":"2026-01-28T09:15:02Z","updated_at":"2026-01-28T09:15:02Z","status":"completed","tags":{"Bad Key":"x","note":"two\nlines","customer":"acme"}}', 'UTF8')) IS NOT NULL AS foreign_task;
SELECT oq_put_object('w_noindex', 'tasks/e/e0000000-0000-4000-8000-000000000001.json', '{"id": broken') IS NOT NULL AS broken_task;
SELECT oq_put_object('w_noindex', key, '') IS NOT NULL AS stale_entry
FROM (VALUES ('tags/customer/acme/f0000000-0000-4000-8000-000000000001'),
             ('tags/region/us-west/' || :'n1'),
             ('tags/Bad Key/x/d0000000-0000-4000-8000-000000000001'),
             ('tags/README')) v(key);
-- entries this young might belong to a write in progress: kept
SELECT * FROM oq_rebuild_tag_index('w_noindex');
SET oq_fdw.tag_index_rebuild_grace = 0;
SELECT oq_stats_reset();
SELECT * FROM oq_rebuild_tag_index('w_noindex');
SELECT name, value FROM oq_stats() WHERE name IN ('tag_index_writes', 'tag_index_deletes') ORDER BY name;
SELECT regexp_replace(regexp_replace(key, :'n1', 'N1'), :'n2', 'N2') AS key
FROM oq_list_objects('w_noindex', 'tags/') ORDER BY 1;
-- nothing left to do
SELECT * FROM oq_rebuild_tag_index('w_noindex');
RESET oq_fdw.tag_index_rebuild_grace;

-- and the rebuilt index answers queries
CREATE SERVER w_rebuilt FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-w-rebuild', endpoint :'endpoint', region :'region');
CREATE USER MAPPING FOR CURRENT_USER SERVER w_rebuilt
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
CREATE SCHEMA w_rebuilt;
IMPORT FOREIGN SCHEMA oq FROM SERVER w_rebuilt INTO w_rebuilt OPTIONS (on_invalid 'skip');
SELECT task_type, tags->>'region' AS region FROM w_rebuilt.tasks
WHERE tags->>'customer' = 'acme' ORDER BY 1;
SELECT count(*) AS by_note FROM w_rebuilt.tasks WHERE tags->>'note' = E'two\nlines';
SELECT name, value FROM oq_stats() WHERE name IN ('tag_index_queries', 'tag_index_stale') ORDER BY name;

DROP FUNCTION index_keys(name, text);
