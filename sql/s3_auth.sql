--
-- s3_auth: S3 rejects a wrong secret, and the error says so clearly
-- without quoting any credential.  Needs moto in signature-verifying mode
-- (test/run leaves this suite out, with a notice, when it is not).
--
\getenv endpoint OQ_TEST_ENDPOINT
\getenv region OQ_TEST_REGION
\getenv access_key_id OQ_TEST_ACCESS_KEY_ID
\getenv secret OQ_TEST_SECRET_ACCESS_KEY

CREATE SERVER regress_badkey FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-regress', endpoint :'endpoint', region :'region');
CREATE USER MAPPING FOR CURRENT_USER SERVER regress_badkey
  OPTIONS (access_key_id :'access_key_id', secret_access_key 'wrong-secret-0123456789');

-- the message, SQLSTATE and detail, checked without printing volatile ids
DO $$
DECLARE
  state text; msg text; detail text; hint text;
BEGIN
  PERFORM * FROM oq_list_objects('regress_badkey', 'tasks/');
  RAISE EXCEPTION 'listing with a wrong secret succeeded';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                          detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
  RAISE NOTICE 'sqlstate %: %', state, msg;
  RAISE NOTICE 'detail has the request id: %', detail LIKE '%Request id %';
  RAISE NOTICE 'hint: %', hint;
  RAISE NOTICE 'no secret anywhere: %',
    position('wrong-secret' IN msg || detail || hint) = 0;
END $$;

-- the right secret on the same bucket works (the server is fine)
SELECT count(*) >= 0 AS listed FROM oq_list_objects('regress', 'tasks/');

-- an unknown access key id
ALTER USER MAPPING FOR CURRENT_USER SERVER regress_badkey
  OPTIONS (SET access_key_id 'AKIANOTAKEY000000000');
\set VERBOSITY terse
SELECT count(*) FROM oq_list_objects('regress_badkey', 'tasks/');
\set VERBOSITY default

DROP SERVER regress_badkey CASCADE;
