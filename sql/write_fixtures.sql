--
-- write_fixtures: the writes against the task fixtures (test/fixtures/tasks).
-- A tag update leaves every other byte of precise-numbers, future-fields and
-- archived-pretty's layout as it was, and a task from oq_submit has exactly
-- the members and JSON types of the fixture laid out as a reference producer
-- writes it.
--
\getenv endpoint OQ_TEST_ENDPOINT
\getenv region OQ_TEST_REGION
\getenv access_key_id OQ_TEST_ACCESS_KEY_ID
\getenv secret OQ_TEST_SECRET_ACCESS_KEY
\getenv fixtures OQ_TEST_FIXTURES
CREATE SERVER w_fixtures FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-w-fixtures', endpoint :'endpoint', region :'region');
CREATE USER MAPPING FOR CURRENT_USER SERVER w_fixtures
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
CREATE SCHEMA w_fixtures;
IMPORT FOREIGN SCHEMA oq FROM SERVER w_fixtures INTO w_fixtures;

CREATE TEMP TABLE fixture (name text PRIMARY KEY, body text, id text, key text);
INSERT INTO fixture (name, body)
SELECT f, convert_from(pg_read_binary_file(:'fixtures' || '/' || f || '.json'), 'UTF8')
FROM unnest(ARRAY['pending-with-tags', 'precise-numbers', 'future-fields', 'legacy-no-tags',
                  'exotic-values', 'running-leased', 'completed-with-output', 'expired',
                  'archived-pretty']) f;
UPDATE fixture SET id = body::jsonb->>'id';
UPDATE fixture SET key = 'tasks/' || left(id, 1) || '/' || id || '.json';
SELECT name, oq_put_object('w_fixtures', key, convert_to(body, 'UTF8')) = md5(body) AS stored
FROM fixture ORDER BY name;
CREATE FUNCTION stored(name text) RETURNS text LANGUAGE sql AS $$
  SELECT convert_from(oq_get_object('w_fixtures', f.key), 'UTF8') FROM fixture f
  WHERE f.name = stored.name $$;
CREATE FUNCTION update_fixture(name text, tags jsonb) RETURNS jsonb LANGUAGE sql AS $$
  SELECT oq_update_tags('w_fixtures', f.id::uuid, tags) FROM fixture f
  WHERE f.name = update_fixture.name $$;

-- precise-numbers: integers beyond 64 bits, long decimals, \u escapes --
-- the bytes outside tags and updated_at are the fixture's own
SELECT update_fixture('precise-numbers', '{"priority": "high"}');
SELECT stored('precise-numbers') =
       replace(replace(body, '"tags":{"customer":"contoso"}',
                             '"tags":{"customer":"contoso","priority":"high"}'),
               '"updated_at":"2026-03-14T16:42:07Z"',
               '"updated_at":' || to_json(stored('precise-numbers')::jsonb->>'updated_at')::text)
       AS only_tags_and_updated_at_changed,
       stored('precise-numbers')::jsonb - 'tags' - 'updated_at' =
       body::jsonb - 'tags' - 'updated_at' AS same_values
FROM fixture WHERE name = 'precise-numbers';

-- future-fields: members this code does not know stay as they were
SELECT update_fixture('future-fields', '{"customer": "globex"}');
SELECT stored('future-fields') =
       replace(replace(body, '"tags":{"customer":"northwind"}', '"tags":{"customer":"globex"}'),
               '"updated_at":"2026-03-14T16:42:07.654321Z"',
               '"updated_at":' || to_json(stored('future-fields')::jsonb->>'updated_at')::text)
       AS only_tags_and_updated_at_changed,
       stored('future-fields')::jsonb->'namespace' AS namespace,
       stored('future-fields')::jsonb->'priority' AS priority,
       stored('future-fields')::jsonb->'labels' AS labels
FROM fixture WHERE name = 'future-fields';

-- legacy-no-tags: gains a tags member; exotic-values: its odd values kept
SELECT update_fixture('legacy-no-tags', '{"batch_id": "b-1"}');
SELECT stored('legacy-no-tags') =
       regexp_replace(replace(body, '"updated_at":"2025-11-03T07:45:10.246813579Z"',
                              '"updated_at":' || to_json(stored('legacy-no-tags')::jsonb->>'updated_at')::text),
                      '}$', ',"tags":{"batch_id":"b-1"}}') AS tags_member_added
FROM fixture WHERE name = 'legacy-no-tags';
SELECT update_fixture('exotic-values', '{"region": "eu"}') - 'region' =
       (body::jsonb->'tags') AS exotic_kept
FROM fixture WHERE name = 'exotic-values';
-- an update writes entries for the tags it adds; the fixture's own tags
-- came without entries (a rebuild adds those)
SELECT replace(o.key, f.id, 'ID') AS exotic_entries
FROM oq_list_objects('w_fixtures', 'tags/') o, fixture f
WHERE f.name = 'exotic-values' AND o.key LIKE '%/' || f.id ORDER BY 1;

-- archived-pretty (a pending copy of it): its own layout stays, whitespace and
-- member order included, with the two values in their places
UPDATE fixture SET body = replace(body, '"status": "archived"', '"status": "pending"')
WHERE name = 'archived-pretty';
SELECT oq_put_object('w_fixtures', key, convert_to(body, 'UTF8')) = md5(body) AS stored
FROM fixture WHERE name = 'archived-pretty';
SELECT update_fixture('archived-pretty', '{"customer": "globex", "tier": "gold"}');
SELECT stored('archived-pretty') =
       replace(regexp_replace(body, '"tags": \{[^}]*\}', '"tags": {"customer":"globex","region":"eu-central","tier":"gold"}'),
               '"updated_at": "2026-01-09T03:04:05.678Z"',
               '"updated_at": ' || to_json(stored('archived-pretty')::jsonb->>'updated_at')::text)
       AS layout_kept
FROM fixture WHERE name = 'archived-pretty';

-- running, completed and expired fixtures are not pending
SELECT name, regress_error(format('SELECT oq_update_tags(%L, %L, %L)', 'w_fixtures', id, '{"x": "y"}'), true)
FROM fixture WHERE name IN ('running-leased', 'completed-with-output', 'expired') ORDER BY name;

-- a submitted task has the members of pending-with-tags, each of the same
-- JSON type, with the same defaults; it reads back like the fixture
SELECT oq_submit('w_fixtures', 'resize_image', '{"image_id": "img-80412", "width": 640}',
                 '{"customer": "northwind", "region": "eu-central", "priority": "low",
                   "batch_id": "batch-2026-03-14"}') AS new_id \gset
SELECT convert_from(oq_get_object('w_fixtures', 'tasks/' || left(:'new_id', 1) || '/' || :'new_id' || '.json'), 'UTF8')::jsonb AS new_task \gset
SELECT coalesce(f.k, s.k) AS member, f.t AS fixture_type, s.t AS submitted_type
FROM (SELECT k, jsonb_typeof(body::jsonb->k) t FROM fixture, jsonb_object_keys(body::jsonb) k
      WHERE name = 'pending-with-tags') f
FULL JOIN (SELECT k, jsonb_typeof(:'new_task'::jsonb->k) t FROM jsonb_object_keys(:'new_task'::jsonb) k) s
  ON f.k = s.k
WHERE f.t IS DISTINCT FROM s.t;
SELECT count(*) AS members FROM jsonb_object_keys(:'new_task'::jsonb);
SELECT (:'new_task'::jsonb - 'id' - 'shard' - 'created_at' - 'available_at' - 'updated_at') =
       (body::jsonb - 'id' - 'shard' - 'created_at' - 'available_at' - 'updated_at') AS same_as_fixture
FROM fixture WHERE name = 'pending-with-tags';
SELECT t.tags = f.body::jsonb->'tags' AS tags_ok, t.status, t.retry_policy = f.body::jsonb->'retry_policy' AS policy_ok
FROM w_fixtures.tasks t, fixture f WHERE t.id = :'new_id' AND f.name = 'pending-with-tags';

DROP FUNCTION stored(text);
DROP FUNCTION update_fixture(text, jsonb);
