--
-- read_robust: what the queue's workers accept never stops a scan of other
-- columns.  A value PostgreSQL cannot hold (\u0000 in a string, a
-- timeout_seconds beyond bigint) is an error only where a query reads it,
-- naming the key and the field; on_invalid 'skip' skips such a task there.
-- What the workers refuse (an unpaired surrogate escape in a field they
-- read) is an invalid task, as before.  A missing bucket is never a
-- missing task.  oq_task_history() labels an unversioned task by what it is.
--
\getenv endpoint OQ_TEST_ENDPOINT
\getenv region OQ_TEST_REGION
\getenv access_key_id OQ_TEST_ACCESS_KEY_ID
\getenv secret OQ_TEST_SECRET_ACCESS_KEY

CREATE SERVER robust FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-robust', endpoint :'endpoint', region :'region');
CREATE USER MAPPING FOR CURRENT_USER SERVER robust
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
CREATE SCHEMA rb;
IMPORT FOREIGN SCHEMA oq FROM SERVER robust INTO rb;

-- a stored task: its key from its id, the body from a template and members
CREATE FUNCTION put_task(id uuid, members text) RETURNS boolean LANGUAGE sql AS $$
  SELECT oq_put_object('robust', 'tasks/' || left(id::text, 1) || '/' || id || '.json',
    convert_to('{"id":"' || id || '","shard":"' || left(id::text, 1) ||
               '","task_type":"t","created_at":"2026-01-01T00:00:00Z",' ||
               '"available_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"' ||
               CASE WHEN members LIKE '%"input":%' THEN '' ELSE ',"input":{}' END ||
               members || '}', 'UTF8')) IS NOT NULL
$$;

-- a failed task whose worker error holds \u0000, and a plain one
SELECT put_task('10000000-0000-4000-8000-000000000001',
                $$,"status":"failed","last_error":"boom\u0000tail"$$);
SELECT put_task('20000000-0000-4000-8000-000000000002', $$,"status":"pending"$$);

-- counted, listed, and only reading last_error fails, naming key and field
SELECT count(*) FROM rb.tasks;
SELECT id, status FROM rb.tasks ORDER BY id;
SELECT id, status FROM rb.tasks WHERE status = 'failed';
SELECT last_error FROM rb.tasks WHERE id = '10000000-0000-4000-8000-000000000001';
SELECT id, last_error FROM rb.tasks ORDER BY id;
SELECT regress_error('SELECT last_error FROM rb.tasks');
SELECT id FROM rb.tasks WHERE last_error IS NULL ORDER BY id;

-- every field the workers read as a string or as any JSON may hold \u0000
SELECT put_task('30000000-0000-4000-8000-000000000003',
                $$,"status":"pending","worker_id":"w\u0000","cancelled_by":"x\u0000",$$ ||
                $$"output":{"k\u0000":"v"},"tags":{"team":"ops","k":"v\u0000"},$$ ||
                $$"extra":"\u0000","odd\u0000name":1,$$ ||
                $$"timeout_seconds":18446744073709551615$$);
SELECT id, status, task_type, created_at FROM rb.tasks WHERE id = '30000000-0000-4000-8000-000000000003';
SELECT regress_error($$SELECT worker_id FROM rb.tasks WHERE id = '30000000-0000-4000-8000-000000000003'$$);
SELECT regress_error($$SELECT cancelled_by FROM rb.tasks WHERE id = '30000000-0000-4000-8000-000000000003'$$);
SELECT regress_error($$SELECT output FROM rb.tasks WHERE id = '30000000-0000-4000-8000-000000000003'$$);
SELECT regress_error($$SELECT tags FROM rb.tasks WHERE id = '30000000-0000-4000-8000-000000000003'$$);
SELECT regress_error($$SELECT timeout_seconds FROM rb.tasks WHERE id = '30000000-0000-4000-8000-000000000003'$$);
-- a tag condition reads tags
SELECT regress_error($$SELECT id FROM rb.tasks WHERE tags->>'team' = 'ops'$$);
-- \u0000 in a key of input, and a value of input
SELECT put_task('40000000-0000-4000-8000-000000000004',
                $$,"status":"completed","input":{"a\u0000b":[1,"\u0000"]}$$);
SELECT regress_error($$SELECT input FROM rb.tasks WHERE id = '40000000-0000-4000-8000-000000000004'$$);

-- columns of other types read what they can hold: json keeps the escape,
-- numeric the u64, text the JSON text of an object
CREATE FOREIGN TABLE rb.other (id uuid, input json, output text,
                               timeout_seconds numeric, extra json)
  SERVER robust;
SELECT id, input, output, timeout_seconds, extra FROM rb.other ORDER BY id;
-- ... and a narrower one what it cannot, naming it
CREATE FOREIGN TABLE rb.narrow (id uuid, timeout_seconds integer) SERVER robust
  OPTIONS (on_invalid 'skip');
SELECT id, timeout_seconds FROM rb.narrow ORDER BY id;
-- a column named for the unknown member holding \u0000, as text
CREATE FOREIGN TABLE rb.extra (id uuid, extra text) SERVER robust;
SELECT regress_error('SELECT extra FROM rb.extra');

-- on_invalid 'skip': tasks whose read columns cannot be held are skipped
ALTER FOREIGN TABLE rb.tasks OPTIONS (ADD on_invalid 'skip');
SELECT id, last_error FROM rb.tasks ORDER BY id;
SELECT id, input FROM rb.tasks ORDER BY id;
SELECT count(*) FROM rb.tasks;
ALTER FOREIGN TABLE rb.tasks OPTIONS (DROP on_invalid);

-- a tag update cannot keep a tag text cannot hold: refused, task unchanged
SELECT regress_error($$SELECT oq_update_tags('robust', '30000000-0000-4000-8000-000000000003', '{"x": "y"}')$$, true);
SELECT regress_error($$SELECT oq_update_tags('robust', '10000000-0000-4000-8000-000000000001', '{"x": "y"}')$$, true);

-- what the workers refuse: an unpaired surrogate in a field they read
SELECT put_task('50000000-0000-4000-8000-000000000005',
                $$,"status":"failed","last_error":"bad\ud800"$$);
SELECT regress_error($$SELECT id FROM rb.tasks WHERE id = '50000000-0000-4000-8000-000000000005'$$, true);
SELECT put_task('50000000-0000-4000-8000-000000000005',
                $$,"status":"failed","input":{"k":"\udc00"}$$);
SELECT regress_error($$SELECT id FROM rb.tasks WHERE id = '50000000-0000-4000-8000-000000000005'$$, true);
-- ... but not in a member they do not know: valid, unreadable as json
SELECT put_task('50000000-0000-4000-8000-000000000005',
                $$,"status":"failed","extra":"\ud800 alone"$$);
SELECT id, status FROM rb.tasks WHERE id = '50000000-0000-4000-8000-000000000005';
SELECT regress_error($$SELECT extra FROM rb.other WHERE id = '50000000-0000-4000-8000-000000000005'$$);
SELECT oq_delete_object('robust', 'tasks/5/50000000-0000-4000-8000-000000000005.json');

-- history: the only version of an unversioned task says what it is
SELECT version, status, change FROM oq_task_history('robust', '10000000-0000-4000-8000-000000000001');
SELECT version, status, change FROM oq_task_history('robust', '20000000-0000-4000-8000-000000000002');
SELECT put_task('60000000-0000-4000-8000-000000000006',
                $$,"status":"running","worker_id":"w-9","tags":{"team":"ops"}$$);
SELECT version, status, tags, change FROM oq_task_history('robust', '60000000-0000-4000-8000-000000000006');

DROP SCHEMA rb CASCADE;
DROP FUNCTION put_task;
DROP SERVER robust CASCADE;

--
-- While the queue changes its shard_prefix_len, keys of two lengths stand
-- side by side.  Each task is read once; the key of the server's length
-- wins, for listings and id lookups alike.  A tag change rewrites the task
-- where it is stored.
--
CREATE SERVER shards FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-robust-shards', endpoint :'endpoint', region :'region',
           shard_prefix_len '2', tag_index 'on');
CREATE USER MAPPING FOR CURRENT_USER SERVER shards
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
CREATE SERVER shards1 FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-robust-shards', endpoint :'endpoint', region :'region');
CREATE USER MAPPING FOR CURRENT_USER SERVER shards1
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
CREATE SCHEMA sh;
IMPORT FOREIGN SCHEMA oq FROM SERVER shards INTO sh;
CREATE SCHEMA sh1;
IMPORT FOREIGN SCHEMA oq FROM SERVER shards1 INTO sh1;
CREATE FUNCTION put_at(shard_len int, id uuid, status text) RETURNS boolean LANGUAGE sql AS $$
  SELECT oq_put_object('shards', 'tasks/' || left(id::text, shard_len) || '/' || id || '.json',
    convert_to('{"id":"' || id || '","shard":"' || left(id::text, shard_len) ||
               '","task_type":"t","input":{},"status":"' || status ||
               '","created_at":"2026-01-01T00:00:00Z",' ||
               '"available_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}',
               'UTF8')) IS NOT NULL
$$;
-- a1.. only under the old length 1; b2.. under both (the old copy stale);
-- cd.. only under the new length 2; de.. under length 3
SELECT put_at(1, 'a1000000-0000-4000-8000-000000000001', 'pending'),
       put_at(1, 'b2000000-0000-4000-8000-000000000002', 'pending'),
       put_at(2, 'b2000000-0000-4000-8000-000000000002', 'running'),
       put_at(2, 'cd000000-0000-4000-8000-000000000003', 'completed'),
       put_at(3, 'de300000-0000-4000-8000-000000000004', 'failed');
SELECT key FROM oq_list_objects('shards', 'tasks/') ORDER BY key;

-- every task once; where there are two, the server's length wins
SELECT id, status FROM sh.tasks ORDER BY id;
SELECT count(*), count(DISTINCT id) FROM sh.tasks;
SELECT id, status FROM sh1.tasks ORDER BY id;
-- id lookups look under the other lengths when the server's key is missing
SELECT id, status FROM sh.tasks WHERE id = 'a1000000-0000-4000-8000-000000000001';
SELECT id, status FROM sh.tasks WHERE id = 'b2000000-0000-4000-8000-000000000002';
SELECT id, status FROM sh1.tasks WHERE id = 'b2000000-0000-4000-8000-000000000002';
SELECT id, status FROM sh.tasks
WHERE id IN ('a1000000-0000-4000-8000-000000000001', 'cd000000-0000-4000-8000-000000000003',
             'de300000-0000-4000-8000-000000000004', '0e000000-0000-4000-8000-00000000dead')
ORDER BY id;

-- a tag change rewrites the task where it is: no copy under the other length
SELECT oq_update_tags('shards', 'a1000000-0000-4000-8000-000000000001', '{"team": "ops"}');
SELECT key FROM oq_list_objects('shards', 'tasks/a') ORDER BY key;
SELECT convert_from(oq_get_object('shards', 'tasks/a/a1000000-0000-4000-8000-000000000001.json'), 'UTF8')::jsonb->'tags' AS stored_tags;
-- ... and the tag index finds it, its recheck reading the stored key
SELECT id, tags FROM sh.tasks WHERE tags->>'team' = 'ops';
SELECT version, status, change FROM oq_task_history('shards', 'a1000000-0000-4000-8000-000000000001');
-- UPDATE on the table, the same
UPDATE sh.tasks SET tags = tags || '{"via": "update"}'
WHERE id = 'a1000000-0000-4000-8000-000000000001' RETURNING id, tags;
SELECT key FROM oq_list_objects('shards', 'tasks/a') ORDER BY key;
SELECT convert_from(oq_get_object('shards', 'tasks/a/a1000000-0000-4000-8000-000000000001.json'), 'UTF8')::jsonb->'tags' AS stored_tags;
-- the copy the server's length wins is the one changed
SELECT oq_update_tags('shards1', 'b2000000-0000-4000-8000-000000000002', '{"team": "dev"}');
SELECT id, status, tags FROM sh1.tasks WHERE tags->>'team' = 'dev';
SELECT id, status, tags FROM sh.tasks WHERE id = 'b2000000-0000-4000-8000-000000000002';
-- a task under no length at all does not exist
SELECT regress_error($$SELECT oq_update_tags('shards', '0e000000-0000-4000-8000-00000000dead', '{"x": "y"}')$$);

DROP FUNCTION put_at;
DROP SCHEMA sh CASCADE;
DROP SCHEMA sh1 CASCADE;
DROP SERVER shards CASCADE;
DROP SERVER shards1 CASCADE;

--
-- A bucket that does not exist is said to be missing, whatever the
-- operation; no path takes it for a missing task.
--
CREATE SERVER typo FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-robust-typo', endpoint :'endpoint', region :'region');
CREATE USER MAPPING FOR CURRENT_USER SERVER typo
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
CREATE SCHEMA ty;
IMPORT FOREIGN SCHEMA oq FROM SERVER typo INTO ty;
SELECT regress_error('SELECT count(*) FROM ty.tasks');
SELECT regress_error($$SELECT * FROM ty.tasks WHERE id = '10000000-0000-4000-8000-000000000001'$$);
SELECT regress_error($$SELECT * FROM ty.tasks WHERE tags->>'team' = 'ops'$$);
SELECT regress_error($$SELECT oq_update_tags('typo', '10000000-0000-4000-8000-000000000001', '{"x": "y"}')$$);
SELECT regress_error($$SELECT oq_remove_tags('typo', '10000000-0000-4000-8000-000000000001', ARRAY['x'])$$);
SELECT regress_error($$UPDATE ty.tasks SET tags = '{}' WHERE id = '10000000-0000-4000-8000-000000000001'$$);
SELECT regress_error($$SELECT * FROM oq_task_history('typo', '10000000-0000-4000-8000-000000000001')$$);
SELECT regress_error($$SELECT oq_submit('typo', 't')$$);
SELECT regress_error($$INSERT INTO ty.tasks (task_type) VALUES ('t')$$);
SELECT regress_error($$SELECT oq_rebuild_tag_index('typo')$$);
SELECT regress_error($$SELECT oq_get_object('typo', 'tasks/1/x.json')$$);
SELECT regress_error($$SELECT oq_head_object('typo', 'tasks/1/x.json')$$);
SELECT regress_error($$SELECT * FROM oq_list_objects('typo', 'tasks/')$$);
SELECT regress_error($$SELECT oq_put_object('typo', 'x', '\x00')$$);
SELECT regress_error($$SELECT oq_delete_object('typo', 'x')$$);
-- the hint names the one thing to fix
CREATE FUNCTION error_hint(cmd text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  hint text;
BEGIN
  EXECUTE cmd;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS hint = PG_EXCEPTION_HINT;
  RETURN SQLSTATE || ': ' || hint;
END $$;
SELECT error_hint($$SELECT * FROM ty.tasks WHERE id = '10000000-0000-4000-8000-000000000001'$$);
SELECT error_hint($$SELECT oq_head_object('typo', 'tasks/1/x.json')$$);
-- in a bucket that exists, a missing key is a missing task
SELECT regress_error($$SELECT oq_update_tags('regress', '10000000-0000-4000-8000-00000000dead', '{"x": "y"}')$$);
SELECT oq_get_object('regress', 'tasks/1/missing.json') IS NULL AS get_null,
       oq_head_object('regress', 'tasks/1/missing.json') IS NULL AS head_null;
DROP FUNCTION error_hint;
DROP SCHEMA ty CASCADE;
DROP SERVER typo CASCADE;
