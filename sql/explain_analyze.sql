--
-- explain_analyze: what EXPLAIN ANALYZE and the counters say, each named
-- for what it counts.
--
-- INSERT and UPDATE show the S3 requests the writes made (the scan under
-- an UPDATE shows what it read):
-- a submit with n tags makes n + 2 PUTs; a tag change that adds a and
-- removes r entries makes a + 1 PUTs and r DELETEs (no GET: the scan's
-- version is in the task cache); a write that loses a race shows the
-- refused conditional PUT and the re-read.
--
\getenv endpoint OQ_TEST_ENDPOINT
\getenv region OQ_TEST_REGION
\getenv access_key_id OQ_TEST_ACCESS_KEY_ID
\getenv secret OQ_TEST_SECRET_ACCESS_KEY

CREATE SERVER explain_w FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-explain', endpoint :'endpoint', region :'region', batch_size '10',
           tag_index 'on');
CREATE USER MAPPING FOR CURRENT_USER SERVER explain_w
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
CREATE SCHEMA ew;
IMPORT FOREIGN SCHEMA oq FROM SERVER explain_w INTO ew;

-- the first write learns the S3 server's clock with a HEAD of the bucket
SELECT explain_analyze($q$INSERT INTO ew.tasks (task_type) VALUES ('first')$q$);

-- three tasks with two tags each: 3 x (2 entries + task + ready entry)
SELECT explain_analyze($q$INSERT INTO ew.tasks (task_type, tags)
SELECT 'e', jsonb_build_object('k', n::text, 'grp', 'g') FROM generate_series(1, 3) n$q$);

-- add a tag to each: 3 x (1 entry + task), without RETURNING (the writes
-- still in flight when the rows are done are counted too)
SELECT explain_analyze($q$UPDATE ew.tasks SET tags = tags || '{"extra": "x"}' WHERE task_type = 'e'$q$);

-- remove it again, with RETURNING (the direct path: one "Foreign Update"
-- node reads and writes): 3 x task PUT, 3 DELETEs of entries
SELECT explain_analyze($q$UPDATE ew.tasks SET tags = tags - 'extra' WHERE task_type = 'e' RETURNING tags->>'k'$q$);

-- a change that changes nothing writes nothing
SELECT explain_analyze($q$UPDATE ew.tasks SET tags = tags WHERE task_type = 'e'$q$);

-- a lost race: while the UPDATE computes the new tags, another writer
-- changes the task (once); the conditional PUT is refused (412), the
-- task is read again and the change made on the new version
CREATE TEMP TABLE raced (done boolean);
CREATE FUNCTION race_once(task uuid) RETURNS jsonb LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF NOT EXISTS (SELECT FROM raced) THEN
    INSERT INTO raced VALUES (true);
    PERFORM oq_update_tags('explain_w', task, '{"other": "writer"}');
  END IF;
  RETURN '{"mine": "yes"}';
END $$;
INSERT INTO ew.tasks (id, task_type, tags)
VALUES ('0e0e0e0e-0000-4000-8000-000000000001', 'race', '{"k": "r"}');
SELECT explain_analyze($q$UPDATE ew.tasks SET tags = tags || race_once(id)
WHERE id = '0e0e0e0e-0000-4000-8000-000000000001'$q$);
SELECT tags FROM ew.tasks WHERE id = '0e0e0e0e-0000-4000-8000-000000000001';

-- other formats: every counter, by name (read from the JSON plan, whose
-- other properties vary between PostgreSQL versions)
CREATE FUNCTION explain_json(query text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  plan json;
BEGIN
  EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF, FORMAT JSON) ' || query INTO plan;
  RETURN plan::jsonb -> 0 -> 'Plan';
END $$;
SELECT key, value
FROM jsonb_each(explain_json($$UPDATE ew.tasks SET tags = tags - 'mine'
                              WHERE id = '0e0e0e0e-0000-4000-8000-000000000001'$$))
WHERE key LIKE 'S3 %' ORDER BY key;

-- without ANALYZE nothing is sent and no counter is shown
EXPLAIN (COSTS OFF) UPDATE ew.tasks SET tags = '{}' WHERE task_type = 'e';

-- DELETE is refused before any request
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) DELETE FROM ew.tasks;

-- an index scan: the entries its listing returned, the tasks they named
-- that still have the tag, and the stale entries (a task that lost the
-- tag, a task that is gone); the rows the other conditions keep are the
-- node's rows
SELECT oq_put_object('explain_w', 'tags/grp/g/0e0e0e0e-0000-4000-8000-000000000001', '') IS NOT NULL AS stale_1,
       oq_put_object('explain_w', 'tags/grp/g/0e0e0e0e-0000-4000-8000-0000000000ff', '') IS NOT NULL AS stale_2;
-- a new session: no task cache, and no row count from an earlier full
-- listing that would make a full scan look cheaper
\c
SELECT oq_stats_reset();
SELECT explain_analyze($q$SELECT tags->>'k' FROM ew.tasks WHERE tags->>'grp' = 'g' AND tags->>'k' <> '2'$q$);
-- (18 gives Actual Rows two decimals)
SELECT key, CASE key WHEN 'Actual Rows' THEN to_jsonb(round(value::text::numeric)) ELSE value END AS value
FROM jsonb_each(explain_json($$SELECT id FROM ew.tasks WHERE tags->>'grp' = 'g' AND tags->>'k' <> '2'$$))
WHERE key LIKE 'Tag Index %' OR key = 'Actual Rows' ORDER BY key;

-- oq_tag_stats(): per tag key, index queries (the two above), the
-- entries they listed (5 each) and the stale ones among them (2 each),
-- entries written and deleted; full listings whose conditions name no tag
-- key (task_type) count under none
UPDATE ew.tasks SET tags = tags || '{"extra2": "y"}' WHERE task_type = 'e';
UPDATE ew.tasks SET tags = tags - 'extra2' WHERE task_type = 'e' AND tags->>'k' <> '3';
SELECT * FROM oq_tag_stats() ORDER BY tag_key;

-- full_scans: a full listing whose conditions on tag keys the index could
-- not answer counts once under each key (presence holds for values that
-- are not strings, which have no entries; '5' is also the ->> of the
-- number 5); the index queries and writes above left it at 0
SELECT oq_stats_reset();
SELECT count(*) FROM ew.tasks WHERE tags ? 'grp' AND tags->>'k' = '5' AND tags ?| ARRAY['k', 'other'];
SELECT count(*) FROM ew.tasks WHERE tags->>'k' IS NOT NULL;
SELECT tag_key, index_queries, index_entries, index_stale, full_scans, index_writes, index_deletes
FROM oq_tag_stats() ORDER BY tag_key;

DROP FUNCTION race_once(uuid);
DROP FUNCTION explain_json(text);
DROP SERVER explain_w CASCADE;
DROP SCHEMA ew CASCADE;
