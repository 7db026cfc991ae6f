--
-- tag_edges: tags another producer may write that oq_fdw's own rules refuse
-- (keys '', upper case, '/', non-ASCII, over 64 characters, reserved
-- prefixes; values that are not strings) read as they are; every predicate
-- on them gives PostgreSQL's answer, with the tag index and without, and
-- never crashes; EXPLAIN names the path that runs; oq_update_tags and
-- oq_remove_tags repair such a task; the resource GUCs are superuser-only.
--
\getenv endpoint OQ_TEST_ENDPOINT
\getenv region OQ_TEST_REGION
\getenv access_key_id OQ_TEST_ACCESS_KEY_ID
\getenv secret OQ_TEST_SECRET_ACCESS_KEY

-- "te" may use the tag index, "ten" never does; "tei" is only planned
-- (EXPLAIN), so that no full scan tells it how few tasks there are
CREATE SERVER te FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-edges', endpoint :'endpoint', region :'region');
CREATE SERVER tei FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-edges', endpoint :'endpoint', region :'region');
CREATE SERVER ten FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-edges', endpoint :'endpoint', region :'region', tag_index 'off');
CREATE USER MAPPING FOR CURRENT_USER SERVER te
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
CREATE USER MAPPING FOR CURRENT_USER SERVER ten
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
CREATE USER MAPPING FOR CURRENT_USER SERVER tei
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
CREATE SCHEMA te;
IMPORT FOREIGN SCHEMA oq FROM SERVER te INTO te;
CREATE SCHEMA ten;
IMPORT FOREIGN SCHEMA oq FROM SERVER ten INTO ten;
CREATE SCHEMA tei;
IMPORT FOREIGN SCHEMA oq FROM SERVER tei INTO tei;

-- the tags as another producer writes them: raw JSON text, spliced into the
-- task object as is (numbers like 1e2 stay as written in the bucket)
CREATE TABLE te_local (n int, id uuid, tags_raw text, tags jsonb);
INSERT INTO te_local (n, tags_raw) VALUES
  (1, '{"": "x"}'),
  (2, '{"": "long", "customer": "acme"}'),
  (3, '{"Customer": "x", "customer": "y"}'),
  (4, '{"a/b": "x", "%": "%25"}'),
  (5, '{"é": "x", "customer": "Café"}'),
  (6, '{"oq_sys": "x", "_int": "x"}'),
  (7, '{"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk": "x"}'),
  (8, '{"n": 5, "customer": "acme"}'),
  (9, '{"n": "5"}'),
  (10, '{"n": 1e2}'),
  (11, '{"n": 5.50}'),
  (12, '{"a": null, "customer": "acme"}'),
  (13, '{"o": {"x": 1}, "arr": [1, "two"]}'),
  (14, '{"b": true, "n": false}'),
  (15, '{"customer": "acme"}'),
  (16, '{"customer": "acme ", "v": ""}'),
  (17, '{}'),
  (18, NULL),
  (19, '{"customer": "5", "b": "true"}'),
  (20, '{"big": 123456789012345678901234567890}'),
  (21, '{"o": {"x": 1, "y": [2]}, "customer": {"name": "acme"}}');
UPDATE te_local SET id = md5('tag edges ' || n)::uuid, tags = coalesce(tags_raw, '{}')::jsonb;
SELECT count(oq_put_object('te', 'tasks/' || left(id::text, 1) || '/' || id || '.json',
  convert_to(left(jsonb_build_object(
    'id', id, 'shard', left(id::text, 1), 'task_type', 'edge', 'status', 'pending',
    'input', jsonb_build_object('n', n), 'output', NULL, 'timeout_seconds', 300,
    'max_retries', 3, 'retry_count', 0,
    'created_at', '2026-01-28T09:00:00Z', 'available_at', '2026-01-28T09:00:00Z',
    'updated_at', '2026-01-28T09:00:00Z', 'attempt', 0)::text, -1)
    || coalesce(', "tags": ' || tags_raw, '') || '}',
  'UTF8'))) AS stored
FROM te_local;

-- the index entries of the tags it can hold (string values of valid keys)
SELECT * FROM oq_rebuild_tag_index('te');
SELECT key FROM oq_list_objects('te', 'tags/') ORDER BY key COLLATE "C";

-- shown as stored: the tags column is the task's jsonb
SELECT l.n, t.tags = l.tags AS same_tags
FROM te.tasks t JOIN te_local l USING (id) ORDER BY l.n;
SELECT tags FROM te.tasks WHERE id = md5('tag edges 10')::uuid;

-- each condition against the same on the local copy, with and without the
-- index
CREATE FUNCTION te_check(cond text) RETURNS TABLE (rows int, index_same boolean, noindex_same boolean)
LANGUAGE plpgsql AS $$
DECLARE
  idx int[];
  noidx int[];
  local int[];
BEGIN
  EXECUTE format('SELECT array_agg(l.n ORDER BY l.n) FROM (SELECT id FROM te.tasks WHERE %s) t JOIN te_local l USING (id)', cond)
    INTO idx;
  EXECUTE format('SELECT array_agg(l.n ORDER BY l.n) FROM (SELECT id FROM ten.tasks WHERE %s) t JOIN te_local l USING (id)', cond)
    INTO noidx;
  EXECUTE format('SELECT array_agg(n ORDER BY n) FROM te_local t WHERE %s', cond) INTO local;
  RETURN QUERY SELECT coalesce(cardinality(local), 0), idx IS NOT DISTINCT FROM local,
    noidx IS NOT DISTINCT FROM local;
END $$;

SELECT cond, (te_check(cond)).* FROM (VALUES
  ($$tags->>'' = 'x'$$),
  ($$'long' = tags->>''$$),
  ($$tags ? ''$$),
  ($$tags->>'' IS NOT NULL$$),
  ($$tags->>'' IN ('x', 'long')$$),
  ($$tags ?& ARRAY['', 'customer']$$),
  ($$tags ?| ARRAY['', 'é']$$),
  ($$tags @> '{"": "x"}'$$),
  ($$tags->>'Customer' = 'x'$$),
  ($$tags->>'customer' = 'y'$$),
  ($$tags @> '{"Customer": "x", "customer": "y"}'$$),
  ($$tags->>'a/b' = 'x'$$),
  ($$tags->>'%' = '%25'$$),
  ($$tags->>'é' = 'x'$$),
  ($$tags->>'customer' = 'Café'$$),
  ($$tags->>'oq_sys' = 'x'$$),
  ($$tags ? '_int'$$),
  ($$tags->>'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk' = 'x'$$),
  ($$tags->>'n' = '5'$$),
  ($$tags->>'n' = '100'$$),
  ($$tags->>'n' = '1e2'$$),
  ($$tags->>'n' = '5.50'$$),
  ($$tags->>'n' = 'false'$$),
  ($$tags->>'n' IN ('5', '100')$$),
  ($$tags @> '{"n": "5"}'$$),
  ($$tags @> '{"n": 5}'$$),
  ($$tags @> '{"n": 100}'$$),
  ($$tags @> '{"n": 5.5}'$$),
  ($$tags ? 'n'$$),
  ($$tags->>'n' IS NOT NULL$$),
  ($$tags->>'a' IS NOT NULL$$),
  ($$tags ? 'a'$$),
  ($$tags @> '{"a": null}'$$),
  ($$tags->>'o' = '{"x": 1}'$$),
  ($$tags->>'arr' = '[1, "two"]'$$),
  ($$tags @> '{"o": {"x": 1}}'$$),
  ($$tags @> '{"o": {"y": [2]}, "customer": {"name": "acme"}}'$$),
  ($$tags @> '{"arr": ["two"]}'$$),
  ($$tags->>'b' = 'true'$$),
  ($$tags @> '{"b": "true"}'$$),
  ($$tags @> '{"b": true}'$$),
  ($$tags->>'customer' = '5'$$),
  ($$tags->>'customer' = '{"name": "acme"}'$$),
  ($$tags->>'customer' = 'acme'$$),
  ($$tags->>'customer' = 'acme '$$),
  ($$tags->>'v' = ''$$),
  ($$tags->>'big' = '123456789012345678901234567890'$$),
  ($$tags @> '{"customer": "acme", "n": 5}'$$),
  ($$tags ?& ARRAY['customer', 'n']$$),
  ($$tags ?| ARRAY['a', 'b']$$),
  ($$tags @> '{}'$$),
  ($$tags @> '[]'$$),
  ($$tags->>'customer' = 'acme' AND tags->>'n' = '5'$$)
) v(cond);

-- the crashes of before, as written: counts, no crash
SELECT count(*) FROM te.tasks WHERE tags->>'' = 'x';
SELECT count(*) FROM te.tasks WHERE tags ? '';
SELECT count(*) FROM te.tasks WHERE tags->>'' IS NOT NULL;
SELECT count(*) FROM te.tasks WHERE 'long' = tags->>'';
PREPARE by_tag(text, text) AS SELECT count(*) FROM te.tasks WHERE tags->>$1 = $2;
EXECUTE by_tag('', 'x');
EXECUTE by_tag('', 'long');
EXECUTE by_tag('customer', 'acme');
EXECUTE by_tag('n', '5');
SET plan_cache_mode = force_generic_plan;
EXECUTE by_tag('', 'x');
EXECUTE by_tag('n', '5');
RESET plan_cache_mode;
PREPARE has_tag(text) AS SELECT count(*) FROM te.tasks WHERE tags ? $1;
EXECUTE has_tag('');
EXECUTE has_tag('n');

-- EXPLAIN: keys the index cannot hold, and values a non-string value could
-- print as, take the full listing; the plan says so
EXPLAIN (COSTS OFF) SELECT id FROM tei.tasks WHERE tags->>'Customer' = 'x';
EXPLAIN (COSTS OFF) SELECT id FROM tei.tasks WHERE tags->>'' = 'x';
EXPLAIN (COSTS OFF) SELECT id FROM tei.tasks WHERE tags->>'customer' = '5';
EXPLAIN (COSTS OFF) SELECT id FROM tei.tasks WHERE tags->>'customer' IN ('acme', 'true');
EXPLAIN (COSTS OFF) SELECT id FROM tei.tasks WHERE tags ? 'customer';
EXPLAIN (COSTS OFF) SELECT id FROM tei.tasks WHERE tags->>'customer' = 'acme';
EXPLAIN (COSTS OFF) SELECT id FROM tei.tasks WHERE tags->>'customer' IN ('acme', 'acme ');
EXPLAIN (COSTS OFF) SELECT id FROM tei.tasks WHERE tags @> '{"Customer": "x", "customer": "y", "n": 5}';
EXPLAIN (COSTS OFF) SELECT id FROM tei.tasks WHERE tags @> '{"Customer": "x"}';

-- a join on a key the index cannot hold is not a nested loop of lookups
CREATE TABLE te_names (name text);
INSERT INTO te_names VALUES ('x'), ('y');
ANALYZE te_names;
EXPLAIN (COSTS OFF)
SELECT n.name, t.id FROM te_names n JOIN tei.tasks t ON t.tags->>'Customer' = n.name;
EXPLAIN (COSTS OFF)
SELECT n.name, t.id FROM te_names n JOIN tei.tasks t ON t.tags->>'customer' = n.name;
SELECT n.name, count(*) FROM te_names n JOIN te.tasks t ON t.tags->>'Customer' = n.name GROUP BY 1;

-- a parameter is judged when the scan starts: '5' falls back to a full
-- listing, counted in EXPLAIN ANALYZE
PREPARE by_customer(text) AS SELECT count(*) FROM tei.tasks WHERE tags->>'customer' = $1;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE by_customer('acme');
SELECT explain_analyze($q$EXECUTE by_customer('acme')$q$);
SELECT explain_analyze($q$EXECUTE by_customer('5')$q$);
EXECUTE by_customer('5');
RESET plan_cache_mode;

-- repair: oq_remove_tags and oq_update_tags work on a task with foreign
-- tags; tags they do not touch stay exactly as stored
SELECT oq_remove_tags('te', md5('tag edges 8')::uuid, ARRAY['n']);
SELECT oq_update_tags('te', md5('tag edges 12')::uuid, '{"a": "fixed"}');
SELECT oq_update_tags('te', md5('tag edges 13')::uuid, '{"region": "eu"}');
SELECT convert_from(oq_get_object('te', 'tasks/' || left(md5('tag edges 13'), 1) || '/'
  || md5('tag edges 13')::uuid || '.json'), 'UTF8')::jsonb->'tags' AS stored_tags;
SELECT oq_remove_tags('te', md5('tag edges 20')::uuid, ARRAY['nothing']);
SELECT oq_update_tags('te', md5('tag edges 11')::uuid, '{"n": "5.50"}');
SELECT oq_update_tags('te', md5('tag edges 3')::uuid, '{"customer": "z"}');
-- the rules still govern what oq_fdw writes
SELECT oq_update_tags('te', md5('tag edges 3')::uuid, '{"Customer": "z"}');
SELECT oq_update_tags('te', md5('tag edges 3')::uuid, '{"n": 5}');
SELECT id, tags FROM te.tasks
WHERE id IN (md5('tag edges 8')::uuid, md5('tag edges 12')::uuid, md5('tag edges 3')::uuid)
ORDER BY tags::text;
-- and the index entries follow (a, region and n = 5.50 added)
SELECT key FROM oq_list_objects('te', 'tags/a/') UNION ALL
SELECT key FROM oq_list_objects('te', 'tags/region/') UNION ALL
SELECT key FROM oq_list_objects('te', 'tags/n/') ORDER BY 1;
SELECT count(*) FROM te.tasks WHERE tags @> '{"n": "5.50"}';

-- the resource guards: a non-superuser cannot lift them, a superuser can
-- set them for a role
CREATE ROLE regress_te_alice;
SET ROLE regress_te_alice;
\set VERBOSITY sqlstate
SET oq_fdw.max_scan_objects = 0;
SET oq_fdw.cache_size = '1GB';
\set VERBOSITY default
SHOW oq_fdw.max_scan_objects;
RESET ROLE;
ALTER ROLE regress_te_alice SET oq_fdw.max_scan_objects = 1000;
SELECT setconfig FROM pg_db_role_setting
WHERE setrole = 'regress_te_alice'::regrole;
DROP ROLE regress_te_alice;
