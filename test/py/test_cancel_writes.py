#!/usr/bin/env python3
"""test_cancel_writes.py - statement_timeout and pg_cancel_backend stop a
bulk write promptly, and leave no half-written task.

An INSERT ... SELECT of 300 rows and an UPDATE of 120 tasks run through
test/s3proxy.py, which holds every PUT for 50 ms so that the writes are
still in flight when the statement is cancelled: once by statement_timeout
(800 ms), once by pg_cancel_backend() from another session as soon as the
first tasks were stored.  The statement
must end within a second of the cancel.  The proxy still delivers the
requests it was holding (a request that reached the network may be
applied after its client gave up); once they have landed, every task
object in the bucket is complete, every tag has its index entry, and each
updated task is exactly old or exactly new.  The session works afterwards.
"""
import json
import threading
import time

from faulttest import CrashWatch, start_proxy
from oqtest import (Checks, Session, bucket_state, create_server, list_keys, psql,
                    s3, slowness)

BUCKET = "oq-cancel"
TIMEOUT_MS = 800
HOLD_S = 0.05

c = Checks()
client = s3()
proxy = start_proxy()
# batches of 20 rows: tasks are stored from the first batches on
create_server("cw", BUCKET, schema="cw", endpoint=proxy.endpoint, options="batch_size '20'")
create_server("cdirect", BUCKET)
watch = CrashWatch()
session = Session()
HOLD_PUTS = {"method": "PUT", "times": -1, "delay": HOLD_S}


def task_keys():
    return set(k for k in list_keys(client, BUCKET, "tasks/") if k.endswith(".json"))


def insert_sql(case, n):
    return ("INSERT INTO cw.tasks (task_type, input, tags) SELECT 'cancel', jsonb_build_object('n', n), "
            "jsonb_build_object('case', '%s', 'n', n::text) FROM generate_series(1, %d) n" % (case, n))


def update_sql(case):
    return ("UPDATE cw.tasks SET tags = tags || '{\"k\": \"new\", \"wave\": \"2\"}' "
            "WHERE tags->>'grp' = '%s'" % case)


def run_cancelled(sql, how):
    """Run sql in the session with the PUTs held; cancel it by
    statement_timeout or pg_cancel_backend; returns (error, seconds from
    the cancel to the statement's end)."""
    proxy.arm(HOLD_PUTS)
    result = {}

    def target():
        result["rows"], result["err"], _ = session.run(sql)
        result["end"] = time.monotonic()

    if how == "statement_timeout":
        session.rows("SET statement_timeout = '%dms'" % TIMEOUT_MS)
        start = time.monotonic()
        target()
        cancel_at = start + TIMEOUT_MS / 1000.0
        session.rows("RESET statement_timeout")
    else:
        th = threading.Thread(target=target)
        th.start()
        # once tasks are being stored, cancel from another session
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not [
                e for e in proxy.log()
                if e["method"] == "PUT" and e["key"].startswith("tasks/") and e.get("status") == 200]:
            time.sleep(0.02)
        cancel_at = time.monotonic()
        psql("SELECT pg_cancel_backend(%d)" % session.pid)
        th.join(60)
    in_flight = len([e for e in proxy.log() if e["method"] == "PUT"])
    proxy.disarm()
    proxy.wait_idle(60)         # what the proxy held lands now
    print("      %s after %d PUTs had gone out; %.2f s from the cancel to the end"
          % (result.get("err"), in_flight, result["end"] - cancel_at))
    return result.get("err"), result["end"] - cancel_at


def check_new_tasks(case, keys_before, n, how):
    new_keys = sorted(task_keys() - keys_before)
    tasks, problems = bucket_state(client, BUCKET, keys=new_keys)
    # the cancel from another session waits for the first stored tasks
    c.check(len(new_keys) < n and (len(new_keys) > 0 or how == "statement_timeout"),
            "%s: the INSERT had stored %d of %d tasks when it was cancelled" % (how, len(new_keys), n))
    c.check(not problems and all(t["tags"]["case"] == case and t["status"] == "pending"
                                 for t in tasks.values()),
            "%s: each of them complete, with its index entries (%s)" % (how, problems[:3]))


def cancel_insert(how, n=300):
    case = "ins-" + how
    before = task_keys()
    proxy.clear_log()
    err, after_cancel = run_cancelled(insert_sql(case, n), how)
    c.check(err is not None and err.sqlstate == "57014",
            "%s: the INSERT of %d rows is cancelled (%s)" % (how, n, err))
    c.check(after_cancel < 1.0 * slowness(), "%s: it ended %.2f s after the cancel" % (how, after_cancel))
    check_new_tasks(case, before, n, how)


def cancel_update(how, n=120):
    case = "upd-" + how
    # the tasks, straight to moto
    ids = [r[0] for r in session.rows(
        "SELECT oq_submit('cdirect', 'cancel', tags => '{\"grp\": \"%s\", \"k\": \"old\"}') "
        "FROM generate_series(1, %d)" % (case, n))]
    keys = ["tasks/%s/%s.json" % (t[0], t) for t in ids]
    before = {k: client.get_object(Bucket=BUCKET, Key=k)["Body"].read() for k in keys}
    proxy.clear_log()
    err, after_cancel = run_cancelled(update_sql(case), how)
    c.check(err is not None and err.sqlstate == "57014",
            "%s: the UPDATE of %d tasks is cancelled (%s)" % (how, n, err))
    c.check(after_cancel < 1.0 * slowness(), "%s: it ended %.2f s after the cancel" % (how, after_cancel))
    tasks, problems = bucket_state(client, BUCKET, keys=keys)
    c.check(not problems, "%s: every task complete, every tag indexed (%s)" % (how, problems[:3]))
    old = new = 0
    mixed = []
    for tid, k in zip(ids, keys):
        t, was = tasks.get(tid), json.loads(before[k])
        if t == was:
            old += 1
        elif t is not None and t["tags"] == dict(was["tags"], k="new", wave="2") and \
                all(t[f] == was[f] for f in was if f not in ("tags", "updated_at")):
            new += 1
        else:
            mixed.append((k, t["tags"]))
    c.check(not mixed and old > 0,
            "%s: each task exactly old (%d) or exactly new (%d) (neither: %s)" % (how, old, new, mixed[:2]))


for how in ("statement_timeout", "pg_cancel_backend"):
    cancel_insert(how)
    cancel_update(how)

c.check(session.value("SELECT count(*) FROM cw.tasks WHERE tags->>'case' = 'ins-pg_cancel_backend'") != "",
        "the session works after the cancels")
c.check(int(session.value("SELECT pg_backend_pid()")) == session.pid and not watch.problems(),
        "in the same backend; none crashed (%s)" % watch.problems())
session.close()
proxy.stop()
c.done()
