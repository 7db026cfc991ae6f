#!/usr/bin/env python3
"""test_faults_scan.py - scans when S3 fails, through test/s3proxy.py.

The server reaches moto through the proxy with max_retries 2,
request_timeout_ms 600 and connect_timeout_ms 500 (test/py/faulttest.py).  For each access path
(the full listing of tasks/, the tag index, ids) the proxy injects, on the
listings or the GETs:

  - transient faults (503 SlowDown, 500, a connection reset, a stall past
    the timeout, a body cut short): retried, and the scan returns exactly
    the right rows; oq_stats() counts the retries;
  - persistent ones: an error of class HV that names the bucket, the key
    or the listing's prefix, and the HTTP status or network failure,
    within (max_retries + 1) attempts' time;
  - garbage (malformed XML listings, binary bodies, a task object cut off,
    a listing that says "more" but never advances): a clear error, never a
    crash, never a scan that goes on until cancelled, never rows made up.

Everything runs in one backend, which must keep working after every error,
and no backend may crash meanwhile.
"""
import collections
import time

from faulttest import (STALL_S, TIMEOUT_S, RETRIES, Cases, CrashWatch,
                       check_fdw_error, exact, fault_server, persistent_bound, start_proxy,
                       task_key)
from oqtest import Session, seed_tasks

BUCKET = "oq-faults"
N = 40

proxy = start_proxy()
tasks = seed_tasks(BUCKET, N, seed=11, index=True)
fault_server("fscan", BUCKET, proxy, schema="fs")
watch = CrashWatch()
cases = Cases(proxy)

customers = collections.Counter(t["tags"].get("customer") for t in tasks if t["tags"].get("customer"))
CUSTOMER, CUSTOMER_N = customers.most_common(1)[0]
SOME = tasks[7]

FULL = ("SELECT count(*), count(DISTINCT id) FROM fs.tasks", [[str(N), str(N)]])
INDEX = ("SELECT count(*) FROM fs.tasks WHERE tags->>'customer' = '%s'" % CUSTOMER,
         [[str(CUSTOMER_N)]])
BY_ID = ("SELECT id, status FROM fs.tasks WHERE id = '%s'" % SOME["id"],
         [[SOME["id"], SOME["status"]]])

LIST_TASKS = {"method": "GET", "key": "^$", "query": "prefix=tasks"}
LIST_TAGS = {"method": "GET", "key": "^$", "query": "prefix=tags"}
GET_TASKS = {"method": "GET", "key": "^tasks/"}
GET_SOME = {"method": "GET", "key": exact(task_key(SOME["id"]))}

# one backend for everything: it must survive every error; the cache of
# task objects is off so that every scan GETs every task
session = Session()
session.rows("SELECT oq_stats_reset(); SET oq_fdw.cache_size = 0")
session.rows(FULL[0])           # warm-up: every path once, without faults
session.rows(INDEX[0])


def rule(base, **kw):
    r = dict(base)
    r.update(kw)
    return r


def scan(query, *rules):
    """Run a query with rules armed; returns (rows, error, stats, seconds)."""
    session.rows("SELECT oq_stats_reset()")
    proxy.arm(*rules)
    t0 = time.monotonic()
    rows, err, _ = session.run(query)
    elapsed = time.monotonic() - t0
    stats = {r[0]: int(r[1]) for r in session.rows("SELECT name, value FROM oq_stats()")}
    return rows, err, stats, elapsed


def recovered():
    """The same backend scans correctly once the fault is gone."""
    proxy.disarm()
    rows, err, _, _ = scan(FULL[0])
    assert err is None and rows == FULL[1], "after the fault: %s %s" % (rows, err)


def transient(path, min_retries, *rules):
    query, expected = path
    rows, err, stats, _ = scan(query, *rules)
    assert err is None, "a transient fault failed the scan: %s" % err
    assert rows == expected, "rows %s, expected %s" % (rows, expected)
    assert stats["retries"] >= min_retries, "retries %d < %d" % (stats["retries"], min_retries)
    left = [r for r in proxy.rules() if r["remaining"] > 0]
    assert not left, "the fault was not hit: %s" % left


def persistent(path, fragments, bound, *rules, min_seconds=0.0):
    query, _ = path
    rows, err, _, elapsed = scan(query, *rules)
    problem = check_fdw_error(err, *fragments)
    assert problem is None, problem
    print("      %s: %s (%.1f s)" % (err.sqlstate, err.message, elapsed))
    assert rows == [], "rows came back: %s" % rows[:3]
    assert elapsed < bound, "the error took %.2f s (bound %.1f s)" % (elapsed, bound)
    assert elapsed >= min_seconds, "the error came after %.2f s, before a timeout could" % elapsed
    recovered()


def index_was_used():
    lists = [e for e in proxy.settled_log() if e["method"] == "GET" and "prefix=tags" in e["query"]]
    assert lists, "the query did not list the tag index"


# ---- transient faults: retried, exact rows

cases.run("full listing: 503 SlowDown twice", transient, FULL, 2,
          rule(LIST_TASKS, times=2, forward=False, respond={"status": 503, "code": "SlowDown"}))
# a reset on a kept-alive connection is retried by libcurl itself, on a
# fresh one; a reset there by oq_fdw (counted)
cases.run("full listing: connection reset", transient, FULL, 0,
          rule(LIST_TASKS, forward=False, reset=True))
cases.run("full listing: a listing stalls past the timeout", transient, FULL, 1,
          rule(LIST_TASKS, delay=STALL_S))
cases.run("full scan: 3 task bodies cut short", transient, FULL, 3,
          rule(GET_TASKS, times=3, truncate=20))
cases.run("full scan: a GET stalls past the timeout", transient, FULL, 1,
          rule(GET_TASKS, delay=STALL_S))
cases.run("full scan: 500 on 2 GETs", transient, FULL, 2,
          rule(GET_TASKS, times=2, forward=False, respond={"status": 500}))


def index_transient(*rules, min_retries=1):
    transient(INDEX, min_retries, *rules)
    index_was_used()


cases.run("tag index: 503 SlowDown on its listing", index_transient,
          rule(LIST_TAGS, forward=False, respond={"status": 503, "code": "SlowDown"}))
cases.run("tag index: reset on a task GET", index_transient,
          rule(GET_TASKS, forward=False, reset=True), min_retries=0)
cases.run("id lookup: 500 then a reset", transient, BY_ID, 1,
          rule(GET_SOME, forward=False, respond={"status": 500}),
          rule(GET_SOME, forward=False, reset=True))

# ---- persistent faults: a clear error, within the timeouts

BUCKET_Q = 'bucket "%s"' % BUCKET
TASKS_Q = 'prefix "tasks/'               # a listing names its prefix
TAGS_Q = 'prefix "tags/customer/'
SOME_KEY = 'key "%s"' % task_key(SOME["id"])

cases.run("full listing: 503 SlowDown for good", persistent, FULL,
          (BUCKET_Q, TASKS_Q, "HTTP 503 SlowDown"), persistent_bound(),
          rule(LIST_TASKS, times=-1, forward=False, respond={"status": 503, "code": "SlowDown"}))
cases.run("full listing: stalls for good", persistent, FULL,
          (BUCKET_Q, TASKS_Q, "Timeout was reached"), persistent_bound(per_attempt=TIMEOUT_S),
          rule(LIST_TASKS, times=-1, delay=STALL_S),
          min_seconds=(RETRIES + 1) * TIMEOUT_S * 0.9)
cases.run("full listing: resets for good", persistent, FULL,
          (BUCKET_Q, TASKS_Q), persistent_bound(),
          rule(LIST_TASKS, times=-1, forward=False, reset=True))
cases.run("tag index: 500 on its listing for good", persistent, INDEX,
          (BUCKET_Q, TAGS_Q, "HTTP 500 InternalError"), persistent_bound(),
          rule(LIST_TAGS, times=-1, forward=False, respond={"status": 500}))
cases.run("tag index: a task GET stalls for good", persistent, INDEX,
          (BUCKET_Q, 'key "tasks/', "Timeout was reached"), persistent_bound(per_attempt=TIMEOUT_S),
          rule(GET_TASKS, times=-1, delay=STALL_S),
          min_seconds=(RETRIES + 1) * TIMEOUT_S * 0.9)
cases.run("id lookup: body cut short for good", persistent, BY_ID,
          (BUCKET_Q, SOME_KEY, "partial file"), persistent_bound(),
          rule(GET_SOME, times=-1, truncate=30))
cases.run("id lookup: 503 SlowDown for good", persistent, BY_ID,
          (BUCKET_Q, SOME_KEY, "HTTP 503 SlowDown"), persistent_bound(),
          rule(GET_SOME, times=-1, forward=False, respond={"status": 503, "code": "SlowDown"}))
cases.run("full listing: 500 with its error body cut short", persistent, FULL,
          (BUCKET_Q, TASKS_Q), persistent_bound(),
          rule(LIST_TASKS, times=-1, forward=False, respond={"status": 500}, truncate=12))

# ---- garbage: a clear error, not a crash, no rows made up

cases.run("full listing: malformed XML", persistent, FULL,
          (BUCKET_Q, TASKS_Q, "could not parse the S3 listing"), persistent_bound(),
          rule(LIST_TASKS, times=-1, garbage="xml"))
cases.run("full listing: binary garbage", persistent, FULL,
          (BUCKET_Q, TASKS_Q, "could not parse the S3 listing"), persistent_bound(),
          rule(LIST_TASKS, times=-1, garbage="binary"))
# a listing that always says "more, from where you started": never ends
STUCK = ('<?xml version="1.0" encoding="UTF-8"?>'
         '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>%s</Name>'
         '<KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>'
         '<NextContinuationToken>again</NextContinuationToken></ListBucketResult>' % BUCKET)
cases.run("full listing: a listing that never advances", persistent, FULL,
          (BUCKET_Q, TASKS_Q, "does not advance"), persistent_bound(),
          rule(LIST_TASKS, times=-1, forward=False, respond={"status": 200, "body": STUCK}))
cases.run("oq_list_objects: a listing that never advances", persistent,
          ("SELECT count(*) FROM oq_list_objects('fscan', 'tasks/')", None),
          (BUCKET_Q, TASKS_Q, "does not advance"), persistent_bound(),
          rule(LIST_TASKS, times=-1, forward=False, respond={"status": 200, "body": STUCK}))
STUCK_VERSIONS = ('<?xml version="1.0" encoding="UTF-8"?>'
                  '<ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>%s</Name>'
                  '<IsTruncated>true</IsTruncated><NextKeyMarker>k</NextKeyMarker>'
                  '<NextVersionIdMarker>v</NextVersionIdMarker></ListVersionsResult>' % BUCKET)
cases.run("oq_task_history: a version listing that never advances", persistent,
          ("SELECT count(*) FROM oq_task_history('fscan', '%s')" % SOME["id"], None),
          (BUCKET_Q, 'prefix "%s"' % task_key(SOME["id"]), "does not advance"), persistent_bound(),
          {"method": "GET", "key": "^$", "query": "versions", "times": -1, "forward": False,
           "respond": {"status": 200, "body": STUCK_VERSIONS}})
cases.run("tag index: listing cut short", persistent, INDEX,
          (BUCKET_Q, TAGS_Q, "partial file"), persistent_bound(),
          rule(LIST_TAGS, times=-1, truncate=100))


def invalid_object(path, *rules):
    query, _ = path
    rows, err, _, _ = scan(query, *rules)
    assert err is not None and err.sqlstate == "HV004", "expected HV004: %s" % err
    assert 'could not read task object "tasks/' in err.message and BUCKET_Q in err.message, err.message
    assert rows == [], rows
    recovered()


cases.run("full scan: a task object cut off (garbage JSON)", invalid_object, FULL,
          rule(GET_TASKS, garbage="json"))
cases.run("id lookup: binary garbage for a task object", invalid_object, BY_ID,
          rule(GET_SOME, garbage="binary"))


def no_crash():
    problems = watch.problems()
    assert not problems, problems
    assert int(session.value("SELECT pg_backend_pid()")) == session.pid, "the backend changed"


cases.run("no backend crashed; the session's backend is the same", no_crash)
session.close()
proxy.stop()
cases.done()
