#!/usr/bin/env python3
"""test_hung_server.py - an S3 endpoint that accepts connections and never
answers ends a request within its deadline, with an error that says how
long it waited and how many attempts were made; a cancel or
statement_timeout ends the wait promptly.

The endpoint is a listener on 127.0.0.1 that accepts every connection,
reads what it is sent and never answers.  Each attempt opens a connection
of its own (a timed-out transfer is not reused), so the listener's count
of connections is the number of attempts.  Servers use small timeouts
(request_timeout_ms 400, request_deadline_ms 1500) so that each case takes
seconds; the only timing checks are generous upper bounds, and that the
time the error reports is no more than the time the statement took.
"""
import re
import socket
import threading
import time

from faulttest import CrashWatch
from oqtest import Checks, Session, create_server, psql, slowness

DEADLINE_MS = 1500
TIMEOUT_MS = 400


class HungServer:
    """Accepts connections on 127.0.0.1 and never answers."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.endpoint = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.conns = []
        self.requests = 0           # connections that sent a request
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.conns.append(conn)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn):
        counted = False
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                if not counted:
                    counted = True
                    with self.lock:
                        self.requests += 1
        except OSError:
            return

    def connections(self):
        with self.lock:
            return len(self.conns)

    def reset(self):
        """Close what is open; start counting again."""
        with self.lock:
            for conn in self.conns:
                conn.close()
            self.conns = []
            self.requests = 0

    def stop(self):
        self.stopped = True
        self.sock.close()
        self.reset()


c = Checks()
hung = HungServer()
watch = CrashWatch()
create_server("hung", "oq-hung", schema="hung", endpoint=hung.endpoint,
              options="request_timeout_ms '%d', request_deadline_ms '%d', max_retries '100', "
                      "connect_timeout_ms '%d'" % (TIMEOUT_MS, DEADLINE_MS, TIMEOUT_MS))
create_server("hung_once", "oq-hung", endpoint=hung.endpoint,
              options="request_timeout_ms '%d', max_retries '0'" % TIMEOUT_MS)
# no deadline of its own that would end the wait before the cancel does
create_server("hung_long", "oq-hung", endpoint=hung.endpoint,
              options="request_timeout_ms '600000', request_deadline_ms '600000'")
session = Session()
ATTEMPTS_RE = re.compile(r"(\d+) (attempt was|attempts were) made in (\d+\.\d) s")


def failing(sql):
    """Run sql in the session against the hung server; returns (error,
    detail line, hint line, wall seconds)."""
    hung.reset()
    start = time.monotonic()
    _, err, stderr = session.run(sql)
    wall = time.monotonic() - start
    detail = next((line for line in stderr if line.startswith("DETAIL:")), "")
    hint = next((line for line in stderr if line.startswith("HINT:")), "")
    print("      %s\n      %s\n      %s\n      (%.2f s, %d connections)"
          % (err, detail, hint, wall, hung.connections()))
    return err, detail, hint, wall


def check_timeout_error(what, err, detail, wall, fragments):
    c.check(err is not None and err.sqlstate == "HV00N",
            "%s: SQLSTATE HV00N (fdw_unable_to_establish_connection) (got %s)"
            % (what, err and err.sqlstate))
    c.check(err is not None and all(f in err.message for f in fragments),
            "%s: the message names %s" % (what, fragments))
    m = ATTEMPTS_RE.search(detail)
    c.check(m is not None, "%s: the detail says how many attempts and how long (%r)" % (what, detail))
    if m is None:
        return None, None
    attempts, seconds = int(m.group(1)), float(m.group(3))
    c.check(seconds <= wall + 0.1,
            "%s: the wait it reports (%.1f s) is within the statement's (%.2f s)" % (what, seconds, wall))
    return attempts, seconds


# 1. retries inside the deadline: several attempts, each a connection, and
# the error ends the statement within the deadline (generous bound)
err, detail, hint, wall = failing("SELECT oq_get_object('hung', 'x')")
attempts, seconds = check_timeout_error("GET", err, detail, wall,
                                        ['could not GET key "x" in bucket "oq-hung"', "Timeout was reached"])
if attempts is not None:
    c.check(attempts >= 2 and attempts == hung.connections() == hung.requests,
            "GET: %d attempts reported, %d connections and %d requests received"
            % (attempts, hung.connections(), hung.requests))
    c.check("attempts were made" in detail and "request_deadline_ms %d" % DEADLINE_MS in detail,
            "GET: the detail says the deadline ended the retries, in the plural")
    # the deadline, not max_retries (100), ended it: it waited at least half
    # of the deadline.  No tight upper bound: every attempt is cut to the
    # time left, but on a loaded machine noticing that an attempt timed out
    # can take a while; the statement's own time bounds it below.
    c.check(seconds >= DEADLINE_MS / 2000.0 and attempts < 100,
            "GET: the wait it reports (%.1f s, %d attempts) shows the deadline (%.1f s) ended it"
            % (seconds, attempts, DEADLINE_MS / 1000.0))
c.check("request_timeout_ms" in hint and "request_deadline_ms" in hint,
        "GET: the hint names the options that bound the wait (%r)" % hint)
c.check(wall < (DEADLINE_MS / 1000.0 + 5) * slowness(),
        "GET: the statement ended %.2f s after it started (deadline %.1f s)" % (wall, DEADLINE_MS / 1000.0))

# 2. one attempt: the singular, and no retry
err, detail, hint, wall = failing("SELECT oq_get_object('hung_once', 'y')")
attempts, seconds = check_timeout_error("one attempt", err, detail, wall,
                                        ['could not GET key "y"', "Timeout was reached"])
c.check(attempts == 1 and "1 attempt was made in" in detail and hung.connections() == 1,
        "one attempt: the detail says \"1 attempt was made\" and 1 connection was made (%d)"
        % hung.connections())

# 3. a scan: its listings end the same way
err, detail, hint, wall = failing("SELECT count(*) FROM hung.tasks")
attempts, seconds = check_timeout_error("scan", err, detail, wall,
                                        ["could not LIST prefix", "Timeout was reached"])
c.check(wall < (DEADLINE_MS / 1000.0 + 5) * slowness(),
        "scan: the statement ended %.2f s after it started" % wall)

# 4. statement_timeout ends a wait the deadline would not end for minutes
session.rows("SET statement_timeout = '500ms'")
err, detail, hint, wall = failing("SELECT oq_get_object('hung_long', 'z')")
session.rows("RESET statement_timeout")
c.check(err is not None and err.sqlstate == "57014",
        "statement_timeout: the statement is cancelled (%s)" % err)
c.check(wall < 0.5 + 2.0 * slowness(), "statement_timeout: it ended %.2f s after it started" % wall)

# 5. pg_cancel_backend from another session, once the request is out
hung.reset()
result = {}


def run_get():
    start = time.monotonic()
    _, result["err"], _ = session.run("SELECT oq_get_object('hung_long', 'w')")
    result["end"] = time.monotonic()
    result["start"] = start


th = threading.Thread(target=run_get)
th.start()
deadline = time.monotonic() + 30 * slowness()
while hung.requests == 0 and time.monotonic() < deadline:
    time.sleep(0.02)
time.sleep(0.2)
cancel_at = time.monotonic()
psql("SELECT pg_cancel_backend(%d)" % session.pid)
th.join(60)
c.check(result.get("err") is not None and result["err"].sqlstate == "57014",
        "pg_cancel_backend: the statement is cancelled (%s)" % result.get("err"))
c.check("end" in result and result["end"] - cancel_at < 2.0 * slowness(),
        "pg_cancel_backend: it ended %.2f s after the cancel"
        % (result.get("end", float("inf")) - cancel_at))

c.check(session.value("SELECT 1") == "1" and int(session.value("SELECT pg_backend_pid()")) == session.pid,
        "the session works afterwards, in the same backend")
c.check(not watch.problems(), "no backend crashed (%s)" % watch.problems())
session.close()
hung.stop()
c.done()
