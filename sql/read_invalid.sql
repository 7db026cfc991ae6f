--
-- read_invalid: objects under tasks/ that are not valid tasks stop a scan
-- with an error naming the key and the problem, or, with on_invalid
-- 'skip', are skipped with one warning.
--
\getenv shared OQ_SHARED_DIR
\getenv endpoint OQ_TEST_ENDPOINT
\getenv region OQ_TEST_REGION
\getenv access_key_id OQ_TEST_ACCESS_KEY_ID
\getenv secret OQ_TEST_SECRET_ACCESS_KEY

CREATE SERVER invalid FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-invalid', endpoint :'endpoint', region :'region');
CREATE USER MAPPING FOR CURRENT_USER SERVER invalid
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
CREATE SCHEMA inv;
IMPORT FOREIGN SCHEMA oq FROM SERVER invalid INTO inv;

-- one good task, the two bad fixtures, and objects that are no tasks
SELECT oq_put_object('invalid', key,
                     pg_read_binary_file(:'shared' || '/testdata/tasks/' || name || '.json')) IS NOT NULL
FROM (VALUES ('tasks/0/0a6f3c52-7d1e-4b8a-9c2f-3e4d5a6b7c8d.json', 'pending-with-tags'),
             ('tasks/a/a0e7d6fc-1b18-4f24-96c9-d2e1f4a5b6c7.json', 'malformed'),
             ('tasks/b/b1f8e70d-2c29-4035-a7da-e3f2a5b6c7d8.json', 'wrong-types'),
             ('tasks/c/not-a-task.txt', 'failed'),
             ('tasks/d/d3a17096-b152-4fce-b063-7c8b9eafb0c1.json', 'failed'))
     AS v(key, name);

-- each problem, alone (an id lookup reads one object)
SELECT * FROM inv.tasks WHERE id = 'a0e7d6fc-1b18-4f24-96c9-d2e1f4a5b6c7';
SELECT * FROM inv.tasks WHERE id = 'b1f8e70d-2c29-4035-a7da-e3f2a5b6c7d8';
SELECT * FROM inv.tasks WHERE id = 'd3a17096-b152-4fce-b063-7c8b9eafb0c1';
SELECT regress_error($$SELECT * FROM inv.tasks WHERE id = 'b1f8e70d-2c29-4035-a7da-e3f2a5b6c7d8'$$);

-- a full scan stops at the first (whichever the concurrent GETs meet first)
SELECT regress_error('SELECT count(*) FROM inv.tasks') LIKE 'HV004: cannot read task object "tasks/%' AS stops;

-- on_invalid 'skip': one warning with the count (the first key varies)
ALTER FOREIGN TABLE inv.tasks OPTIONS (ADD on_invalid 'skip');
\set VERBOSITY terse
SELECT id, status FROM inv.tasks;
\set VERBOSITY default
SELECT value AS skipped FROM oq_stats() WHERE name = 'invalid_tasks_skipped';

DROP SCHEMA inv CASCADE;
DROP SERVER invalid CASCADE;
