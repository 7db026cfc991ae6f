#!/usr/bin/env python3
"""test_update_returning.py - UPDATE ... RETURNING on the direct path
(src/directmodify.c): many writes in flight, and each returned row is what
its write stored, after any recheck.

Through test/s3proxy.py, other writers act just before the UPDATE's PUT of
some tasks: one claims a task (it no longer matches "status = 'pending'":
it drops out, untouched), one adds a tag (the task is evaluated again: the
returned row has both changes), one deletes a task (it drops out), and
some PUTs are held, so that writes end out of order.  Every returned row
must equal the stored object (tags, updated_at, ETag), the row count must
be the rows written, and the PUTs must have overlapped.  Then a row that
fails (a task a worker claimed before the UPDATE, without a status
condition: 55000) ends the statement with an error naming it, and an
UPDATE ... RETURNING cancelled by statement_timeout while its PUTs are
held ends promptly and leaves each task exactly old or exactly new.
"""
import json
import os
import time

from faulttest import exact, start_proxy, task_key
from oqtest import Checks, Session, bucket_state, create_server, s3, slowness

BUCKET = "oq-returning-py"
c = Checks()
client = s3()
proxy = start_proxy()
create_server("urp", BUCKET, schema="urp", endpoint=proxy.endpoint)
create_server("urdirect", BUCKET)
session = Session()


RUN = "-%d" % os.getpid()    # groups of this run only, should the bucket hold others


def submit(grp, n):
    grp += RUN
    return [r[0] for r in session.rows(
        "SELECT oq_submit('urdirect', 'ret', tags => jsonb_build_object('grp', '%s', 'n', n::text)) "
        "FROM generate_series(1, %d) n" % (grp, n))]


def stored(tid):
    obj = client.get_object(Bucket=BUCKET, Key=task_key(tid))
    return json.loads(obj["Body"].read()), obj["ETag"].strip('"')


# -- 1. races between the scan and the writes
ids = submit("race", 40)
claimed, reviewed, deleted, held = ids[0:4], ids[4:8], ids[8:10], ids[10:16]
CLAIM = {"set": {"status": "running", "worker_id": "worker-7", "attempt": 1}}
rules = ([{"method": "PUT", "key": exact(task_key(t)), "mutate": CLAIM} for t in claimed]
         + [{"method": "PUT", "key": exact(task_key(t)), "mutate": {"tags": {"reviewer": "bob"}}}
            for t in reviewed]
         + [{"method": "PUT", "key": exact(task_key(t)), "mutate": {"delete": True}} for t in deleted]
         + [{"method": "PUT", "key": exact(task_key(t)), "delay": 0.3} for t in held]
         + [{"method": "PUT", "key": "^tasks/", "times": -1, "delay": 0.05}])
UPDATE = ("UPDATE urp.tasks SET tags = tags || '{\"priority\": \"high\"}' "
          "WHERE tags->>'grp' = 'race%s' AND status = 'pending' "
          "RETURNING id, tags, etag, updated_at, status" % RUN)
plan = "\n".join(r[0] for r in session.rows("EXPLAIN (COSTS OFF) " + UPDATE))
c.check("Foreign Update on tasks" in plan and "Oq Returning: batched" in plan,
        "the UPDATE ... RETURNING takes the direct path")
proxy.clear_log()
proxy.arm(*rules)
start = time.monotonic()
rows, err, _ = session.run(UPDATE)
elapsed = time.monotonic() - start
proxy.disarm()
proxy.wait_idle(60)
c.check(err is None, "the UPDATE ... RETURNING succeeds (%s)" % err)
returned = {r[0]: r for r in rows}
expect = set(ids) - set(claimed) - set(deleted)
c.check(len(rows) == len(returned) == len(expect) and set(returned) == expect,
        "it returns exactly the %d rows written, once each (%d rows)" % (len(expect), len(rows)))
wrong = []
for tid, (_, tags, etag, updated_at, status) in returned.items():
    obj, stored_etag = stored(tid)
    if json.loads(tags) != obj["tags"] or etag != stored_etag or status != "pending" or \
            "priority" not in obj["tags"]:
        wrong.append((tid, tags, obj["tags"], etag, stored_etag))
c.check(not wrong, "each returned row is the stored object: tags and ETag (differ: %s)" % wrong[:2])
c.check(all(json.loads(returned[t][1]) == {"grp": "race" + RUN, "n": json.loads(returned[t][1])["n"],
                                           "reviewer": "bob", "priority": "high"} for t in reviewed),
        "a task another writer retagged meanwhile is rechecked: both changes kept and returned")
claims = [stored(t)[0] for t in claimed]
c.check(all(t["status"] == "running" and "priority" not in t["tags"] for t in claims),
        "the claimed tasks dropped out untouched")
puts = [e for e in proxy.log() if e["method"] == "PUT" and e["key"].startswith("tasks/")]
overlap = max(sum(1 for o in puts if o["arrived"] <= e["arrived"] < o["completed"]) for e in puts)
c.check(overlap >= 8, "the task PUTs overlapped (up to %d in flight; %.2f s)" % (overlap, elapsed))
# (the other writer added its tag without an index entry: not ours to check)
_, problems = bucket_state(client, BUCKET, keys=[task_key(t) for t in expect - set(reviewed)])
c.check(not problems, "every written task complete, with its index entries (%s)" % problems[:2])

# -- 2. a failing row: a task claimed before the UPDATE, no status condition
ids = submit("fail", 12)
obj, _ = stored(ids[5])
obj.update(status="running", worker_id="worker-8")
client.put_object(Bucket=BUCKET, Key=task_key(ids[5]), Body=json.dumps(obj).encode())
rows, err, _ = session.run("UPDATE urp.tasks SET tags = tags || '{\"k\": \"v\"}' "
                           "WHERE tags->>'grp' = 'fail%s' RETURNING id" % RUN)
c.check(err is not None and err.sqlstate == "55000" and ids[5] in str(err),
        "a row whose write fails ends the statement with its error, naming the task (%s)" % err)
c.check(stored(ids[5])[0]["status"] == "running" and "k" not in stored(ids[5])[0]["tags"],
        "the claimed task is untouched")

# -- 3. cancelled by statement_timeout while PUTs are held
ids = submit("cancel", 120)
before = {t: stored(t)[0] for t in ids}
proxy.arm({"method": "PUT", "times": -1, "delay": 0.05})
session.rows("SET statement_timeout = '800ms'")
start = time.monotonic()
rows, err, _ = session.run("UPDATE urp.tasks SET tags = tags || '{\"k\": \"new\"}' "
                           "WHERE tags->>'grp' = 'cancel%s' RETURNING id" % RUN)
after_cancel = time.monotonic() - start - 0.8
session.rows("RESET statement_timeout")
proxy.disarm()
proxy.wait_idle(60)
c.check(err is not None and err.sqlstate == "57014", "the UPDATE ... RETURNING is cancelled (%s)" % err)
c.check(after_cancel < 1.0 * slowness(), "it ended %.2f s after the timeout" % after_cancel)
tasks, problems = bucket_state(client, BUCKET, keys=[task_key(t) for t in ids])
old = sum(1 for t in ids if tasks.get(t) == before[t])
new = sum(1 for t in ids if tasks.get(t) is not None and tasks[t]["tags"] == dict(before[t]["tags"], k="new")
          and all(tasks[t][f] == before[t][f] for f in before[t] if f not in ("tags", "updated_at")))
c.check(not problems and old + new == len(ids) and old > 0,
        "each task exactly old (%d) or exactly new (%d); problems: %s" % (old, new, problems[:2]))
c.check(session.value("SELECT count(*) FROM urp.tasks WHERE tags->>'grp' = 'cancel%s'" % RUN) == "120",
        "the session works afterwards")

session.close()
proxy.stop()
c.done()
