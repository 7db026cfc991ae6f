--
-- setup: the objects every later suite uses.  test/run exports the moto
-- endpoint and the test keys; \getenv reads them.  pg_regress echoes each
-- line as written (psql -a), so :'secret' appears unexpanded in the output:
-- never \echo a key or use it where an error message could quote it.
--
CREATE EXTENSION oq_fdw;
\getenv endpoint OQ_TEST_ENDPOINT
\getenv region OQ_TEST_REGION
\getenv access_key_id OQ_TEST_ACCESS_KEY_ID
\getenv secret OQ_TEST_SECRET_ACCESS_KEY
CREATE SERVER regress FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-regress', endpoint :'endpoint', region :'region');
CREATE USER MAPPING FOR CURRENT_USER SERVER regress
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
-- the environment reached psql (without printing it)
SELECT :'endpoint' LIKE 'http://127.0.0.1:%' AS endpoint_set,
       length(:'access_key_id') > 0 AS key_id_set,
       length(:'secret') > 0 AS secret_set;
SELECT srvname FROM pg_foreign_server ORDER BY 1;
SELECT count(*) AS user_mappings FROM pg_user_mappings WHERE srvname = 'regress';

-- SQLSTATE and message of a statement's error, for suites that check codes;
-- with_detail adds the error's detail, where the message puts the reason
CREATE FUNCTION regress_error(cmd text, with_detail boolean DEFAULT false)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  detail text;
BEGIN
  EXECUTE cmd;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
  RETURN SQLSTATE || ': ' || SQLERRM ||
    CASE WHEN with_detail AND detail <> '' THEN ' DETAIL: ' || detail ELSE '' END;
END $$;

-- EXPLAIN ANALYZE without what differs between PostgreSQL releases: buffers
-- (shown by default from 18), and 18's two decimals in the actual row count
CREATE FUNCTION explain_analyze(query text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
  line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF) ' || query
  LOOP
    RETURN NEXT regexp_replace(line, 'rows=(\d+)\.\d+', 'rows=\1');
  END LOOP;
END $$;
