"""faulttest.py - helpers of the fault tests (test_faults_*.py,
test_cancel_writes.py).

They put test/s3proxy.py between oq_fdw and moto, make servers that reach
S3 through it with small timeouts (so that a persistent fault ends in an
error within seconds), run named cases that each leave the proxy disarmed
and idle, and check what an error says.
"""
import os
import re
import sys
import time
import traceback

from oqtest import create_server, psql, slowness, under_valgrind  # noqa: F401
from s3proxy import S3Proxy

# Per request: connect within 500 ms, answer within 600 ms; 2 retries of
# what may be retried.  A persistent fault fails a statement within about
# (RETRIES + 1) * TIMEOUT_S plus backoff (at most 0.1 s + 0.2 s here).
# Under valgrind a backend runs code it has not run before so slowly that
# a healthy request can take longer: 5 s there.
TIMEOUT_MS = 5000 if under_valgrind() else 600
TIMEOUT_S = TIMEOUT_MS / 1000.0
RETRIES = 2
FAULT_OPTIONS = ("max_retries '%d', request_timeout_ms '%d', connect_timeout_ms '%d'"
                 % (RETRIES, TIMEOUT_MS, TIMEOUT_MS))
# longer than TIMEOUT_S: a stall the client gives up on
STALL_S = TIMEOUT_S + 0.4


def start_proxy(**kw):
    return S3Proxy(os.environ["OQ_TEST_ENDPOINT"], **kw).start()


def fault_server(name, bucket, proxy, schema=None, options=""):
    """A server on bucket through the proxy, with the small timeouts."""
    create_server(name, bucket, schema=schema, endpoint=proxy.endpoint,
                  options=FAULT_OPTIONS + ((", " + options) if options else ""))


def task_key(tid):
    return "tasks/%s/%s.json" % (tid[0], tid)


def exact(key):
    """A rule's key pattern that matches this key only."""
    return "^" + re.escape(key) + "$"


def persistent_bound(attempts=RETRIES + 1, per_attempt=0.1):
    """Seconds a statement may take to fail when every attempt fails after
    per_attempt seconds: the attempts, the backoffs between them (at most
    0.1 s, 0.2 s, ...) and 2 s of slack, scaled under valgrind."""
    backoff = sum(min(0.1 * 2 ** i, 10) for i in range(attempts - 1))
    return (attempts * per_attempt + backoff + 2.0) * slowness()


def check_fdw_error(err, *fragments):
    """An error of class HV (foreign data wrapper) whose message has every
    fragment; returns a description of what is wrong, or None."""
    if err is None:
        return "no error"
    if not err.sqlstate.startswith("HV"):
        return "SQLSTATE %s is not of class HV: %s" % (err.sqlstate, err.message)
    missing = [f for f in fragments if f not in err.message]
    if missing:
        return "message %r lacks %s" % (err.message, missing)
    return None


class Cases:
    """Named cases, each run with the proxy disarmed before and after and
    waited idle after (a delayed request may still be on its way to S3).
    A failing case is reported and the others still run."""

    def __init__(self, proxy):
        self.proxy = proxy
        self.failed = []
        self.count = 0
        self.start = time.monotonic()

    def run(self, name, fn, *args, **kwargs):
        self.count += 1
        self.proxy.disarm()
        self.proxy.clear_log()
        t0 = time.monotonic()
        try:
            fn(*args, **kwargs)
            print("ok    %s (%.1f s)" % (name, time.monotonic() - t0), flush=True)
        except Exception:
            self.failed.append(name)
            print("FAIL  %s (%.1f s)" % (name, time.monotonic() - t0), flush=True)
            traceback.print_exc(file=sys.stdout)
        finally:
            self.proxy.disarm()
            if not self.proxy.wait_idle(60):
                print("      (the proxy still had requests in flight after 60 s)")

    def done(self):
        print("%d cases in %.0f s" % (self.count, time.monotonic() - self.start))
        if self.failed:
            print("%d of %d failed: %s" % (len(self.failed), self.count, ", ".join(self.failed)))
            sys.exit(1)
        print("all %d passed" % self.count)
        sys.exit(0)


class CrashWatch:
    """Notices a backend crash between start and check(): the postmaster
    restarts everything after one (its start time changes) and logs it."""

    def __init__(self):
        self.started = psql("SELECT pg_postmaster_start_time()")[0][0]
        self.log = os.environ.get("OQ_PG_LOG")
        self.offset = os.path.getsize(self.log) if self.log and os.path.exists(self.log) else 0

    def problems(self):
        found = []
        if psql("SELECT pg_postmaster_start_time()")[0][0] != self.started:
            found.append("the server restarted (a backend crashed)")
        if self.log and os.path.exists(self.log):
            with open(self.log, encoding="utf-8", errors="replace") as f:
                f.seek(self.offset)
                for line in f:
                    if "terminated by signal" in line or "was terminated by" in line \
                            or "exited with exit code" in line:
                        found.append(line.strip()[:200])
        return found
