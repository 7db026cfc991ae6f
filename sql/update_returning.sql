--
-- update_returning: UPDATE ... RETURNING takes the direct path (a "Foreign
-- Update" node that scans, writes many rows at once and hands back each
-- row once written), or, where it cannot, the ordinary one (one row at a
-- time), and EXPLAIN says which and why.  Both return what was written.
--
\getenv endpoint OQ_TEST_ENDPOINT
\getenv region OQ_TEST_REGION
\getenv access_key_id OQ_TEST_ACCESS_KEY_ID
\getenv secret OQ_TEST_SECRET_ACCESS_KEY
CREATE SERVER returning_s FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-returning', endpoint :'endpoint', region :'region');
CREATE USER MAPPING FOR CURRENT_USER SERVER returning_s
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
CREATE SCHEMA rt;
IMPORT FOREIGN SCHEMA oq FROM SERVER returning_s INTO rt;

INSERT INTO rt.tasks (id, task_type, tags)
SELECT format('0e7e0000-0000-4000-8000-%s', lpad(n::text, 12, '0'))::uuid, 'ret',
       jsonb_build_object('n', n::text, 'step', 'a')
FROM generate_series(1, 12) n;

-- the direct path: the node evaluates the whole WHERE clause (the part
-- sent to S3 and the rest), the write's requests under "S3 Write Requests"
EXPLAIN (COSTS OFF)
UPDATE rt.tasks SET tags = tags || '{"seen": "1"}'
WHERE task_type = 'ret' AND length(tags->>'n') = 1 RETURNING id;
SELECT explain_analyze($q$UPDATE rt.tasks SET tags = tags || '{"seen": "1"}'
WHERE task_type = 'ret' AND length(tags->>'n') = 1 RETURNING id$q$);

-- every written row comes back, though it no longer matches the WHERE
-- clause; the row count is the rows written
WITH u AS (
  UPDATE rt.tasks SET tags = tags || '{"step": "bb"}'
  WHERE task_type = 'ret' AND length(tags->>'step') = 1 AND tags->>'n' IN ('1', '2', '3')
  RETURNING tags->>'n' AS n, tags->>'step' AS step, status
) SELECT * FROM u ORDER BY n;
WITH u AS (
  UPDATE rt.tasks SET tags = tags || '{"step": "c"}'
  WHERE task_type = 'ret' AND tags->>'step' <> 'c' RETURNING id
) SELECT count(*) AS updated FROM u;

-- RETURNING *: the row as stored, the same as a scan reads afterwards
CREATE TEMP TABLE returned AS
WITH u AS (
  UPDATE rt.tasks SET tags = tags - 'seen' WHERE task_type = 'ret' RETURNING *
) SELECT * FROM u;
SELECT count(*) AS returned,
       count(*) FILTER (WHERE r.tags ? 'seen') AS still_seen,
       count(*) FILTER (WHERE r IS DISTINCT FROM t) AS differ_from_a_scan,
       count(*) FILTER (WHERE r.updated_at <= r.created_at) AS not_updated
FROM returned r JOIN rt.tasks t USING (id);

-- expressions of the row, of other values, of system columns
UPDATE rt.tasks SET tags = jsonb_build_object('n', tags->>'n', 'x', ((tags->>'n')::int * 10)::text)
WHERE id = '0e7e0000-0000-4000-8000-000000000005'
RETURNING tableoid::regclass, tags, (tags->>'x')::int + 1 AS x1, etag = (
  SELECT etag FROM rt.tasks WHERE id = '0e7e0000-0000-4000-8000-000000000005') AS etag_is_stored;

-- a row that does not match returns nothing; a change that changes
-- nothing returns the row and writes nothing
SELECT explain_analyze($q$UPDATE rt.tasks SET tags = tags
WHERE id = '0e7e0000-0000-4000-8000-000000000005' RETURNING tags$q$);
UPDATE rt.tasks SET tags = '{}' WHERE id = '0e7e0000-0000-4000-8000-000000000099' RETURNING id;

-- a prepared statement, its generic plan: parameters in WHERE and SET
PREPARE retag(text, jsonb) AS
  UPDATE rt.tasks SET tags = tags || $2 WHERE tags->>'n' = $1 RETURNING tags->>'p' AS p;
SET plan_cache_mode = force_generic_plan;
EXECUTE retag('7', '{"p": "seven"}');
EXECUTE retag('8', '{"p": "eight"}');
RESET plan_cache_mode;
DEALLOCATE retag;

-- a failing row ends the statement with its error
UPDATE rt.tasks SET tags = NULL WHERE task_type = 'ret' RETURNING id;
UPDATE rt.tasks SET tags = tags || jsonb_build_object('bad', repeat('x', 300))
WHERE id = '0e7e0000-0000-4000-8000-000000000004' RETURNING id;

-- where the direct path cannot be taken, one row at a time, and why
CREATE TEMP TABLE other (n text);
INSERT INTO other VALUES ('2');
EXPLAIN (COSTS OFF)
UPDATE rt.tasks t SET tags = t.tags || '{"from": "other"}'
FROM other o WHERE t.tags->>'n' = o.n RETURNING t.id;
UPDATE rt.tasks t SET tags = t.tags || '{"from": "other"}'
FROM other o WHERE t.tags->>'n' = o.n RETURNING t.tags->>'from' AS from_other;
EXPLAIN (COSTS OFF)
UPDATE rt.tasks SET tags = tags || jsonb_build_object('r', random()::text) RETURNING id;
EXPLAIN (COSTS OFF)
UPDATE rt.tasks SET tags = tags || '{"s": "1"}'
WHERE tags->>'n' IN (SELECT n FROM other) RETURNING id;
CREATE FUNCTION rt.noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER noop BEFORE UPDATE ON rt.tasks FOR EACH ROW EXECUTE FUNCTION rt.noop();
EXPLAIN (COSTS OFF)
UPDATE rt.tasks SET tags = tags || '{"t": "1"}' WHERE tags->>'n' = '9' RETURNING id;
UPDATE rt.tasks SET tags = tags || '{"t": "1"}' WHERE tags->>'n' = '9' RETURNING tags->>'t' AS t;
DROP TRIGGER noop ON rt.tasks;
-- a security barrier view: its condition must be evaluated first
CREATE VIEW rt.ret_only WITH (security_barrier) AS
  SELECT * FROM rt.tasks WHERE task_type = 'ret';
EXPLAIN (COSTS OFF)
UPDATE rt.ret_only SET tags = tags || '{"v": "1"}' WHERE tags->>'n' = '10' RETURNING id;
UPDATE rt.ret_only SET tags = tags || '{"v": "1"}' WHERE tags->>'n' = '10' RETURNING tags->>'v' AS v;
-- without RETURNING: the ordinary path, writes in flight
EXPLAIN (COSTS OFF) UPDATE rt.tasks SET tags = tags || '{"u": "1"}' WHERE task_type = 'ret';

-- the other columns and DELETE are refused as on the ordinary path
UPDATE rt.tasks SET status = 'done' WHERE task_type = 'ret' RETURNING id;
DELETE FROM rt.tasks WHERE task_type = 'ret' RETURNING id;

DROP SERVER returning_s CASCADE;
DROP SCHEMA rt CASCADE;
