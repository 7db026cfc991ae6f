--
-- tag_update: oq_update_tags and oq_remove_tags change only the tags and
-- updated_at of a pending task -- every other byte of the object stays,
-- unknown members and numbers beyond 64 bits included -- and refuse tasks
-- that are not pending (55000), missing (P0002) or not valid task objects.
--
\getenv endpoint OQ_TEST_ENDPOINT
\getenv region OQ_TEST_REGION
\getenv access_key_id OQ_TEST_ACCESS_KEY_ID
\getenv secret OQ_TEST_SECRET_ACCESS_KEY
CREATE SERVER w_update FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-w-update', endpoint :'endpoint', region :'region');
CREATE USER MAPPING FOR CURRENT_USER SERVER w_update
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
CREATE SCHEMA w_update;
IMPORT FOREIGN SCHEMA oq FROM SERVER w_update INTO w_update;

-- tasks as other writers left them (ids fixed: they appear in messages)
CREATE TEMP TABLE seed (name text PRIMARY KEY, id text, body text);
INSERT INTO seed VALUES
('pending', 'c1a2b3c4-0000-4000-8000-000000000001', $${
  "id": "c1a2b3c4-0000-4000-8000-000000000001",
  "shard" : "c",
  "task_type": "ledger",
  "input": {"big": 123456789012345678901234567890, "dec": 0.10000000000000000555, "esc": "caf\u00e9 \ud83d\ude00"},
  "output": null,
  "tags": {"customer": "acme", "region": "us-west"},
  "status": "pending",
  "created_at": "2026-01-28T09:15:02Z",
  "available_at": "2026-01-28T09:15:03.5Z",
  "updated_at": "2026-01-28T09:15:04.123456789Z",
  "future_field": {"nested": [1, 2.50, null]},
  "priority": 7
}
$$),
('running', 'c1a2b3c4-0000-4000-8000-000000000002',
 '{"id":"c1a2b3c4-0000-4000-8000-000000000002","shard":"c","task_type":"t","input":{},"status":"running","created_at":"2026-01-28T09:15:02Z","available_at":"2026-01-28T09:15:02Z","updated_at":"2026-01-28T09:15:02Z","lease_expires_at":"2026-01-28T09:25:00Z","lease_id":"9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b","worker_id":"worker-01","tags":{"a":"1"}}'),
('completed', 'c1a2b3c4-0000-4000-8000-000000000003',
 '{"id":"c1a2b3c4-0000-4000-8000-000000000003","shard":"c","task_type":"t","input":{},"output":{"ok":true},"status":"completed","created_at":"2026-01-28T09:15:02Z","available_at":"2026-01-28T09:15:02Z","updated_at":"2026-01-28T09:15:02Z","completed_at":"2026-01-28T09:16:00Z","tags":{"a":"1"}}'),
('legacy', 'c1a2b3c4-0000-4000-8000-000000000004',
 '{"id":"c1a2b3c4-0000-4000-8000-000000000004","shard":"c","task_type":"t","input":{"n":1e400},"created_at":"2025-12-01T08:00:00Z","available_at":"2025-12-01T08:00:00Z","updated_at":"2025-12-01T08:00:00.5Z" }'),
('malformed', 'c1a2b3c4-0000-4000-8000-000000000005',
 '{"id":"c1a2b3c4-0000-4000-8000-000000000005","shard":"c","task_type":'),
('wrong_id', 'c1a2b3c4-0000-4000-8000-000000000006',
 '{"id":"c1a2b3c4-0000-4000-8000-00000000000f","shard":"c","task_type":"t","input":{},"created_at":"2026-01-28T09:15:02Z","available_at":"2026-01-28T09:15:02Z","updated_at":"2026-01-28T09:15:02Z"}');
SELECT name, oq_put_object('w_update', 'tasks/c/' || id || '.json', convert_to(body, 'UTF8')) = md5(body) AS stored
FROM seed ORDER BY name;
CREATE FUNCTION stored(name text) RETURNS text LANGUAGE sql AS $$
  SELECT convert_from(oq_get_object('w_update', 'tasks/c/' || s.id || '.json'), 'UTF8')
  FROM seed s WHERE s.name = stored.name $$;
CREATE FUNCTION etag_of(name text) RETURNS text LANGUAGE sql AS $$
  SELECT (oq_head_object('w_update', 'tasks/c/' || s.id || '.json')).etag
  FROM seed s WHERE s.name = etag_of.name $$;
SELECT id AS pending_id FROM seed WHERE name = 'pending' \gset

-- merge: a new tag and a changed one; the result is returned
SELECT oq_stats_reset();
SELECT oq_update_tags('w_update', :'pending_id', '{"priority": "high", "region": "eu"}');
SELECT name, value FROM oq_stats() WHERE name IN ('tag_updates', 'requests_get', 'precondition_failed')
ORDER BY name;

-- only the tags' and updated_at's values changed; updated_at is now, by
-- the S3 server's clock, in the format's Z form
SELECT stored('pending')::jsonb->>'updated_at' AS new_updated_at \gset
SELECT :'new_updated_at' ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$' AS z_form,
       abs(extract(epoch FROM :'new_updated_at'::timestamptz - clock_timestamp())) < 300 AS is_now;
SELECT stored('pending') =
       replace(replace(body, '{"customer": "acme", "region": "us-west"}',
                             '{"customer":"acme","region":"eu","priority":"high"}'),
               '"2026-01-28T09:15:04.123456789Z"', to_json(:'new_updated_at'::text)::text)
       AS only_tags_and_updated_at_changed
FROM seed WHERE name = 'pending';
SELECT status, tags, input, updated_at > created_at AS updated_later
FROM w_update.tasks WHERE id = :'pending_id';

-- remove: present and absent keys; the order of the others is kept
SELECT oq_remove_tags('w_update', :'pending_id', ARRAY['region', 'absent']);
SELECT stored('pending')::jsonb->'tags' AS stored_tags,
       strpos(stored('pending'), '"tags": {"customer":"acme","priority":"high"}') > 0 AS spliced;

-- a change that changes nothing writes nothing: same ETag, same updated_at
SELECT etag_of('pending') AS etag_before, stored('pending')::jsonb->>'updated_at' AS upd_before \gset
SELECT oq_stats_reset();
SELECT oq_remove_tags('w_update', :'pending_id', ARRAY['absent']);
SELECT oq_update_tags('w_update', :'pending_id', '{"priority": "high"}');
SELECT oq_update_tags('w_update', :'pending_id', '{}');
SELECT etag_of('pending') = :'etag_before' AS etag_unchanged,
       stored('pending')::jsonb->>'updated_at' = :'upd_before' AS updated_at_unchanged;
SELECT name, value FROM oq_stats() WHERE name IN ('requests_put', 'tag_updates')
ORDER BY name;

-- a task written before tags existed gets a tags member, the rest stays
-- (1e400 is beyond any double)
SELECT oq_update_tags('w_update', id::uuid, '{"batch_id": "b-1"}') FROM seed WHERE name = 'legacy';
SELECT stored('legacy') =
       replace(body, '"updated_at":"2025-12-01T08:00:00.5Z" }',
               '"updated_at":' || to_json(stored('legacy')::jsonb->>'updated_at')::text ||
               ',"tags":{"batch_id":"b-1"} }') AS tags_member_added
FROM seed WHERE name = 'legacy';

-- tasks that are not pending: the message says the status; nothing changes
SELECT etag_of('running') AS running_etag \gset
SELECT regress_error(format('SELECT oq_update_tags(%L, %L, %L)', 'w_update', id, '{"b": "2"}'), true)
FROM seed WHERE name IN ('running', 'completed') ORDER BY name;
SELECT regress_error(format('SELECT oq_remove_tags(%L, %L, %L)', 'w_update', id, '{a}'), true)
FROM seed WHERE name IN ('running', 'completed') ORDER BY name;
SELECT etag_of('running') = :'running_etag' AS running_unchanged;
\set VERBOSITY default
SELECT oq_update_tags('w_update', 'c1a2b3c4-0000-4000-8000-000000000002', '{"b": "2"}');

-- a task that does not exist: the message names it
SELECT oq_update_tags('w_update', 'c1a2b3c4-0000-4000-8000-000000000009', '{"b": "2"}');
SELECT regress_error($$SELECT oq_remove_tags('w_update', 'c1a2b3c4-0000-4000-8000-000000000009', '{a}')$$);

-- objects that are not valid tasks are reported, not rewritten
SELECT regress_error(format('SELECT oq_update_tags(%L, %L, %L)', 'w_update', id, '{"b": "2"}'), true)
FROM seed WHERE name IN ('malformed', 'wrong_id') ORDER BY name;

-- the id is a uuid: nothing else can reach the key
SELECT regress_error($$SELECT oq_update_tags('w_update', '../../etc', '{}')$$);

-- NULL arguments: strict functions
SELECT oq_update_tags('w_update', NULL, '{}') IS NULL AS null_id,
       oq_remove_tags('w_update', :'pending_id', NULL) IS NULL AS null_keys;

DROP FUNCTION stored(text);
DROP FUNCTION etag_of(text);
