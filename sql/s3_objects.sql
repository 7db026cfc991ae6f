--
-- s3_objects: the S3 client end to end, through the raw object functions,
-- against moto checking every signature.
--
\getenv endpoint OQ_TEST_ENDPOINT
\getenv region OQ_TEST_REGION
\getenv access_key_id OQ_TEST_ACCESS_KEY_ID
\getenv secret OQ_TEST_SECRET_ACCESS_KEY

-- keys that need encoding in the path and in listing queries
CREATE TEMP TABLE raw_keys (key text);
INSERT INTO raw_keys VALUES
  ('raw/plain.txt'), ('raw/with space.txt'), ('raw/100%.txt'),
  ('raw/a+b=c.txt'), ('raw/Café/東京.txt'), ('raw/tilde~and/../dots'),
  ('raw/q?uery#frag&amp;'), ('raw/%2F is not a slash');
SELECT key, oq_put_object('regress', key, convert_to('body of ' || key, 'UTF8'))
            = md5('body of ' || key) AS etag_is_md5
FROM raw_keys ORDER BY key;

-- listed back exactly (encoding-type=url decoded), and read back exactly
SELECT l.key, l.size = octet_length(convert_to('body of ' || l.key, 'UTF8')) AS size_ok,
       l.etag = md5('body of ' || l.key) AS etag_ok,
       l.last_modified > now() - interval '1 hour' AS recent
FROM oq_list_objects('regress', 'raw/') l ORDER BY l.key;
SELECT k.key, convert_from(oq_get_object('regress', k.key), 'UTF8') = 'body of ' || k.key AS round_trip
FROM raw_keys k ORDER BY k.key;

-- pages of three: the continuation tokens are signed and sent canonically
SELECT oq_stats_reset();
SELECT count(*) FROM oq_list_objects('regress', 'raw/', page_size => 3);
SELECT value AS list_requests FROM oq_stats() WHERE name = 'requests_list';

-- delimiter and start_after
SELECT key, etag IS NULL AS is_prefix FROM oq_list_objects('regress', 'raw/', delimiter => '/') ORDER BY key;
SELECT key FROM oq_list_objects('regress', 'raw/', start_after => 'raw/q') ORDER BY key;
SELECT count(*) FROM oq_list_objects('regress', 'nothing-here/');

-- conditional writes: If-None-Match on an existing key, If-Match on a stale ETag
\set VERBOSITY terse
SELECT oq_put_object('regress', 'raw/plain.txt', 'again', if_none_match => '*');
SELECT oq_put_object('regress', 'raw/plain.txt', 'v2', if_match => md5('not the body'));
SELECT convert_from(oq_get_object('regress', 'raw/plain.txt'), 'UTF8') AS unchanged;
\set VERBOSITY default
SELECT oq_put_object('regress', 'raw/plain.txt', 'v2',
                     if_match => (SELECT etag FROM oq_head_object('regress', 'raw/plain.txt')))
       = md5('v2') AS if_match_ok;
SELECT oq_put_object('regress', 'raw/new.txt', 'new', if_none_match => '*') = md5('new') AS created;
SELECT oq_put_object('regress', 'raw/new.txt', 'new', if_none_match => 'etag');

-- head and missing keys
SELECT etag = md5('new') AS etag_ok, size, last_modified IS NOT NULL AS has_time
FROM oq_head_object('regress', 'raw/new.txt');
SELECT oq_get_object('regress', 'raw/missing') IS NULL AS missing_is_null;
SELECT * FROM oq_head_object('regress', 'raw/missing');

-- delete
SELECT count(oq_delete_object('regress', key)) FROM oq_list_objects('regress', 'raw/');
SELECT count(*) FROM oq_list_objects('regress', 'raw/');
SELECT oq_delete_object('regress', 'raw/never-existed');

-- version listing, on a bucket with versioning, paged
CREATE SERVER regress_v FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-regress-versioned', endpoint :'endpoint', region :'region');
CREATE USER MAPPING FOR CURRENT_USER SERVER regress_v
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
SELECT oq_put_object('regress_v', 'v/a b+c', convert_to('version ' || i, 'UTF8')) = md5('version ' || i)
FROM generate_series(1, 3) i;
SELECT oq_put_object('regress_v', 'v/other', 'x') = md5('x');
SELECT key, count(*) AS versions, count(*) FILTER (WHERE is_latest) AS latest,
       count(DISTINCT version_id) AS distinct_ids
FROM oq_list_object_versions('regress_v', 'v/', page_size => 2) GROUP BY key ORDER BY key;

-- virtual-host style: bucket.host (curl resolves *.localhost to 127.0.0.1)
SELECT replace(:'endpoint', '127.0.0.1', 'localhost') AS vhost_endpoint \gset
CREATE SERVER regress_vhost FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-regress', endpoint :'vhost_endpoint', region :'region', url_style 'virtual');
CREATE USER MAPPING FOR CURRENT_USER SERVER regress_vhost
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
SELECT oq_put_object('regress_vhost', 'vhost/a b+c.txt', 'virtual') = md5('virtual') AS stored;
SELECT key FROM oq_list_objects('regress_vhost', 'vhost/', page_size => 1);
SELECT convert_from(oq_get_object('regress', 'vhost/a b+c.txt'), 'UTF8') AS read_path_style;
SELECT oq_delete_object('regress_vhost', 'vhost/a b+c.txt');
DROP SERVER regress_vhost CASCADE;

-- a bucket that does not exist
CREATE SERVER regress_nobucket FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-no-such-bucket', endpoint :'endpoint', region :'region');
CREATE USER MAPPING FOR CURRENT_USER SERVER regress_nobucket
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
\set VERBOSITY terse
SELECT * FROM oq_list_objects('regress_nobucket');
\set VERBOSITY default

-- nothing listens here: a connection error, after the configured retries
CREATE SERVER regress_closed FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-regress', endpoint 'http://127.0.0.1:9', max_retries '1',
           connect_timeout_ms '500');
-- (the SQLSTATE and our words; what follows the bucket is libcurl's, which
-- words it differently from one release to the next)
DO $$
BEGIN
  PERFORM oq_get_object('regress_closed', 'x');
EXCEPTION WHEN OTHERS THEN
  RAISE NOTICE '%: %', SQLSTATE, regexp_replace(SQLERRM, '(in bucket "[^"]*"): .*', '\1: ...');
END
$$;

DROP SERVER regress_v CASCADE;
DROP SERVER regress_nobucket CASCADE;
DROP SERVER regress_closed CASCADE;
