#!/usr/bin/env python3
"""UPDATE on the foreign table under concurrency, and in bulk.

A worker's change between the UPDATE's scan and its write is made
deterministic with test/s3proxy.py ("before forwarding the next PUT of this
task, claim it").  PostgreSQL's rule for a concurrently updated row is to
evaluate the WHERE clause (and the SET) again on the new version: a claimed
task no longer matches "status = 'pending'" and is left alone, never
overwritten; a concurrently added tag is kept by a SET that reads tags.

Bulk: INSERT of 500 rows lands 500 tasks with their index entries; an
UPDATE of the batch by tag changes exactly the pending ones."""
import json
import os
import subprocess

from oqtest import Checks, SqlError, psql, s3, value
from s3proxy import S3Proxy

BUCKET = "oq-update-races"
c = Checks()
proxy = S3Proxy(os.environ["OQ_TEST_ENDPOINT"]).start()
psql("""
\\getenv region OQ_TEST_REGION
\\getenv key OQ_TEST_ACCESS_KEY_ID
\\getenv secret OQ_TEST_SECRET_ACCESS_KEY
CREATE SERVER up FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket '%s', endpoint '%s', region :'region');
CREATE USER MAPPING FOR CURRENT_USER SERVER up OPTIONS (access_key_id :'key', secret_access_key :'secret');
CREATE SCHEMA up;
IMPORT FOREIGN SCHEMA oq FROM SERVER up INTO up;
""" % (BUCKET, proxy.endpoint))
client = s3()


def key(tid):
    return "tasks/%s/%s.json" % (tid[0], tid)


def key_re(tid):
    return "^" + key(tid).replace(".", r"\.") + "$"


def stored(tid):
    return json.loads(client.get_object(Bucket=BUCKET, Key=key(tid))["Body"].read())


def submit(tags):
    return value("SELECT oq_submit('up', 'race', tags => '%s')" % json.dumps(tags))


CLAIM = {"set": {"status": "running", "worker_id": "worker-9", "attempt": 1}}

# 1. with RETURNING (one row at a time): the claimed task is left alone
tid = submit({"customer": "acme"})
proxy.arm({"method": "PUT", "key": key_re(tid), "mutate": CLAIM})
rows = psql("UPDATE up.tasks SET tags = tags || '{\"priority\": \"high\"}' "
            "WHERE id = '%s' AND status = 'pending' RETURNING id" % tid)
t = stored(tid)
c.check(rows == [], "a task claimed during the UPDATE no longer matches: 0 rows returned")
c.check(t["status"] == "running" and t["worker_id"] == "worker-9" and t["tags"] == {"customer": "acme"},
        "the claim stands, untouched: %s %s" % (t["status"], t["tags"]))

# 2. without RETURNING (pipelined): the same, and a NOTICE says so
tid = submit({"customer": "acme"})
proxy.arm({"method": "PUT", "key": key_re(tid), "mutate": CLAIM})
p = subprocess.run(["psql", "-X", "-v", "ON_ERROR_STOP=1", "-c",
                    "UPDATE up.tasks SET tags = tags || '{\"priority\": \"high\"}' "
                    "WHERE id = '%s' AND status = 'pending'" % tid],
                   capture_output=True, text=True)
t = stored(tid)
c.check(p.returncode == 0 and "changed concurrently and no longer matched" in p.stderr,
        "pipelined UPDATE reports the skipped row: %s" % p.stderr.strip().splitlines()[:1])
c.check(t["status"] == "running" and "priority" not in t["tags"], "and the claim stands")

# 3. no status condition: evaluated again, the task is not pending: 55000
tid = submit({"customer": "acme"})
proxy.arm({"method": "PUT", "key": key_re(tid), "mutate": CLAIM})
try:
    psql("UPDATE up.tasks SET tags = tags || '{\"priority\": \"high\"}' WHERE id = '%s' RETURNING id" % tid)
    err = None
except SqlError as e:
    err = e
c.check(err is not None and err.sqlstate == "55000", "an UPDATE of a just-claimed task fails with 55000: %s" % err)
c.check(stored(tid)["status"] == "running", "and the claim stands")

# 4. a tag another writer added meanwhile is kept: SET is evaluated again
tid = submit({"customer": "acme"})
proxy.arm({"method": "PUT", "key": key_re(tid), "mutate": {"tags": {"reviewer": "bob"}}})
rows = psql("UPDATE up.tasks SET tags = tags || '{\"priority\": \"high\"}' WHERE id = '%s' RETURNING tags" % tid)
t = stored(tid)
c.check(t["tags"] == {"customer": "acme", "reviewer": "bob", "priority": "high"},
        "both changes are kept: %s" % t["tags"])
c.check(len(rows) == 1 and json.loads(rows[0][0]) == t["tags"], "RETURNING shows what is stored")

# 5. UPDATE ... FROM cannot be evaluated again here: 40001
tid = submit({"customer": "acme"})
proxy.arm({"method": "PUT", "key": key_re(tid), "mutate": {"tags": {"reviewer": "bob"}}})
try:
    psql("CREATE TABLE IF NOT EXISTS px (p text); INSERT INTO px VALUES ('x');"
         "UPDATE up.tasks t SET tags = t.tags || jsonb_build_object('p', v.p) "
         "FROM px v WHERE t.id = '%s' RETURNING t.id" % tid)
    err = None
except SqlError as e:
    err = e
c.check(err is not None and err.sqlstate == "40001", "UPDATE ... FROM on a changed task: 40001 (%s)" % err)
c.check(stored(tid)["tags"] == {"customer": "acme", "reviewer": "bob"}, "the other writer's change stands")
proxy.disarm()

# 6. bulk: 500 rows in one INSERT
rows = psql("SELECT oq_stats_reset();"
            "INSERT INTO up.tasks (task_type, input, tags) "
            "SELECT 'bulk', jsonb_build_object('n', n), jsonb_build_object('batch_id', 'bulk-1') "
            "FROM generate_series(1, 500) n;"
            "SELECT value FROM oq_stats() WHERE name = 'tasks_submitted'")
c.check(rows[-1] == ["500"], "500 tasks submitted (%s)" % rows[-1])
ids = [r[0] for r in psql("SELECT id FROM up.tasks WHERE tags->>'batch_id' = 'bulk-1'")]
c.check(len(ids) == 500 and len(set(ids)) == 500, "500 distinct tasks found through the index")
entries = value("SELECT count(*) FROM oq_list_objects('up', 'tags/batch_id/bulk-1/')")
c.check(entries == "500", "500 index entries (%s)" % entries)
sample = stored(ids[0])
c.check(sample["status"] == "pending" and sample["task_type"] == "bulk" and sample["retry_count"] == 0
        and sample["tags"] == {"batch_id": "bulk-1"}, "a bulk task is a proper pending task")

# workers claim 50 of them; the UPDATE changes exactly the other 450
for tid in ids[:50]:
    t = stored(tid)
    t.update(status="running", worker_id="worker-1")
    client.put_object(Bucket=BUCKET, Key=key(tid), Body=json.dumps(t).encode())
out = subprocess.run(["psql", "-X", "-v", "ON_ERROR_STOP=1", "-c",
                      "UPDATE up.tasks SET tags = tags || '{\"priority\": \"critical\"}' "
                      "WHERE tags->>'batch_id' = 'bulk-1' AND status = 'pending'"],
                     capture_output=True, text=True)
c.check(out.stdout.strip() == "UPDATE 450", "UPDATE of the pending ones: %s" % out.stdout.strip())
got = {r[0]: r[1] for r in psql("SELECT id, status FROM up.tasks "
                                "WHERE tags @> '{\"batch_id\": \"bulk-1\", \"priority\": \"critical\"}'")}
c.check(len(got) == 450 and set(got.values()) == {"pending"} and not set(got) & set(ids[:50]),
        "exactly the 450 pending tasks carry the new tag")
proxy.stop()
c.done()
