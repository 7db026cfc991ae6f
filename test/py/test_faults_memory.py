#!/usr/bin/env python3
"""test_faults_memory.py - a backend stays flat through a hundred failed
scans.

One backend runs scans that fail in every way test/s3proxy.py can make
them fail (503 SlowDown, connection resets, stalls past the timeout,
bodies cut short, malformed listings, garbage task objects, failed index
listings), as top-level statements and inside a PL/pgSQL loop that catches
each error (a subtransaction abort).  After a warm-up, a hundred more
failures of each kind must leave the backend's resident memory (VmRSS)
within 2 MB and its memory contexts within 256 kB of where they were, and
its open file descriptors (libcurl's connections among them) bounded by
the connection pool's size: an error releases every request, handle and
buffer.  The backend then still scans correctly.
"""
import time

from faulttest import CrashWatch, exact, start_proxy, task_key
from oqtest import (Checks, Session, backend_resources, create_server, seed_tasks,
                    under_valgrind)

BUCKET = "oq-faults"
N = 40
MAX_CONCURRENCY = 4
RSS_GROWTH_KB = 2048
CONTEXT_GROWTH = 256 * 1024

# short timeouts make a hundred stalls quick; valgrind needs longer ones
TIMEOUT_MS = 3000 if under_valgrind() else 200
STALL_S = TIMEOUT_MS / 1000.0 + 0.1

c = Checks()
proxy = start_proxy()
tasks = seed_tasks(BUCKET, N, seed=11, index=True)
create_server("fmem", BUCKET, schema="fm", endpoint=proxy.endpoint,
              options="max_retries '0', request_timeout_ms '%d', connect_timeout_ms '%d', "
                      "max_concurrency '%d'" % (TIMEOUT_MS, TIMEOUT_MS, MAX_CONCURRENCY))
# the same bucket with the default timeouts: is the backend healthy?
create_server("fok", BUCKET, schema="fo", endpoint=proxy.endpoint)
watch = CrashWatch()
customer = next(t["tags"]["customer"] for t in tasks if t["tags"].get("customer"))

FULL = "SELECT count(*) FROM fm.tasks"
INDEX = "SELECT count(*) FROM fm.tasks WHERE tags->>'customer' = '%s'" % customer
BY_ID = "SELECT count(*) FROM fm.tasks WHERE id = '%s'" % tasks[3]["id"]
LIST_TASKS = {"method": "GET", "key": "^$", "query": "prefix=tasks", "times": -1}
LIST_TAGS = {"method": "GET", "key": "^$", "query": "prefix=tags", "times": -1}
GET_TASKS = {"method": "GET", "key": "^tasks/", "times": -1}
GET_ONE = {"method": "GET", "key": exact(task_key(tasks[3]["id"])), "times": -1}


def rule(base, **kw):
    r = dict(base)
    r.update(kw)
    return r


# (name, query, rule, how many of the hundred)
KINDS = [
    ("503 SlowDown on the listings", FULL,
     rule(LIST_TASKS, forward=False, respond={"status": 503, "code": "SlowDown"}), 15),
    ("connection resets on the listings", FULL, rule(LIST_TASKS, forward=False, reset=True), 15),
    ("malformed listing XML", FULL, rule(LIST_TASKS, garbage="xml"), 15),
    ("task bodies cut short", FULL, rule(GET_TASKS, truncate=25), 15),
    ("garbage task objects", INDEX, rule(GET_TASKS, garbage="json"), 15),
    ("500 on the tag index listing", INDEX, rule(LIST_TAGS, forward=False, respond={"status": 500}), 15),
    ("an id lookup that stalls past the timeout", BY_ID, rule(GET_ONE, delay=STALL_S), 10),
]
assert sum(k[3] for k in KINDS) == 100

session = Session()
session.rows("SELECT oq_stats_reset(); SET oq_fdw.cache_size = 0")
HEALTHY = "SELECT count(*) FROM fo.tasks"
c.check(session.value(HEALTHY) == str(N), "the backend scans %d tasks before any fault" % N)


def rss_check(before, after):
    if under_valgrind():
        # memcheck holds freed blocks back (--freelist-vol) and translates
        # new code: its RSS says nothing about ours.  It checks leaks itself.
        print("      (under valgrind: VmRSS grew by %d kB, not checked)" % (after - before))
        return
    c.check(after - before < RSS_GROWTH_KB, "VmRSS grew by %d kB (< %d)" % (after - before, RSS_GROWTH_KB))


def fail_scans(kind, times):
    name, query, r, _ = kind
    t0 = time.monotonic()
    proxy.disarm()
    proxy.arm(r)
    codes = set()
    for _ in range(times):
        _, err, _ = session.run(query)
        codes.add(err.sqlstate if err else "no error")
    proxy.disarm()
    proxy.wait_idle(30)
    print("      %d x %s: %.1f s" % (times, name, time.monotonic() - t0))
    return codes


# warm-up: every kind a few times, so that what is allocated once (caches,
# libcurl's and libxml2's one-time state, the connection pool) is there
for kind in KINDS:
    fail_scans(kind, 3)
rss0, mem0, fds0 = backend_resources(session)
print("after the warm-up: VmRSS %d kB, memory contexts %d bytes, %d open files" % (rss0, mem0, fds0))

for kind in KINDS:
    codes = fail_scans(kind, kind[3])
    c.check(codes and all(code.startswith("HV") for code in codes),
            "%d x %s: each an error of class HV (%s)" % (kind[3], kind[0], ", ".join(sorted(codes))))
rss1, mem1, fds1 = backend_resources(session)
print("after 100 failed scans: VmRSS %d kB, memory contexts %d bytes, %d open files" % (rss1, mem1, fds1))
rss_check(rss0, rss1)
c.check(mem1 - mem0 < CONTEXT_GROWTH, "memory contexts grew by %d bytes (< %d)" % (mem1 - mem0, CONTEXT_GROWTH))
c.check(fds1 <= fds0 + 2 * MAX_CONCURRENCY,
        "open files: %d, at most the %d before plus the pool's %d connections" % (fds1, fds0, 2 * MAX_CONCURRENCY))

# the same inside PL/pgSQL: each error aborts a subtransaction only
LOOP = """DO $$
DECLARE n int := 0;
BEGIN
  FOR i IN 1..%d LOOP
    BEGIN
      PERFORM count(*) FROM fm.tasks;
    EXCEPTION WHEN OTHERS THEN
      IF SQLSTATE NOT LIKE 'HV%%' THEN RAISE; END IF;
      n := n + 1;
    END;
  END LOOP;
  RAISE NOTICE 'caught %% errors', n;
END $$"""
proxy.arm(rule(LIST_TASKS, forward=False, respond={"status": 503, "code": "SlowDown"}))
session.rows(LOOP % 10)
rss2, mem2, fds2 = backend_resources(session)
_, err, notes = session.run(LOOP % 100)
proxy.disarm()
rss3, mem3, fds3 = backend_resources(session)
print("a PL/pgSQL loop of 100 caught errors: VmRSS %d -> %d kB, memory contexts %d -> %d bytes, "
      "open files %d -> %d" % (rss2, rss3, mem2, mem3, fds2, fds3))
c.check(err is None and any("caught 100 errors" in n for n in notes),
        "the loop caught 100 scan errors (%s)" % (err or [n for n in notes if "caught" in n]))
rss_check(rss2, rss3)
c.check(mem3 - mem2 < CONTEXT_GROWTH, "memory contexts grew by %d bytes (< %d)" % (mem3 - mem2, CONTEXT_GROWTH))
c.check(fds3 <= fds2 + 2 * MAX_CONCURRENCY, "open files: %d -> %d" % (fds2, fds3))

c.check(session.value(HEALTHY) == str(N), "the same backend still scans %d tasks" % N)
c.check(not watch.problems(), "no backend crashed (%s)" % watch.problems())
session.close()
proxy.stop()
c.done()
