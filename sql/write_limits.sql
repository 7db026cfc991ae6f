--
-- write_limits: nothing is stored that the queue's workers could not parse.
-- They read a task with serde_json into a struct: every JSON number must be
-- finite as a double, arrays and objects nest at most 127 levels counting
-- the task object (so input at most 126), max_retries is a u32 and
-- timeout_seconds a u64.  Each limit, at it and just past it, through
-- oq_submit and INSERT; UPDATE changes only tags (strings).
--
\getenv endpoint OQ_TEST_ENDPOINT
\getenv region OQ_TEST_REGION
\getenv access_key_id OQ_TEST_ACCESS_KEY_ID
\getenv secret OQ_TEST_SECRET_ACCESS_KEY

CREATE SERVER limits FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-w-limits', endpoint :'endpoint', region :'region');
CREATE USER MAPPING FOR CURRENT_USER SERVER limits
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
CREATE SCHEMA wl;
IMPORT FOREIGN SCHEMA oq FROM SERVER limits INTO wl;
-- counters declared wider than the format's: INSERT must still check them
CREATE FOREIGN TABLE wl.wide (id uuid, task_type text, input jsonb,
  max_retries bigint, timeout_seconds bigint) SERVER limits;

-- numbers: the largest finite double is stored; past it (either sign) is not
SELECT oq_submit('limits', 'num', '{"x": 1.7976931348623157e308, "y": -1e308, "z": 1e-400}') AS num_id \gset
SELECT (input->>'x')::float8 AS x, (input->>'y')::float8 AS y,
       (input->>'z')::numeric BETWEEN 0 AND 1e-399 AS z_tiny
FROM wl.tasks WHERE id = :'num_id';
SELECT regress_error($$SELECT oq_submit('limits', 'num', '{"x": 1e400}')$$);
SELECT regress_error($$SELECT oq_submit('limits', 'num', '{"x": [1, {"y": -1e400}]}')$$);
SELECT regress_error($$SELECT oq_submit('limits', 'num', '1.8e308')$$);
INSERT INTO wl.tasks (task_type, input) VALUES ('num', '{"deep": {"x": 1e309}}');
-- 1.7976931348623158e308 rounds to the largest double; ...159e308 to infinity
SELECT regress_error($$SELECT oq_submit('limits', 'num', '[1.7976931348623158e308]')$$);
SELECT regress_error($$SELECT oq_submit('limits', 'num', '[1.7976931348623159e308]')$$);

-- nesting: input of 126 levels is stored and reads back; 127 is refused
SELECT oq_submit('limits', 'deep', (repeat('[', 126) || repeat(']', 126))::jsonb) AS deep_id \gset
SELECT jsonb_typeof(input) AS kind, length(input::text) AS chars FROM wl.tasks
WHERE id = :'deep_id';
SELECT regress_error(format($$SELECT oq_submit('limits', 'deep', %L)$$,
                            repeat('[', 127) || repeat(']', 127)));
SELECT regress_error(format($$SELECT oq_submit('limits', 'deep', %L)$$,
                            repeat('{"a":', 127) || '1' || repeat('}', 127)));
INSERT INTO wl.tasks (id, task_type, input)
VALUES ('0c0ffee0-0000-4000-8000-00000000d126', 'deep',
        (repeat('{"a":', 125) || '[]' || repeat('}', 125))::jsonb);
SELECT length(input::text) FROM wl.tasks WHERE id = '0c0ffee0-0000-4000-8000-00000000d126';
INSERT INTO wl.tasks (task_type, input)
VALUES ('deep', (repeat('{"a":', 126) || '[]' || repeat('}', 126))::jsonb);
-- scalars and empty containers at the top count as they should
SELECT oq_submit('limits', 'scalar', '5') AS scalar_id \gset
SELECT input FROM wl.tasks WHERE id = :'scalar_id';

-- max_retries: a u32 for the workers
INSERT INTO wl.wide (id, task_type, max_retries)
VALUES ('0c0ffee0-0000-4000-8000-0000000000a1', 'retries', 4294967295);
SELECT max_retries FROM wl.wide WHERE id = '0c0ffee0-0000-4000-8000-0000000000a1';
INSERT INTO wl.wide (task_type, max_retries) VALUES ('retries', 4294967296);
INSERT INTO wl.wide (task_type, max_retries) VALUES ('retries', 5000000000);
INSERT INTO wl.wide (task_type, max_retries) VALUES ('retries', -1);
SELECT regress_error($$SELECT oq_submit('limits', 'retries', max_retries => -1)$$);
SELECT oq_submit('limits', 'retries', max_retries => 2147483647) AS retries_id \gset
SELECT max_retries FROM wl.wide WHERE id = :'retries_id';

-- timeout_seconds: a u64, so any bigint that is not negative
INSERT INTO wl.wide (id, task_type, timeout_seconds)
VALUES ('0c0ffee0-0000-4000-8000-0000000000a2', 'timeout', 9223372036854775807);
SELECT timeout_seconds FROM wl.wide WHERE id = '0c0ffee0-0000-4000-8000-0000000000a2';
INSERT INTO wl.wide (task_type, timeout_seconds) VALUES ('timeout', -1);
SELECT regress_error($$SELECT oq_submit('limits', 'timeout', timeout_seconds => -1)$$);
SELECT oq_submit('limits', 'timeout', timeout_seconds => 0) AS timeout_id \gset
SELECT timeout_seconds FROM wl.wide WHERE id = :'timeout_id';

-- UPDATE writes only tags, whose values are strings
UPDATE wl.tasks SET tags = '{"n": 1e400}' WHERE id = :'scalar_id';

-- nothing refused above reached the bucket
SELECT task_type, count(*) FROM wl.wide GROUP BY 1 ORDER BY 1;
