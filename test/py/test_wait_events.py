#!/usr/bin/env python3
"""test_wait_events.py - a backend waiting on S3 says so in pg_stat_activity.

test/s3proxy.py holds the answers to the GETs of task objects for a while
(answer_delay); while a scan waits for them, another session reads the
scanning backend's row of pg_stat_activity: wait_event_type is Extension,
and wait_event is OqS3Request on PostgreSQL 17 and later (custom wait
events), Extension before.  The scan then returns every task.
"""
import sys
import threading
import time

from faulttest import CrashWatch, start_proxy
from oqtest import Session, create_server, psql, seed_tasks, slowness

BUCKET = "oq-waits"
N = 4
DELAY_S = 3.0 * slowness()

proxy = start_proxy()
seed_tasks(BUCKET, N, seed=9)
create_server("waits", BUCKET, schema="wt", endpoint=proxy.endpoint,
              options="request_timeout_ms '%d'" % int((DELAY_S + 30) * 1000))
watch = CrashWatch()
version = int(psql("SHOW server_version_num")[0][0])
want_event = "OqS3Request" if version >= 170000 else "Extension"

session = Session()
session.rows("SET oq_fdw.cache_size = 0")
result = {}


def scan():
    result["rows"], result["error"], _ = session.run("SELECT count(*) FROM wt.tasks")


proxy.arm({"method": "GET", "key": "^tasks/", "times": -1, "answer_delay": DELAY_S})
worker = threading.Thread(target=scan)
worker.start()
seen = []
deadline = time.monotonic() + DELAY_S * N + 30
while worker.is_alive() and time.monotonic() < deadline:
    row = psql("SELECT coalesce(wait_event_type, ''), coalesce(wait_event, ''), state "
               "FROM pg_stat_activity WHERE pid = %d" % session.pid)
    if row and row[0][2] == "active":
        seen.append((row[0][0], row[0][1]))
        if row[0][0] == "Extension":
            break
    time.sleep(0.05)
worker.join(DELAY_S * N + 60)
proxy.disarm()

failures = []
if ("Extension", want_event) not in seen:
    failures.append("the waiting backend never showed wait_event_type Extension / %s: saw %r"
                    % (want_event, sorted(set(seen))))
if worker.is_alive():
    failures.append("the scan did not finish")
elif result.get("error") is not None or result.get("rows") != [[str(N)]]:
    failures.append("the scan returned %r, error %r" % (result.get("rows"), result.get("error")))
session.close()
failures += watch.problems()
proxy.stop()
for f in failures:
    print("FAIL  %s" % f)
if failures:
    sys.exit(1)
print("ok    a scan waiting on S3 shows Extension / %s in pg_stat_activity" % want_event)
