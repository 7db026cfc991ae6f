--
-- security: who may aim oq_fdw where, and what reaches a request header.
-- The server's own identity (use_server_environment) needs an environment
-- the cluster is restarted with: test/py/test_identity.py tests that.
--
\getenv endpoint OQ_TEST_ENDPOINT
\getenv region OQ_TEST_REGION
\getenv access_key_id OQ_TEST_ACCESS_KEY_ID
\getenv secret OQ_TEST_SECRET_ACCESS_KEY
CREATE ROLE regress_oq_alice;
GRANT USAGE ON FOREIGN DATA WRAPPER oq_fdw TO regress_oq_alice;

-- A role with USAGE on the wrapper may create servers, but not choose the
-- host the database server connects to or a file it reads (42501, naming
-- the option), neither when creating nor when altering a server
SET ROLE regress_oq_alice;
CREATE SERVER sec_endpoint FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-regress', endpoint 'http://169.254.169.254');
CREATE SERVER sec_sts FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-regress', assume_role_arn 'arn:aws:iam::123456789012:role/r',
           sts_endpoint 'http://127.0.0.1:1');
CREATE SERVER sec_ca FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-regress', ca_file '/etc/passwd');
SELECT regress_error($$CREATE SERVER sec_endpoint FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-regress', endpoint 'http://127.0.0.1:1')$$);
-- her own server on AWS's default endpoint: allowed, and she may not
-- repoint it either
CREATE SERVER sec_alice FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-regress', region 'eu-west-1');
ALTER SERVER sec_alice OPTIONS (ADD endpoint 'http://127.0.0.1:1');
ALTER SERVER sec_alice OPTIONS (ADD ca_file '/etc/passwd');
ALTER SERVER sec_alice OPTIONS (ADD assume_role_arn 'arn:aws:iam::123456789012:role/r',
                                ADD sts_endpoint 'http://127.0.0.1:1');
ALTER SERVER sec_alice OPTIONS (SET region 'eu-west-2');
RESET ROLE;

-- a server a superuser made and gave her: she may not repoint it, and
-- while it has an endpoint she cannot alter its other options either
CREATE SERVER sec_given FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-regress', endpoint :'endpoint', region :'region');
ALTER SERVER sec_given OWNER TO regress_oq_alice;
SET ROLE regress_oq_alice;
ALTER SERVER sec_given OPTIONS (SET endpoint 'http://169.254.169.254');
ALTER SERVER sec_given OPTIONS (ADD max_retries '1');
-- dropping the endpoint leaves AWS's default one: allowed
ALTER SERVER sec_given OPTIONS (DROP endpoint);
SELECT srvoptions FROM pg_foreign_server WHERE srvname = 'sec_given';
RESET ROLE;

-- a superuser may set all three
CREATE SERVER sec_super FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-regress', endpoint 'http://127.0.0.1:1', ca_file '/nonexistent/ca.pem',
           assume_role_arn 'arn:aws:iam::123456789012:role/r', sts_endpoint 'http://127.0.0.1:1');
DROP SERVER sec_super;

-- The region is spliced into the default endpoint's host name: AWS's
-- syntax only
CREATE SERVER sec_bad FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-regress', region 'evil.example.com/x');
CREATE SERVER sec_bad FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-regress', region 'US-EAST-1');
CREATE SERVER sec_bad FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-regress', region '-x');
-- An endpoint is scheme://host[:port]: a path, query, user name or
-- fragment would be signed into the Host header, or go elsewhere
CREATE SERVER sec_bad FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-regress', endpoint 'http://127.0.0.1:9000/bucket');
CREATE SERVER sec_bad FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-regress', endpoint 'http://127.0.0.1:9000?x=1');
CREATE SERVER sec_bad FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-regress', endpoint 'http://a@127.0.0.1:9000');
CREATE SERVER sec_bad FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-regress', endpoint 'http://127.0.0.1:9000#f');
CREATE SERVER sec_bad FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-regress', sts_endpoint 'http://127.0.0.1:9000/sts',
           assume_role_arn 'arn:aws:iam::123456789012:role/r');
-- a trailing slash is no path
CREATE SERVER sec_slash FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-regress', endpoint 'http://127.0.0.1:9000/');
DROP SERVER sec_slash;

-- Header injection: no option value and no argument that becomes a header
-- may hold a control character (22023, without echoing the value)
CREATE USER MAPPING FOR regress_oq_alice SERVER sec_alice
  OPTIONS (access_key_id E'AKIA\r\nX-Injected: 1', secret_access_key 'x');
CREATE USER MAPPING FOR regress_oq_alice SERVER sec_alice
  OPTIONS (access_key_id 'AKIA', secret_access_key 'x', session_token E'tok\nen');
CREATE SERVER sec_bad FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-regress', role_session_name E'a\tb',
           assume_role_arn 'arn:aws:iam::123456789012:role/r');
SELECT regress_error($$SELECT oq_put_object('regress', 'sec/x', 'x', E'"abc"\r\nX-Injected: 1')$$);
SELECT regress_error($$SELECT oq_put_object('regress', 'sec/x', 'x', E'abc\x01')$$);
SELECT regress_error($$SELECT oq_put_object('regress', 'sec/x', 'x', '')$$);
-- nothing of the above was written
SELECT count(*) AS written FROM oq_list_objects('regress', 'sec/');
-- a value that got past the validator (a catalog written directly, as by
-- an older version) is refused when the header is built, naming the
-- header, not the value; the failed request leaves nothing behind
CREATE SERVER sec_raw FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-regress', endpoint :'endpoint', region :'region');
CREATE USER MAPPING FOR CURRENT_USER SERVER sec_raw
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
UPDATE pg_user_mapping SET umoptions = umoptions || E'session_token=tok\r\nX-Injected: 1'::text
WHERE umserver = (SELECT oid FROM pg_foreign_server WHERE srvname = 'sec_raw');
SELECT oq_get_object('sec_raw', 'sec/x');
SELECT count(*) FROM oq_list_objects('sec_raw', 'sec/');
SELECT oq_get_object('sec_raw', 'sec/x');
DROP USER MAPPING FOR CURRENT_USER SERVER sec_raw;
DROP SERVER sec_raw;

-- Raw object functions need USAGE on the server and run with the
-- caller's own user mapping
CREATE USER MAPPING FOR regress_oq_alice SERVER regress
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
SET ROLE regress_oq_alice;
SELECT regress_error($$SELECT oq_get_object('regress', 'sec/x')$$);
SELECT regress_error($$SELECT count(*) FROM oq_list_objects('regress', 'sec/')$$);
SELECT regress_error($$SELECT oq_task_history('regress', gen_random_uuid())$$);
RESET ROLE;
GRANT USAGE ON FOREIGN SERVER regress TO regress_oq_alice;
SET ROLE regress_oq_alice;
SELECT count(*) AS listed FROM oq_list_objects('regress', 'sec/');
-- writing raw objects is for superusers unless granted
SELECT regress_error($$SELECT oq_put_object('regress', 'sec/x', 'x')$$);
RESET ROLE;

-- What PUBLIC may run
SELECT p.proname, has_function_privilege('regress_oq_alice', p.oid, 'EXECUTE') AS public_may_run
FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'oq_fdw'
ORDER BY 1, 2;

DROP SERVER sec_given, sec_alice CASCADE;
REVOKE USAGE ON FOREIGN SERVER regress FROM regress_oq_alice;
REVOKE USAGE ON FOREIGN DATA WRAPPER oq_fdw FROM regress_oq_alice;
-- roles are the cluster's: leave none behind (test/run runs the suites
-- again, against Ceph RGW, in another database of the same cluster)
DROP USER MAPPING FOR regress_oq_alice SERVER regress;
DROP ROLE regress_oq_alice;
