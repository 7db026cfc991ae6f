--
-- history: a task submitted, retagged twice and claimed reads as the
-- tagging specification's "oq history" example; without versioning, only
-- the current version.
--
\getenv endpoint OQ_TEST_ENDPOINT
\getenv region OQ_TEST_REGION
\getenv access_key_id OQ_TEST_ACCESS_KEY_ID
\getenv secret OQ_TEST_SECRET_ACCESS_KEY

CREATE SERVER history FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-history', endpoint :'endpoint', region :'region');
CREATE USER MAPPING FOR CURRENT_USER SERVER history
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');

SELECT oq_submit('history', 'process_order', '{"order_id": "12345"}',
                 tags => '{"customer": "acme-corp"}') AS id \gset
SELECT oq_update_tags('history', :'id', '{"priority": "critical"}');
SELECT oq_remove_tags('history', :'id', ARRAY['priority']);
-- a worker claims it, then completes it
CREATE FUNCTION worker_writes(task uuid, change jsonb) RETURNS boolean LANGUAGE sql AS $$
  SELECT oq_put_object('history', k,
           convert_to((convert_from(oq_get_object('history', k), 'UTF8')::jsonb || change)::text, 'UTF8'))
         IS NOT NULL
  FROM (SELECT 'tasks/' || left(task::text, 1) || '/' || task || '.json' AS k) s
$$;
SELECT worker_writes(:'id', '{"status": "running", "worker_id": "worker-7f3a", "attempt": 1}');
SELECT worker_writes(:'id', '{"status": "completed", "output": {"ok": true}}');

SELECT version, is_latest, status, tags, change,
       version_id IS NOT NULL AS has_version_id, last_modified IS NOT NULL AS has_time
FROM oq_task_history('history', :'id');

-- a failure, a cancellation, a release for retry
SELECT oq_submit('history', 'send_email') AS id2 \gset
SELECT worker_writes(:'id2', '{"status": "running", "worker_id": "w-2"}');
SELECT worker_writes(:'id2', '{"status": "pending", "retry_count": 1, "worker_id": null}');
SELECT worker_writes(:'id2', '{"status": "running", "worker_id": "w-3"}');
SELECT worker_writes(:'id2', '{"status": "failed", "last_error": "Permanent error: card declined"}');
SELECT version, status, change FROM oq_task_history('history', :'id2');

-- no such task
SELECT regress_error($$SELECT * FROM oq_task_history('history', '00000000-0000-4000-8000-000000000000')$$);

-- a bucket without versioning: the current version, and why
SELECT oq_submit('regress', 'send_email', tags => '{"customer": "globex"}') AS id3 \gset
SELECT oq_update_tags('regress', :'id3', '{"priority": "low"}');
SELECT version, version_id, is_latest, status, tags, change FROM oq_task_history('regress', :'id3');

DROP FUNCTION worker_writes;
DROP SERVER history CASCADE;
