#!/usr/bin/env python3
"""test_write_paths.py - writes as producers and DBAs make them, through
test/s3proxy.py.

  1. A producer's credentials allow PutObject/GetObject on tasks/, tags/,
     ready/ but not s3:ListBucket: the proxy refuses every bucket-level
     request (HEAD bucket, listings) with 403 AccessDenied.  oq_submit,
     INSERT and oq_update_tags on a fresh connection (no clock sample yet)
     still work: the S3 clock comes from requests on the task's own key.
  2. UPDATE through a partitioned parent with one foreign partition per
     queue, the partitions' columns in other orders than the parent's,
     while another writer changes a task between the scan and the write:
     PostgreSQL's rule (evaluate WHERE and SET again on the new version)
     holds for the partition, with and without RETURNING.
  3. A bulk INSERT ... SELECT and a COPY cut short by statement_timeout:
     the error (57014) says how many tasks the statement stored and the
     last of them, and the bucket agrees (what was in flight is counted
     apart, as it may or may not have landed).
  4. No backend crashed.
"""
import json
import re

from faulttest import CrashWatch, fault_server, start_proxy
from oqtest import Checks, Session, psql, s3, slowness

c = Checks()
proxy = start_proxy()
client = s3()
watch = CrashWatch()
PRODUCER = "oq-w-producer"
BUCKET_A = "oq-w-routes-a"      # shared with sql/write_routes.sql: keys of its own
BUCKET_B = "oq-w-routes-b"


def key_of(tid):
    return "tasks/%s/%s.json" % (tid[0], tid)


def stored(bucket, tid):
    return json.loads(client.get_object(Bucket=bucket, Key=key_of(tid))["Body"].read())


def task_ids(bucket):
    ids = set()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="tasks/"):
        for o in page.get("Contents", []):
            ids.add(o["Key"].rsplit("/", 1)[1][:-len(".json")])
    return ids


# ---- 1. a producer without s3:ListBucket

fault_server("producer", PRODUCER, proxy, schema="wp")
proxy.arm({"key": "^$", "times": -1, "forward": False,
           "respond": {"status": 403, "code": "AccessDenied", "message": "no ListBucket"}})
s = Session()       # a new backend: its connection has no clock sample yet
tid = s.value("SELECT oq_submit('producer', 'p', '{\"n\": 1}', '{\"team\": \"a\"}')")
c.check(tid and stored(PRODUCER, tid)["status"] == "pending", "oq_submit without ListBucket stores the task")
rows, err, _ = s.run("INSERT INTO wp.tasks (id, task_type, tags) VALUES "
                     "('0c0ffee0-0000-4000-8000-00000000a001', 'p', '{\"team\": \"b\"}')")
c.check(err is None and stored(PRODUCER, "0c0ffee0-0000-4000-8000-00000000a001")["tags"] == {"team": "b"},
        "INSERT without ListBucket stores the task (%s)" % err)
rows, err, _ = s.run("SELECT oq_update_tags('producer', '%s', '{\"team\": \"c\"}')" % tid)
c.check(err is None and stored(PRODUCER, tid)["tags"] == {"team": "c"},
        "oq_update_tags without ListBucket (%s)" % err)
bucket_level = [e for e in proxy.settled_log() if e["key"] == ""]
c.check(bucket_level == [], "no bucket-level request was sent: %s" % bucket_level[:3])
created = stored(PRODUCER, tid)["created_at"]
c.check(s.value("SELECT abs(extract(epoch FROM now() - '%s'::timestamptz)) < 300" % created) == "t",
        "created_at comes from the S3 clock: %s" % created)
s.close()
proxy.disarm()

# ---- 2. UPDATE through a partitioned parent, concurrent changes

psql("""
\\getenv region OQ_TEST_REGION
\\getenv key OQ_TEST_ACCESS_KEY_ID
\\getenv secret OQ_TEST_SECRET_ACCESS_KEY
CREATE SERVER pa FOREIGN DATA WRAPPER oq_fdw OPTIONS (bucket '%s', endpoint '%s', region :'region');
CREATE SERVER pb FOREIGN DATA WRAPPER oq_fdw OPTIONS (bucket '%s', endpoint '%s', region :'region');
CREATE USER MAPPING FOR CURRENT_USER SERVER pa OPTIONS (access_key_id :'key', secret_access_key :'secret');
CREATE USER MAPPING FOR CURRENT_USER SERVER pb OPTIONS (access_key_id :'key', secret_access_key :'secret');
CREATE TABLE jobs (id uuid, task_type text, status text, tags jsonb, etag text)
  PARTITION BY LIST (task_type);
CREATE FOREIGN TABLE jobs_a (tags jsonb, etag text, id uuid, status text, task_type text) SERVER pa;
CREATE FOREIGN TABLE jobs_b (status text, task_type text, etag text, tags jsonb, id uuid) SERVER pb;
ALTER TABLE jobs ATTACH PARTITION jobs_a FOR VALUES IN ('pa-job');
ALTER TABLE jobs ATTACH PARTITION jobs_b FOR VALUES IN ('pb-job');
""" % (BUCKET_A, proxy.endpoint, BUCKET_B, proxy.endpoint))


def submit(server, case):
    return psql("SELECT oq_submit('%s', '%s-job', tags => '{\"case\": \"%s\"}')"
                % (server, server, case))[0][0]


def key_re(tid):
    return "^" + re.escape(key_of(tid)) + "$"


CLAIM = {"set": {"status": "running", "worker_id": "worker-9", "attempt": 1}}
for returning in (False, True):
    case = "r%d" % returning
    a_added, b_claimed, b_plain = submit("pa", case), submit("pb", case), submit("pb", case)
    proxy.arm({"method": "PUT", "key": key_re(a_added), "mutate": {"tags": {"reviewer": "bob"}}},
              {"method": "PUT", "key": key_re(b_claimed), "mutate": CLAIM})
    out = psql("UPDATE jobs SET tags = tags || '{\"priority\": \"high\"}' "
               "WHERE tags->>'case' = '%s' AND status = 'pending'%s"
               % (case, " RETURNING tableoid::regclass, id, tags" if returning else ""))
    proxy.disarm()
    a, bc, bp = stored(BUCKET_A, a_added), stored(BUCKET_B, b_claimed), stored(BUCKET_B, b_plain)
    what = "with RETURNING" if returning else "pipelined"
    c.check(a["tags"] == {"case": case, "reviewer": "bob", "priority": "high"},
            "%s: partition a, a tag added meanwhile is kept: %s" % (what, a["tags"]))
    c.check(bc["status"] == "running" and bc["tags"] == {"case": case},
            "%s: partition b, a task claimed meanwhile is left alone: %s %s" % (what, bc["status"], bc["tags"]))
    c.check(bp["tags"] == {"case": case, "priority": "high"},
            "%s: partition b, the other task is updated: %s" % (what, bp["tags"]))
    if returning:
        got = sorted((r[0], r[1], json.loads(r[2]) == (a if r[1] == a_added else bp)["tags"]) for r in out)
        c.check(got == sorted([("jobs_a", a_added, True), ("jobs_b", b_plain, True)]),
                "RETURNING: the two updated rows, as stored: %s" % got)

# ---- 3. bulk writes cut short by statement_timeout

fault_server("bulk", BUCKET_A, proxy, options="batch_size '10'")
psql("CREATE FOREIGN TABLE bulk_tasks (id uuid, task_type text, input jsonb) SERVER bulk")
TIMEOUT_MS = int(1200 * slowness())
DETAIL = re.compile(r"Tasks this statement stored before the error: (\d+); the last of them, in the "
                    r"order the rows were given: ([0-9a-f-]{36})\.")
INFLIGHT = re.compile(r"Writes in flight when it occurred, whose tasks may or may not be stored: (\d+)\.")


def cut_short(what, sql, prefix):
    """Run sql with every task PUT answered 0.3 s late, until the timeout."""
    before = task_ids(BUCKET_A)
    proxy.arm({"method": "PUT", "key": "^tasks/", "times": -1, "answer_delay": 0.3})
    s = Session()
    _, err, lines = s.run("SET statement_timeout = %d; %s" % (TIMEOUT_MS, sql), timeout=120)
    s.close()
    proxy.disarm()
    proxy.wait_idle(60)     # writes in flight land (or not) before we count
    new = task_ids(BUCKET_A) - before
    text = "\n".join(lines)
    m, inflight = DETAIL.search(text), INFLIGHT.search(text)
    c.check(err is not None and err.sqlstate == "57014", "%s: cancelled by statement_timeout (%s)" % (what, err))
    c.check(m is not None, "%s: the error says what was stored: %s" % (what, [x for x in lines if "DETAIL" in x]))
    if m is None:
        return
    n, last = int(m.group(1)), m.group(2)
    k = int(inflight.group(1)) if inflight else 0
    print("      %s: %d stored, last %s, %d in flight; %d in the bucket" % (what, n, last, k, len(new)))
    c.check(n > 0, "%s: some batches were stored before the timeout" % what)
    c.check(n <= len(new) <= n + k, "%s: the bucket has %d new tasks, stored %d + in flight %d"
            % (what, len(new), n, k))
    c.check(last in new and last.startswith(prefix), "%s: the last task named is stored" % what)
    # rows are handed over in order, batches one after another: every row
    # up to the last one named is there
    last_row = int(last[-12:])
    present = sorted(int(t[-12:]) for t in new)
    c.check(all(r in present for r in range(1, last_row + 1)),
            "%s: every row up to row %d is stored" % (what, last_row))


cut_short("INSERT ... SELECT",
          "INSERT INTO bulk_tasks (id, task_type, input) "
          "SELECT format('0c0ffee0-0000-4000-8001-%s', lpad(n::text, 12, '0'))::uuid, 'bulk', "
          "jsonb_build_object('n', n) FROM generate_series(1, 200) n", "0c0ffee0-0000-4000-8001-")
# the rows follow the command in psql's script, as pg_regress gives them
cut_short("COPY",
          "COPY bulk_tasks (id, task_type) FROM stdin;\n%s\\.\nSELECT 1"
          % "".join("0c0ffee0-0000-4000-8002-%012d\tbulk\n" % n for n in range(1, 201)),
          "0c0ffee0-0000-4000-8002-")

# ---- 4.

problems = watch.problems()
c.check(not problems, "no backend crashed: %s" % problems)
proxy.stop()
c.done()
