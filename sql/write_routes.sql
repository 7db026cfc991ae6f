--
-- write_routes: writes that PostgreSQL routes to an oq_fdw table -- INSERT
-- and COPY into a partitioned parent with a foreign partition per queue,
-- COPY into the foreign table, UPDATE through the parent (the partition's
-- columns in another order than the parent's) -- and a bulk write cut
-- short by a bad row, whose error says what the statement stored.
--
\getenv endpoint OQ_TEST_ENDPOINT
\getenv region OQ_TEST_REGION
\getenv access_key_id OQ_TEST_ACCESS_KEY_ID
\getenv secret OQ_TEST_SECRET_ACCESS_KEY

CREATE SERVER routes_a FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-w-routes-a', endpoint :'endpoint', region :'region', batch_size '3');
CREATE SERVER routes_b FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-w-routes-b', endpoint :'endpoint', region :'region');
CREATE USER MAPPING FOR CURRENT_USER SERVER routes_a
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
CREATE USER MAPPING FOR CURRENT_USER SERVER routes_b
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
CREATE SCHEMA wr;

-- one queue per partition, by task_type; b's columns in another order
CREATE TABLE wr.jobs (id uuid, task_type text, status text, input jsonb,
  tags jsonb, etag text) PARTITION BY LIST (task_type);
CREATE FOREIGN TABLE wr.email PARTITION OF wr.jobs FOR VALUES IN ('email')
  SERVER routes_a;
CREATE FOREIGN TABLE wr.sms (etag text, tags jsonb, input jsonb, status text,
  task_type text, id uuid) SERVER routes_b;
ALTER TABLE wr.jobs ATTACH PARTITION wr.sms FOR VALUES IN ('sms');
SELECT attname, attnum FROM pg_attribute
WHERE attrelid = 'wr.sms'::regclass AND attnum > 0 ORDER BY attnum;

-- INSERT through the parent: each row routed to its queue
INSERT INTO wr.jobs (task_type, input, tags) VALUES
  ('email', '{"to": "a@example.com"}', '{"campaign": "spring"}'),
  ('sms', '{"to": "+1555"}', '{"campaign": "spring"}'),
  ('email', '{"to": "b@example.com"}', '{}');
INSERT INTO wr.jobs (task_type, input) VALUES ('sms', '{"to": "+1666"}')
RETURNING task_type, status, input, etag IS NOT NULL AS has_etag;
SELECT tableoid::regclass, task_type, status, input, tags FROM wr.jobs ORDER BY 1, input::text;
-- a row for a partition that does not exist, and a column a submit cannot set
INSERT INTO wr.jobs (task_type) VALUES ('fax');
INSERT INTO wr.jobs (task_type, status) VALUES ('email', 'running');

-- COPY through the parent, and straight into a foreign table (batches of 3)
COPY wr.jobs (task_type, input, tags) FROM stdin;
email	{"n": 1}	{"via": "copy"}
sms	{"n": 2}	{"via": "copy"}
email	{"n": 3}	{"via": "copy"}
\.
COPY wr.email (task_type, input, tags) FROM stdin;
email	{"n": 4}	{"via": "copy-direct"}
email	{"n": 5}	{"via": "copy-direct"}
email	{"n": 6}	{"via": "copy-direct"}
email	{"n": 7}	{"via": "copy-direct"}
\.
SELECT tableoid::regclass, tags->>'via' AS via, count(*), min(status) AS status
FROM wr.jobs WHERE tags ? 'via' GROUP BY 1, 2 ORDER BY 1, 2;
SELECT count(*) AS ready_entries FROM oq_list_objects('routes_a', 'ready/');
-- COPY refuses what INSERT refuses, naming the column or field (no
-- CONTEXT: from 16 on, COPY into a foreign table in batches names no line)
\set SHOW_CONTEXT never
COPY wr.email (task_type, status) FROM stdin;
email	running
\.
COPY wr.email (task_type, input) FROM stdin;
email	{"x": 1e400}
\.
\set SHOW_CONTEXT errors

-- UPDATE through the parent: tags of both queues' pending tasks
UPDATE wr.jobs SET tags = tags || '{"reviewed": "yes"}' WHERE tags->>'campaign' = 'spring';
SELECT tableoid::regclass, input, tags FROM wr.jobs
WHERE tags ? 'campaign' ORDER BY 1, input::text;
UPDATE wr.jobs SET tags = '{"only": "sms"}' WHERE task_type = 'sms' AND input->>'to' = '+1666'
RETURNING tableoid::regclass, task_type, tags, etag IS NOT NULL AS has_etag;
EXPLAIN (COSTS OFF) UPDATE wr.jobs SET tags = '{}' WHERE status = 'pending';
-- what UPDATE and DELETE refuse through the parent
UPDATE wr.jobs SET task_type = 'sms' WHERE task_type = 'email';
DELETE FROM wr.jobs WHERE task_type = 'sms';
INSERT INTO wr.jobs (task_type) VALUES ('email') ON CONFLICT DO NOTHING;
-- a row of a local partition moved into a queue would be a new task
CREATE TABLE wr.jobs_local PARTITION OF wr.jobs FOR VALUES IN ('local');
INSERT INTO wr.jobs_local (task_type, status) VALUES ('local', 'draft');
UPDATE wr.jobs SET task_type = 'email' WHERE task_type = 'local';
DROP TABLE wr.jobs_local;

-- an inheritance child, its columns in another order than its parent's
CREATE TABLE wr.base (id uuid, task_type text, status text, tags jsonb, etag text);
CREATE FOREIGN TABLE wr.child (tags jsonb, status text, etag text, task_type text, id uuid)
  SERVER routes_b;
ALTER FOREIGN TABLE wr.child INHERIT wr.base;
UPDATE wr.base SET tags = tags || '{"inherited": "yes"}' WHERE tags->>'campaign' = 'spring'
RETURNING tableoid::regclass, task_type, tags;

-- a bulk INSERT cut short by a bad row: batches of 3, the 8th row fails
-- its check before its batch is written; the error says what was stored
INSERT INTO wr.email (id, task_type, input)
SELECT format('0c0ffee0-0000-4000-8000-%s', lpad(n::text, 12, '0'))::uuid, 'email',
       CASE WHEN n = 8 THEN '{"x": 1e400}' ELSE jsonb_build_object('n', n) END::jsonb
FROM generate_series(1, 10) n;
SELECT id, input FROM wr.email
WHERE id::text LIKE '0c0ffee0-0000-4000-8000-%' ORDER BY id;
-- resuming after the last stored row stores the rest, no duplicate
INSERT INTO wr.email (id, task_type, input)
SELECT format('0c0ffee0-0000-4000-8000-%s', lpad(n::text, 12, '0'))::uuid, 'email',
       jsonb_build_object('n', n)
FROM generate_series(7, 10) n;
SELECT count(*), count(DISTINCT input) FROM wr.email
WHERE id::text LIKE '0c0ffee0-0000-4000-8000-%';
-- the same through COPY: the third row's id is taken
\set SHOW_CONTEXT never
COPY wr.email (id, task_type) FROM stdin;
0c0ffee0-0000-4000-8000-000000000101	email
0c0ffee0-0000-4000-8000-000000000102	email
0c0ffee0-0000-4000-8000-000000000001	email
0c0ffee0-0000-4000-8000-000000000103	email
\.
\set SHOW_CONTEXT errors
SELECT id FROM wr.email WHERE id::text LIKE '0c0ffee0-0000-4000-8000-0000000001%' ORDER BY id;
