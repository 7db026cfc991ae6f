#!/usr/bin/env python3
"""test_faults_write.py - every write when S3 fails, through test/s3proxy.py.

The writes: oq_submit, oq_update_tags, oq_remove_tags, INSERT (several rows)
and UPDATE ... SET tags (several rows).  The server reaches moto through the
proxy (whose log tells how many PUTs of a task S3 stored) with the small
timeouts of test/py/faulttest.py, tag_index on.  For each write:

  - transient faults -- 503 SlowDown on an index entry, 503 on the task PUT
    before it reached S3, a connection reset after it was stored, its
    answer arriving after the timeout, a stalled or cut GET -- are retried
    (unconditional requests) or resolved by reading the task back
    (conditional ones), and the write succeeds, its task stored exactly once;
    also when ETags are not MD5s (SSE-KMS, SSE-C: the bytes read back decide);
  - persistent ones -- 503 on every task PUT, 500 on every index entry, a
    request that never gets an answer -- end in an error of class HV naming
    the bucket, the key and the status or "Timeout was reached", within
    the attempts' time;
  - a task object that S3 sends as garbage or cut short ends in a clear
    error (HV004 / HV00N) and nothing is written;

and after every case, failed or not, each task involved is either exactly
as before (the same bytes, no PUT stored) or exactly the new one (the new
tags, every other field as before but updated_at, stored once), every
task object in the bucket is a complete task, and every tag of a stored
task has its index entry.  A write whose PUT lands after the client gave
up (the request stalled in the network) still leaves old-or-new: the
If-Match / If-None-Match of the later attempts refuses them.
"""
import json
import time

from faulttest import (STALL_S, TIMEOUT_S, Cases, CrashWatch, check_fdw_error,
                       fault_server, persistent_bound, start_proxy)
from oqtest import Session, bucket_state, create_server, list_keys, s3

BUCKET = "oq-faults-w"
WRITE_ATTEMPTS = 5          # OQ_WRITE_MAX_ATTEMPTS: conditional PUTs of one write

proxy = start_proxy()
client = s3()
fault_server("fwrite", BUCKET, proxy, schema="fw")
create_server("fdirect", BUCKET)          # fixtures, straight to moto
watch = CrashWatch()
cases = Cases(proxy)
session = Session()
session.rows("SELECT oq_stats_reset(); SET oq_fdw.cache_size = 0")

TASK_PUT = {"method": "PUT", "key": "^tasks/"}
TASK_GET = {"method": "GET", "key": "^tasks/"}
INDEX_PUT = {"method": "PUT", "key": "^tags/"}
INDEX_DELETE = {"method": "DELETE", "key": "^tags/"}
BUCKET_Q = 'bucket "%s"' % BUCKET

# a write that keeps failing makes this many attempts of its task PUT, each
# waiting up to the timeout
WRITE_BOUND_STALL = persistent_bound(WRITE_ATTEMPTS, per_attempt=TIMEOUT_S + 0.2)
WRITE_BOUND = persistent_bound(WRITE_ATTEMPTS * 3)


def rule(base, **kw):
    r = dict(base)
    r.update(kw)
    return r


def key_of(tid):
    return "tasks/%s/%s.json" % (tid[0], tid)


def body_of(tid):
    return client.get_object(Bucket=BUCKET, Key=key_of(tid))["Body"].read()


def stored_puts(tid):
    """How many PUTs of the task S3 stored during this case (the proxy saw
    every one, and upstream's answer to it)."""
    key = key_of(tid)
    return len([e for e in proxy.settled_log() if e["method"] == "PUT" and e["key"] == key
                and e.get("upstream_status") == 200])


def task_keys():
    return set(k for k in list_keys(client, BUCKET, "tasks/") if k.endswith(".json"))


def submit_fixtures(n, tags):
    """n tasks straight to moto, with a number beyond 64 bits in input."""
    return [r[0] for r in session.rows(
        "SELECT oq_submit('fdirect', 'fault', input => '{\"n\": 123456789012345678901234567890}', "
        "tags => '%s') FROM generate_series(1, %d)" % (json.dumps(tags), n))]


class Before:
    """Tasks as they were before a write, to tell old from new after it."""

    def __init__(self, ids, new_tags):
        self.ids = ids
        self.new_tags = new_tags            # {id: the tags a successful write leaves}
        self.bodies = {t: body_of(t) for t in ids}

    def outcome(self, tid):
        """'old' or 'new'; raises if the task is neither."""
        body = body_of(tid)
        puts = stored_puts(tid)
        if body == self.bodies[tid]:
            assert puts == 0, "%s: the same body, but %d PUTs were stored" % (tid, puts)
            return "old"
        old, new = json.loads(self.bodies[tid]), json.loads(body)
        assert new["tags"] == self.new_tags[tid], \
            "%s: tags %s are neither the old %s nor the new %s" % (tid, new["tags"], old["tags"],
                                                                   self.new_tags[tid])
        for f in set(old) | set(new):
            if f not in ("tags", "updated_at"):
                assert old.get(f) == new.get(f), "%s: field %s changed: %r -> %r" % (
                    tid, f, old.get(f), new.get(f))
        assert b"123456789012345678901234567890" in body, "%s: the big number lost digits" % tid
        assert puts == 1, "%s: %d PUTs were stored, not exactly 1" % (tid, puts)
        return "new"


def consistent(keys=None):
    """Every task object (of keys, or all) complete; every tag indexed."""
    tasks, problems = bucket_state(client, BUCKET, keys=keys)
    assert not problems, "inconsistent bucket: %s" % problems[:5]
    return tasks


# ---- the writes: each prepares its fixtures, runs, and tells what it left


class TagWrite:
    """oq_update_tags / oq_remove_tags / UPDATE of n tasks."""

    def __init__(self, kind, n=1):
        self.kind = kind
        self.n = n

    def prepare(self, case):
        ids = submit_fixtures(self.n, {"k": "old", "keep": "x", "grp": case})
        if self.kind == "update_tags":
            new = {t: {"k": "new", "keep": "x", "grp": case, "add": "y"} for t in ids}
            sql = "SELECT oq_update_tags('fwrite', '%s', '{\"k\": \"new\", \"add\": \"y\"}')" % ids[0]
        elif self.kind == "remove_tags":
            new = {t: {"keep": "x", "grp": case} for t in ids}
            sql = "SELECT oq_remove_tags('fwrite', '%s', ARRAY['k'])" % ids[0]
        else:
            new = {t: {"k": "new", "keep": "x", "grp": case} for t in ids}
            sql = ("UPDATE fw.tasks SET tags = tags || '{\"k\": \"new\"}' "
                   "WHERE tags->>'grp' = '%s'" % case)
        self.before = Before(ids, new)
        return sql

    def outcomes(self):
        result = [self.before.outcome(t) for t in self.before.ids]
        consistent(keys=[key_of(t) for t in self.before.ids])
        return result


class NewTasks:
    """oq_submit (n = 1) or INSERT of n rows."""

    def __init__(self, kind, n=1):
        self.kind = kind
        self.n = n

    def prepare(self, case):
        self.case = case
        self.keys_before = task_keys()
        if self.kind == "submit":
            return "SELECT oq_submit('fwrite', 'fault', tags => '{\"case\": \"%s\", \"k\": \"v\"}')" % case
        return ("INSERT INTO fw.tasks (task_type, tags) SELECT 'fault', "
                "jsonb_build_object('case', '%s', 'n', n::text) FROM generate_series(1, %d) n"
                % (case, self.n))

    def outcomes(self):
        new_keys = sorted(task_keys() - self.keys_before)
        assert len(new_keys) <= self.n, "%d tasks for %d rows" % (len(new_keys), self.n)
        tasks = consistent(keys=new_keys)
        for t in tasks.values():
            assert t["tags"].get("case") == self.case and t["status"] == "pending", t
            assert stored_puts(t["id"]) == 1, "task %s was stored %d times" % (t["id"], stored_puts(t["id"]))
        return ["new"] * len(new_keys) + ["old"] * (self.n - len(new_keys))


WRITES = {
    "oq_submit": lambda: NewTasks("submit"),
    "oq_update_tags": lambda: TagWrite("update_tags"),
    "oq_remove_tags": lambda: TagWrite("remove_tags"),
    "INSERT of 4 rows": lambda: NewTasks("insert", 4),
    "UPDATE of 3 rows": lambda: TagWrite("update", 3),
}
TAG_WRITES = ("oq_update_tags", "oq_remove_tags", "UPDATE of 3 rows")
NEW_WRITES = ("oq_submit", "INSERT of 4 rows")

_case_no = [0]


def attempt(write_name, rules):
    """Prepare the write, arm the rules, run it: (write, error, seconds)."""
    _case_no[0] += 1
    write = WRITES[write_name]()
    sql = write.prepare("c%d" % _case_no[0])
    session.rows("SELECT oq_stats_reset()")
    proxy.arm(*rules)
    t0 = time.monotonic()
    _, err, _ = session.run(sql)
    elapsed = time.monotonic() - t0
    proxy.disarm()
    proxy.wait_idle(60)     # what the proxy still holds lands (or not) first
    return write, err, elapsed


def succeeds(write_name, *rules):
    write, err, _ = attempt(write_name, rules)
    assert err is None, "a transient fault failed the write: %s" % err
    left = [r for r in proxy.rules() if r["remaining"] > 0]
    assert not left, "the fault was not hit: %s" % left
    outcomes = write.outcomes()
    assert set(outcomes) == {"new"}, "after success: %s" % outcomes


def succeeds_opaque(write_name, *rules):
    """succeeds(), and the task was read back with a non-MD5 ETag."""
    succeeds(write_name, *rules)
    assert [e for e in proxy.settled_log() if e["method"] == "GET" and e["key"].startswith("tasks/")
            and e.get("opaque_etag")], "no task was read back with a non-MD5 ETag"


def fails(write_name, fragments, bound, *rules, sqlstate=None):
    write, err, elapsed = attempt(write_name, rules)
    if sqlstate:
        assert err is not None and err.sqlstate == sqlstate, "expected %s: %s" % (sqlstate, err)
        assert all(f in err.message for f in fragments), "%s lacks %s" % (err.message, fragments)
    else:
        problem = check_fdw_error(err, *fragments)
        assert problem is None, problem
    print("      %s: %s (%.1f s)" % (err.sqlstate, err.message, elapsed))
    assert elapsed < bound, "the error took %.1f s (bound %.1f s)" % (elapsed, bound)
    outcomes = write.outcomes()
    assert set(outcomes) == {"old"}, "a failed write changed tasks: %s" % outcomes


def old_or_new(write_name, *rules):
    """A write whose requests land after it gave up: success or an error,
    and in either case every task old or new."""
    write, err, elapsed = attempt(write_name, rules)
    outcomes = write.outcomes()
    print("      %s; tasks: %s (%.1f s)" % ("%s: %s" % (err.sqlstate, err.message) if err else "succeeded",
                                            " ".join(outcomes), elapsed))
    if err is None:
        assert set(outcomes) == {"new"}, outcomes
    else:
        assert check_fdw_error(err, BUCKET_Q) is None, err


# ---- transient faults: success, exactly one new version

for name in WRITES:
    cases.run("%s: 503 SlowDown on a task PUT, once" % name, succeeds, name,
              rule(TASK_PUT, forward=False, respond={"status": 503, "code": "SlowDown"}))
    cases.run("%s: connection reset after the task PUT was stored" % name, succeeds, name,
              rule(TASK_PUT, reset=True))
    cases.run("%s: the task PUT's answer comes after the timeout" % name, succeeds, name,
              rule(TASK_PUT, answer_delay=STALL_S))
for name in ("oq_submit", "oq_update_tags", "INSERT of 4 rows", "UPDATE of 3 rows"):
    cases.run("%s: 503 SlowDown on index entry PUTs, twice" % name, succeeds, name,
              rule(INDEX_PUT, times=2, forward=False, respond={"status": 503, "code": "SlowDown"}))
cases.run("oq_remove_tags: 503 SlowDown on the entry DELETE, twice", succeeds, "oq_remove_tags",
          rule(INDEX_DELETE, times=2, forward=False, respond={"status": 503, "code": "SlowDown"}))
for name in TAG_WRITES:
    cases.run("%s: the task GET stalls past the timeout, once" % name, succeeds, name,
              rule(TASK_GET, delay=STALL_S))
    cases.run("%s: the task GET is cut short, then 500" % name, succeeds, name,
              rule(TASK_GET, truncate=40), rule(TASK_GET, forward=False, respond={"status": 500}))
for name in NEW_WRITES:
    cases.run("%s: a 503 whose body is cut short, once" % name, succeeds, name,
              rule(TASK_PUT, forward=False, respond={"status": 503}, truncate=10))
    cases.run("%s: garbage in the body of the PUT's 200 (the ETag decides)" % name, succeeds, name,
              rule(TASK_PUT, times=-1, garbage="binary"))
    # SSE-KMS / SSE-C: ETags are not MD5s, so the bytes read back decide
    cases.run("%s: reset after the task PUT was stored; ETags not MD5s" % name, succeeds_opaque, name,
              rule(TASK_PUT, reset=True), {"times": -1, "etag": "opaque"})
    cases.run("%s: a 500 after the task PUT was stored; ETags not MD5s" % name, succeeds_opaque, name,
              rule(TASK_PUT, respond={"status": 500}), {"times": -1, "etag": "opaque"})

# ---- persistent faults: a clear error within the attempts' time, nothing changed

for name in WRITES:
    cases.run("%s: 503 SlowDown on every task PUT" % name, fails, name,
              (BUCKET_Q, 'key "tasks/', "HTTP 503 SlowDown"), WRITE_BOUND,
              rule(TASK_PUT, times=-1, forward=False, respond={"status": 503, "code": "SlowDown"}))
    cases.run("%s: every task PUT vanishes (no answer, never stored)" % name, fails, name,
              (BUCKET_Q, 'key "tasks/', "Timeout was reached"), WRITE_BOUND_STALL,
              rule(TASK_PUT, times=-1, delay=STALL_S, forward=False, respond={"status": 503}))
for name in ("oq_submit", "oq_update_tags", "INSERT of 4 rows", "UPDATE of 3 rows"):
    cases.run("%s: 500 on every index entry PUT" % name, fails, name,
              (BUCKET_Q, 'key "tags/', "HTTP 500"), persistent_bound(),
              rule(INDEX_PUT, times=-1, forward=False, respond={"status": 500}))
for name in TAG_WRITES:
    cases.run("%s: the task object arrives as garbage" % name, fails, name,
              (BUCKET_Q, 'could not read task object "tasks/'), persistent_bound(),
              rule(TASK_GET, times=-1, garbage="json"), sqlstate="HV004")
    cases.run("%s: the task object is always cut short" % name, fails, name,
              (BUCKET_Q, 'key "tasks/', "partial file"), persistent_bound(),
              rule(TASK_GET, times=-1, truncate=50))

# ---- requests that land after the client gave up

for name in ("oq_submit", "oq_update_tags", "UPDATE of 3 rows"):
    cases.run("%s: every task PUT stalls, then lands" % name, old_or_new, name,
              rule(TASK_PUT, times=-1, delay=STALL_S))


def whole_bucket():
    tasks = consistent()
    print("      %d tasks, all complete, every tag indexed" % len(tasks))
    problems = watch.problems()
    assert not problems, problems
    assert int(session.value("SELECT pg_backend_pid()")) == session.pid, "the backend changed"


cases.run("the whole bucket is consistent; no backend crashed", whole_bucket)
session.close()
proxy.stop()
cases.done()
