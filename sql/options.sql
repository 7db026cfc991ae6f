--
-- options: the validator accepts what the SQL contract lists and refuses
-- everything else with a clear message.
--
\set VERBOSITY default

-- a server needs a bucket, and a valid one
CREATE SERVER bad FOREIGN DATA WRAPPER oq_fdw;
CREATE SERVER bad FOREIGN DATA WRAPPER oq_fdw OPTIONS (bucket 'No_Such');
CREATE SERVER bad FOREIGN DATA WRAPPER oq_fdw OPTIONS (bucket 'ok-bucket', bukket 'x');

-- credentials are refused outside user mappings, with a hint
CREATE SERVER bad FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'ok-bucket', secret_access_key 'not-here');

-- ranges, booleans, enumerations, URLs
CREATE SERVER bad FOREIGN DATA WRAPPER oq_fdw OPTIONS (bucket 'ok-bucket', shard_prefix_len '5');
CREATE SERVER bad FOREIGN DATA WRAPPER oq_fdw OPTIONS (bucket 'ok-bucket', shard_prefix_len 'two');
CREATE SERVER bad FOREIGN DATA WRAPPER oq_fdw OPTIONS (bucket 'ok-bucket', max_concurrency '0');
CREATE SERVER bad FOREIGN DATA WRAPPER oq_fdw OPTIONS (bucket 'ok-bucket', tag_index 'perhaps');
CREATE SERVER bad FOREIGN DATA WRAPPER oq_fdw OPTIONS (bucket 'ok-bucket', url_style 'sideways');
CREATE SERVER bad FOREIGN DATA WRAPPER oq_fdw OPTIONS (bucket 'ok-bucket', endpoint 'ftp://x');
CREATE SERVER bad FOREIGN DATA WRAPPER oq_fdw OPTIONS (bucket 'ok-bucket', endpoint 'http://user@host');
CREATE SERVER bad FOREIGN DATA WRAPPER oq_fdw OPTIONS (bucket 'ok-bucket', region '');

-- a role to assume with AWS STS: the syntax AWS accepts, checked up front,
-- and the options that only make sense with it
CREATE SERVER bad FOREIGN DATA WRAPPER oq_fdw OPTIONS (bucket 'ok-bucket', assume_role_arn 'queue-reader');
CREATE SERVER bad FOREIGN DATA WRAPPER oq_fdw OPTIONS (bucket 'ok-bucket', external_id 'ext-1');
CREATE SERVER bad FOREIGN DATA WRAPPER oq_fdw OPTIONS (bucket 'ok-bucket',
  assume_role_arn 'arn:aws:iam::123456789012:role/r', external_id 'x');
CREATE SERVER bad FOREIGN DATA WRAPPER oq_fdw OPTIONS (bucket 'ok-bucket',
  assume_role_arn 'arn:aws:iam::123456789012:role/r', role_session_name 'has space');
CREATE SERVER bad FOREIGN DATA WRAPPER oq_fdw OPTIONS (bucket 'ok-bucket',
  assume_role_arn 'arn:aws:iam::123456789012:role/r', sts_endpoint 'sts.amazonaws.com');

-- the SQLSTATEs of the contract
SELECT regress_error($$CREATE SERVER bad FOREIGN DATA WRAPPER oq_fdw OPTIONS (bucket 'ok-bucket', bukket 'x')$$);
SELECT regress_error($$CREATE SERVER bad FOREIGN DATA WRAPPER oq_fdw OPTIONS (bucket 'ok-bucket', max_retries '101')$$);
SELECT regress_error($$CREATE SERVER bad FOREIGN DATA WRAPPER oq_fdw OPTIONS (region 'x')$$);
SELECT regress_error($$CREATE SERVER bad FOREIGN DATA WRAPPER oq_fdw OPTIONS (bucket 'ok-bucket', request_deadline_ms '0')$$);

-- every server option at once is fine
CREATE SERVER good FOREIGN DATA WRAPPER oq_fdw OPTIONS (
  bucket 'ok-bucket', endpoint 'http://127.0.0.1:1/', region 'eu-west-1',
  url_style 'virtual', shard_prefix_len '2', tag_index 'off',
  max_concurrency '8', max_retries '0', connect_timeout_ms '100',
  request_timeout_ms '200', request_deadline_ms '500', ca_file '/nonexistent.pem', batch_size '50',
  assume_role_arn 'arn:aws:iam::123456789012:role/queue-reader', external_id 'ext-4711',
  role_session_name 'oq-regress', sts_endpoint 'http://127.0.0.1:1/');
ALTER SERVER good OPTIONS (SET shard_prefix_len '0');
ALTER SERVER good OPTIONS (DROP assume_role_arn);
ALTER SERVER good OPTIONS (DROP bucket);

-- user mappings take credentials and nothing else
CREATE USER MAPPING FOR CURRENT_USER SERVER good OPTIONS (bucket 'x');
CREATE USER MAPPING FOR CURRENT_USER SERVER good
  OPTIONS (access_key_id 'AKIDEXAMPLE', secret_access_key 'wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY',
           session_token 'token');

-- only a superuser may let a mapping use the server's environment
CREATE ROLE oq_regress_user;
GRANT USAGE ON FOREIGN SERVER good TO oq_regress_user;
SET ROLE oq_regress_user;
CREATE USER MAPPING FOR CURRENT_USER SERVER good OPTIONS (use_server_environment 'true');
CREATE USER MAPPING FOR CURRENT_USER SERVER good OPTIONS (use_server_environment 'false');
-- nor see anyone else's secrets
SELECT usename, umoptions FROM pg_user_mappings WHERE srvname = 'good' ORDER BY 1;
RESET ROLE;

-- table and column options
CREATE FOREIGN TABLE t_bad (id uuid) SERVER good OPTIONS (on_invalid 'ignore');
CREATE FOREIGN TABLE t_bad (id uuid) SERVER good OPTIONS (bucket 'x');
CREATE FOREIGN TABLE t_bad (id uuid OPTIONS (name 'x')) SERVER good;
CREATE FOREIGN TABLE t_good (ident uuid OPTIONS (field 'id'), status text)
  SERVER good OPTIONS (on_invalid 'skip', batch_size '10', parallel_workers '2');

-- IMPORT FOREIGN SCHEMA knows one remote schema, and passes table options on
CREATE SCHEMA imp;
IMPORT FOREIGN SCHEMA public FROM SERVER good INTO imp;
IMPORT FOREIGN SCHEMA oq FROM SERVER good INTO imp OPTIONS (on_invalid 'skip');
\d imp.tasks
IMPORT FOREIGN SCHEMA oq EXCEPT (tasks) FROM SERVER good INTO imp;
DROP SCHEMA imp CASCADE;
IMPORT FOREIGN SCHEMA oq LIMIT TO (nothing) FROM SERVER good INTO public;
SELECT count(*) FROM pg_foreign_table ft JOIN pg_class c ON c.oid = ft.ftrelid
  WHERE c.relname = 'tasks' AND c.relnamespace = 'public'::regnamespace;

-- functions refuse servers of other wrappers, and need USAGE
CREATE FOREIGN DATA WRAPPER other_fdw;
CREATE SERVER other FOREIGN DATA WRAPPER other_fdw;
SELECT oq_get_object('other', 'x');
SELECT oq_get_object('no_such_server', 'x');
REVOKE USAGE ON FOREIGN SERVER good FROM oq_regress_user;
SET ROLE oq_regress_user;
SELECT oq_get_object('good', 'x');
RESET ROLE;

DROP FOREIGN TABLE t_good;
DROP SERVER other;
DROP FOREIGN DATA WRAPPER other_fdw;
DROP USER MAPPING FOR oq_regress_user SERVER good;
DROP USER MAPPING FOR CURRENT_USER SERVER good;
DROP SERVER good;
DROP ROLE oq_regress_user;
