--
-- test/demo.sql - the headline queries test/demo shows, run against the
-- sample tasks test/gen_tasks.py loaded into moto.  test/demo passes the
-- connection settings in the environment; \getenv reads them.
--
\set ON_ERROR_STOP on
\pset footer off
\getenv endpoint OQ_TEST_ENDPOINT
\getenv region OQ_TEST_REGION
\getenv bucket OQ_DEMO_BUCKET
\getenv access_key_id OQ_TEST_ACCESS_KEY_ID
\getenv secret OQ_TEST_SECRET_ACCESS_KEY

-- Statements are echoed from here on, except the user mapping: ECHO shows a
-- statement after variable substitution, which would print the secret.
\set ECHO queries
CREATE EXTENSION oq_fdw;
CREATE SERVER demo FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket :'bucket', endpoint :'endpoint', region :'region');
\set ECHO none
CREATE USER MAPPING FOR CURRENT_USER SERVER demo
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
\echo '-- CREATE USER MAPPING FOR CURRENT_USER SERVER demo OPTIONS (access_key_id ..., secret_access_key ...);'
\set ECHO queries

\echo
\echo '-- demo queries will appear here as the read path lands'
