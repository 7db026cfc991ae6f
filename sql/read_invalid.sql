--
-- read_invalid: objects under tasks/ that are not valid tasks stop a scan
-- with an error naming the key and the problem, or, with on_invalid
-- 'skip', are skipped with one warning.
--
\getenv fixtures OQ_TEST_FIXTURES
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

-- one good task, the two bad fixtures, and objects that are no tasks (one
-- not named like a task, one a valid task stored under another id's key)
SELECT oq_put_object('invalid', key,
                     pg_read_binary_file(:'fixtures' || '/' || name || '.json')) IS NOT NULL
FROM (VALUES ('tasks/5/5e21c9d4-8b3a-4f67-a0d2-71c4e9b83f15.json', 'pending-with-tags'),
             ('tasks/a/a4f7c2e9-6b08-4d31-9e5a-b7c0d3f81e26.json', 'malformed'),
             ('tasks/b/b3e9a6f0-4d25-4c87-a1b8-0f6e2c9d5a34.json', 'wrong-types'),
             ('tasks/c/not-a-task.txt', 'failed'),
             ('tasks/4/4af0c1d2-5e6b-4a7c-8d9e-0f1a2b3c4d5e.json', 'failed'))
     AS v(key, name);

-- each problem, alone (an id lookup reads one object)
SELECT * FROM inv.tasks WHERE id = 'a4f7c2e9-6b08-4d31-9e5a-b7c0d3f81e26';
SELECT * FROM inv.tasks WHERE id = 'b3e9a6f0-4d25-4c87-a1b8-0f6e2c9d5a34';
SELECT * FROM inv.tasks WHERE id = '4af0c1d2-5e6b-4a7c-8d9e-0f1a2b3c4d5e';
SELECT regress_error($$SELECT * FROM inv.tasks WHERE id = 'b3e9a6f0-4d25-4c87-a1b8-0f6e2c9d5a34'$$, true);

-- a full scan stops at the first (whichever the concurrent GETs meet first)
SELECT regress_error('SELECT count(*) FROM inv.tasks') LIKE 'HV004: could not read task object "tasks/%' AS stops;

-- on_invalid 'skip': one warning with the count (the first key varies)
ALTER FOREIGN TABLE inv.tasks OPTIONS (ADD on_invalid 'skip');
\set VERBOSITY terse
SELECT id, status FROM inv.tasks;
\set VERBOSITY default
SELECT value AS skipped FROM oq_stats() WHERE name = 'invalid_tasks_skipped';

DROP SCHEMA inv CASCADE;
DROP SERVER invalid CASCADE;
