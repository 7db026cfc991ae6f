#!/usr/bin/env python3
"""test_shared_cache.py - the server-wide task cache (oq_fdw preloaded).

The harness's cluster preloads oq_fdw with oq_fdw.shared_cache_size '2MB'
and oq_fdw.shared_cache off by default (the other tests cover the
per-backend cache); the sessions here turn it on.  Proves:
- a fresh session's full scan of an unchanged bucket makes no GET, and
  returns what a scan that fetched everything returned;
- EXPLAIN ANALYZE says the hits were shared, oq_stats() counts them;
- a fresh session plans from the last listing of another session;
- parallel workers read it (the shared hit counter moves, no miss);
- a rewritten task is fetched again (new ETag), a deleted one is gone;
- a body is served only to the same credentials: a role whose keys the
  server refuses GetObject gets the server's error, not cached bodies;
  a role with the same keys as the reader shares the cache;
- a bucket bigger than the cache evicts its own tasks, not those of a
  small bucket read before it (fairness), and the eviction counter moves;
- a body too large for the cache is not kept (and counted);
- a session on the shared cache keeps no bodies in its own memory;
- oq_fdw.shared_cache_size cannot change without a restart.
"""
import json
import os

import boto3

from oqtest import (Checks, Session, SqlError, create_server, psql, s3,
                    seed_tasks, value)
import gen_tasks

c = Checks()
ON = "SET oq_fdw.shared_cache = on"
SMALL = "oq-shc-small"
BIG = "oq-shc-big"
DENY = "oq_shc_denied"
SAME = "oq_shc_same"
N_SMALL = 24
N_BIG = 520
CACHE_CXT = "SELECT count(*) FROM pg_backend_memory_contexts WHERE name = 'oq_fdw task cache'"


def shared():
    return {n: int(v) for n, v in psql(
        "SELECT name, value FROM oq_stats() WHERE name LIKE 'shared\\_cache\\_%'")}


def scan(table, user=None, sql=None):
    """A fresh session's scan: (rows, its oq_stats, the error or None)."""
    s = Session(user=user)
    try:
        s.rows(ON + "; SELECT oq_stats_reset()")
        rows, err, _ = s.run(sql or "SELECT id, status, tags FROM %s ORDER BY id" % table)
        st = {n: int(v) for n, v in s.rows("SELECT name, value FROM oq_stats()")}
        return rows, st, err
    finally:
        s.close()


def padded(tasks, size):
    """Tasks with an input padded to about 'size' bytes of body."""
    for t in tasks:
        t["input"] = dict(t["input"], pad="x" * size)
    return tasks


def upload(bucket, tasks):
    gen_tasks.upload(s3(), bucket, gen_tasks.objects_for(tasks))


# the cluster is set up as this test needs, or it fails (never skipped)
base = shared()
c.check("oq_fdw" in value("SHOW shared_preload_libraries"), "oq_fdw is preloaded")
c.check(base.get("shared_cache_capacity_bytes") == 2 * 1024 * 1024,
        "the shared cache has its 2MB (oq_stats shared_cache_capacity_bytes %s)"
        % base.get("shared_cache_capacity_bytes"))
c.check(sorted(base) == sorted(["shared_cache_bytes", "shared_cache_capacity_bytes",
                                 "shared_cache_entries", "shared_cache_hits",
                                 "shared_cache_misses", "shared_cache_evictions",
                                 "shared_cache_skipped"]),
        "oq_stats() names the shared cache counters: %s" % sorted(base))

client = s3()
for b in (SMALL, BIG):
    client.create_bucket(Bucket=b)
small = padded(gen_tasks.generate_tasks(N_SMALL, seed=41), 3500)
upload(SMALL, small)
create_server("shc", SMALL, schema="shc")

# cold, then a fresh session: no GET, the same rows
cold, st, err = scan("shc.tasks")
c.check(err is None and len(cold) == N_SMALL, "cold scan returns %d rows (%s)" % (len(cold), err))
c.check(st["requests_get"] == N_SMALL, "cold scan made %d GETs (%d)" % (st["requests_get"], N_SMALL))
after = shared()
c.check(after["shared_cache_entries"] - base["shared_cache_entries"] == N_SMALL,
        "the shared cache gained %d entries (%d)"
        % (after["shared_cache_entries"] - base["shared_cache_entries"], N_SMALL))
c.check(after["shared_cache_misses"] - base["shared_cache_misses"] == N_SMALL,
        "%d shared misses counted" % (after["shared_cache_misses"] - base["shared_cache_misses"]))
c.check(0 < after["shared_cache_bytes"] <= after["shared_cache_capacity_bytes"],
        "shared_cache_bytes %d within the capacity" % after["shared_cache_bytes"])

warm, st, err = scan("shc.tasks")
c.check(err is None and warm == cold, "a fresh session reads the same %d rows" % len(warm))
c.check(st["requests_get"] == 0 and st["requests_list"] >= 1,
        "a fresh session's full scan: %d GETs (0), %d listings"
        % (st["requests_get"], st["requests_list"]))
c.check(st["cache_hits"] == N_SMALL, "the session counted %d cache hits" % st["cache_hits"])
now = shared()
c.check(now["shared_cache_hits"] - after["shared_cache_hits"] == N_SMALL,
        "%d shared hits counted" % (now["shared_cache_hits"] - after["shared_cache_hits"]))

# the planner's row estimate of a fresh session comes from the last
# complete listing any session on the shared cache made (1000 unknown)
plan, _, _ = scan(None, sql="EXPLAIN SELECT * FROM shc.tasks")
c.check("rows=%d " % N_SMALL in plan[0][0],
        "a fresh session estimates the listed %d rows: %s" % (N_SMALL, plan[0][0]))
s = Session()
own_plan = s.value("EXPLAIN SELECT * FROM shc.tasks")
s.close()
c.check("rows=1000 " in own_plan,
        "one off the shared cache knows no listing of its own: %s" % own_plan)

plan, _, _ = scan(None, sql="EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT * FROM shc.tasks")
plan = "\n".join(r[0] for r in plan)
c.check("Task Cache: hits=%d (shared)" % N_SMALL in plan,
        "EXPLAIN ANALYZE shows the shared hits:\n" + plan)
plan, _, _ = scan(None, sql="EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, FORMAT JSON) SELECT * FROM shc.tasks")
c.check('"Task Cache Shared": true' in "\n".join(r[0] for r in plan), "and so does its JSON format")

# off for a session: its own cache, which starts cold
s = Session()
s.rows("SELECT oq_stats_reset()")
s.rows("SELECT count(*) FROM shc.tasks")
gets = int(s.value("SELECT value FROM oq_stats() WHERE name = 'requests_get'"))
own = s.value(CACHE_CXT)
s.close()
c.check(gets == N_SMALL, "with oq_fdw.shared_cache off a session fetches again (%d GETs)" % gets)
c.check(int(own) >= 1, "and keeps the bodies in its own memory (%s task cache contexts)" % own)

# parallel workers read it too
psql("ALTER FOREIGN TABLE shc.tasks OPTIONS (ADD parallel_workers '2')")
par = ("SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 0; "
       "SET parallel_tuple_cost = 0; ")
before = shared()
rows, _, err = scan(None, sql=par + "SELECT count(*) FROM shc.tasks")
plan, _, _ = scan(None, sql=par + "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT id FROM shc.tasks")
plan = "\n".join(r[0] for r in plan)
after = shared()
c.check(err is None and rows == [[str(N_SMALL)]], "a parallel scan counts %s rows" % rows)
c.check("Workers Launched: 2" in plan, "two workers took part:\n" + plan)
c.check(after["shared_cache_hits"] - before["shared_cache_hits"] == 2 * N_SMALL and
        after["shared_cache_misses"] == before["shared_cache_misses"],
        "parallel scans: %d shared hits (%d), %d misses (0)"
        % (after["shared_cache_hits"] - before["shared_cache_hits"], 2 * N_SMALL,
           after["shared_cache_misses"] - before["shared_cache_misses"]))
psql("ALTER FOREIGN TABLE shc.tasks OPTIONS (DROP parallel_workers)")

# correct under change: rewritten, deleted
changed, gone = small[3], small[7]
changed["status"] = "running" if changed["status"] != "running" else "pending"
upload(SMALL, [changed])
client.delete_object(Bucket=SMALL, Key=gen_tasks.task_key(gone))
rows, st, err = scan("shc.tasks")
ids = {r[0]: r[1] for r in rows}
c.check(err is None and len(rows) == N_SMALL - 1, "after a delete: %d rows" % len(rows))
c.check(gone["id"] not in ids, "the deleted task is not shown")
c.check(ids.get(changed["id"]) == changed["status"],
        "the rewritten task shows its new status %r (%r)" % (ids.get(changed["id"]), changed["status"]))
c.check(st["requests_get"] == 1, "only the rewritten task was fetched (%d GETs)" % st["requests_get"])
rows, st, _ = scan("shc.tasks")
c.check(st["requests_get"] == 0 and len(rows) == N_SMALL - 1, "then cached again (%d GETs)" % st["requests_get"])

# identity: a role whose keys may list but not GET gets an error, never
# the cached bodies; a role with the reader's keys shares them
iam = boto3.client("iam", endpoint_url=os.environ["OQ_TEST_ENDPOINT"],
                   region_name=os.environ.get("OQ_TEST_REGION", "us-east-1"),
                   aws_access_key_id=os.environ["OQ_TEST_ACCESS_KEY_ID"],
                   aws_secret_access_key=os.environ["OQ_TEST_SECRET_ACCESS_KEY"])
iam.create_user(UserName="oq-shc-lister")
key = iam.create_access_key(UserName="oq-shc-lister")["AccessKey"]
iam.put_user_policy(UserName="oq-shc-lister", PolicyName="list-only", PolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"},
                  {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"}]}))
lister = gen_tasks.s3_client(os.environ["OQ_TEST_ENDPOINT"],
                             os.environ.get("OQ_TEST_REGION", "us-east-1"),
                             key["AccessKeyId"], key["SecretAccessKey"])
listed = lister.list_objects_v2(Bucket=SMALL, Prefix="tasks/").get("KeyCount", 0)
try:
    lister.get_object(Bucket=SMALL, Key=gen_tasks.task_key(small[0]))
    refused = False
except Exception as e:  # noqa: BLE001  (botocore's ClientError)
    refused = "AccessDenied" in str(e) or "403" in str(e)
c.check(listed == N_SMALL - 1 and refused,
        "the server lets the second key list (%d keys) and refuses its GET (%s)" % (listed, refused))

psql("""
DROP ROLE IF EXISTS %(d)s;
DROP ROLE IF EXISTS %(s)s;
CREATE ROLE %(d)s LOGIN;
CREATE ROLE %(s)s LOGIN;
GRANT USAGE ON SCHEMA shc TO %(d)s, %(s)s;
GRANT SELECT ON shc.tasks TO %(d)s, %(s)s;
GRANT USAGE ON FOREIGN SERVER shc TO %(d)s, %(s)s;
ALTER ROLE %(d)s SET oq_fdw.shared_cache = on;
ALTER ROLE %(s)s SET oq_fdw.shared_cache = on;
CREATE USER MAPPING FOR %(d)s SERVER shc
  OPTIONS (access_key_id '%(kid)s', secret_access_key '%(sec)s');
\\getenv key OQ_TEST_ACCESS_KEY_ID
\\getenv secret OQ_TEST_SECRET_ACCESS_KEY
CREATE USER MAPPING FOR %(s)s SERVER shc
  OPTIONS (access_key_id :'key', secret_access_key :'secret');
""" % dict(d=DENY, s=SAME, kid=key["AccessKeyId"], sec=key["SecretAccessKey"]))


def role_scan(user):
    s = Session(user=user)
    try:
        s.rows("SELECT oq_stats_reset()")
        rows, err, _ = s.run("SELECT id, status, tags FROM shc.tasks ORDER BY id")
        st = {n: int(v) for n, v in s.rows("SELECT name, value FROM oq_stats()")}
        return rows, st, err
    finally:
        s.close()


before = shared()
rows, st, err = role_scan(DENY)
c.check(err is not None and rows == [],
        "the role refused GET gets an error and no row (%s)" % err)
c.check(st["requests_get"] >= 1 and st["cache_hits"] == 0,
        "it asked the server (%d GETs) and took nothing from the cache (%d hits)"
        % (st["requests_get"], st["cache_hits"]))
c.check(shared()["shared_cache_hits"] == before["shared_cache_hits"], "no shared hit for it")
rows, st, err = role_scan(SAME)
c.check(err is None and len(rows) == N_SMALL - 1 and st["requests_get"] == 0,
        "a role with the reader's keys shares its bodies (%d rows, %d GETs)"
        % (len(rows), st["requests_get"]))

# fairness: a bucket bigger than the cache evicts its own tasks, not the
# small bucket's
big = padded(gen_tasks.generate_tasks(N_BIG, seed=42), 3500)
upload(BIG, big)
create_server("shc_big", BIG, schema="shc_big")
before = shared()
for i in range(2):
    rows, st, err = scan(None, sql="SELECT count(*) FROM shc_big.tasks")
    c.check(err is None and rows == [[str(N_BIG)]], "the big bucket's scan %d counts %s" % (i + 1, rows))
after = shared()
c.check(after["shared_cache_evictions"] > before["shared_cache_evictions"],
        "the big bucket did not fit: %d evictions"
        % (after["shared_cache_evictions"] - before["shared_cache_evictions"]))
c.check(after["shared_cache_bytes"] <= after["shared_cache_capacity_bytes"],
        "still within the capacity (%d bytes)" % after["shared_cache_bytes"])
s = Session()
s.rows(ON + "; SELECT count(*) FROM shc_big.tasks")
own = s.value(CACHE_CXT)
s.close()
c.check(own == "0", "a session on the shared cache keeps no bodies of its own (%s task cache context)" % own)
rows, st, err = scan("shc.tasks")
c.check(err is None and len(rows) == N_SMALL - 1 and st["requests_get"] == 0,
        "the small bucket was not starved: %d rows, %d GETs (0)" % (len(rows), st["requests_get"]))

# a body too large for the cache is not kept
huge = padded(gen_tasks.generate_tasks(1, seed=43), 64 * 1024)
upload(SMALL, huge)
before = shared()
rows, st, _ = scan("shc.tasks")
rows, st2, _ = scan("shc.tasks")
after = shared()
c.check(len(rows) == N_SMALL and st2["requests_get"] == 1,
        "a 64kB task is fetched at every scan (%d GETs)" % st2["requests_get"])
c.check(after["shared_cache_skipped"] - before["shared_cache_skipped"] >= 2,
        "and counted as not kept (%d)" % (after["shared_cache_skipped"] - before["shared_cache_skipped"]))

# the size is fixed at server start
try:
    psql("SET oq_fdw.shared_cache_size = '4MB'")
    c.check(False, "oq_fdw.shared_cache_size cannot be SET")
except SqlError as e:
    c.check(e.sqlstate == "55P02", "oq_fdw.shared_cache_size cannot be SET (%s)" % e.sqlstate)

psql("""
DROP SERVER shc CASCADE;
DROP SERVER shc_big CASCADE;
DROP SCHEMA shc CASCADE;
DROP SCHEMA shc_big CASCADE;
DROP ROLE %s;
DROP ROLE %s;
""" % (DENY, SAME))
c.done()
