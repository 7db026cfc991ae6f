"""oqtest.py - small helpers for the python tests in test/py/.

The harness (test/run) gives every test a database with the extension, the
moto endpoint and keys in the environment (see test/README.md).  These
helpers talk to PostgreSQL through psql (no psycopg on these machines) and
to S3 through boto3, and never print a secret.
"""
import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import gen_tasks  # test/gen_tasks.py

SKIP = 77

# Bounds on how long something may take (a cancel within a second) hold for
# the code, not for valgrind's emulation of it, which runs tens of times
# slower: under test/run --valgrind they are scaled.
TIME_SCALE = 25 if os.environ.get("OQ_TEST_VALGRIND") == "1" else 1


class SqlError(Exception):
    def __init__(self, sqlstate, message):
        super().__init__("%s: %s" % (sqlstate, message))
        self.sqlstate = sqlstate
        self.message = message


def psql(sql, db=None, timeout=300):
    """Run SQL; return the rows of the last statement as lists of strings.

    Raises SqlError with the SQLSTATE on an error.
    """
    env = dict(os.environ)
    if db:
        env["PGDATABASE"] = db
    # the script goes through stdin, so \getenv works and nothing (no
    # secret) shows in the process list
    proc = subprocess.run(
        ["psql", "-X", "-q", "-At", "-F", "\x1f", "-v", "ON_ERROR_STOP=1",
         "-v", "VERBOSITY=verbose", "-f", "-"],
        input=sql, capture_output=True, text=True, env=env, timeout=timeout)
    if proc.returncode != 0:
        raise _sql_error(proc.stderr)
    return [line.split("\x1f") for line in proc.stdout.splitlines() if line != ""]


def _sql_error(stderr):
    # VERBOSITY verbose: "ERROR:  57014: canceling statement ..."
    for line in stderr.splitlines():
        at = line.find("ERROR:")
        if at >= 0:
            rest = line[at + len("ERROR:"):].strip()
            code, _, msg = rest.partition(": ")
            return SqlError(code, msg)
    return SqlError("?????", stderr.strip())


def value(sql, db=None):
    rows = psql(sql, db)
    return rows[0][0] if rows else None


def with_stats(sql, db=None):
    """Run sql in a fresh session; return (its rows, the oq_stats() it caused).

    oq_stats() counts per backend, so the query and the counters must share
    one psql session.
    """
    marker = "--oq-stats--"
    rows = psql("SELECT oq_stats_reset();\n%s;\nSELECT '%s';\nSELECT name, value FROM oq_stats();"
                % (sql.rstrip().rstrip(";"), marker), db)
    at = rows.index([marker])
    return rows[1:at] if rows and rows[0] == [""] else rows[:at], \
        {name: int(v) for name, v in rows[at + 1:]}


def s3():
    return gen_tasks.s3_client(os.environ["OQ_TEST_ENDPOINT"],
                               os.environ.get("OQ_TEST_REGION", "us-east-1"),
                               os.environ["OQ_TEST_ACCESS_KEY_ID"],
                               os.environ["OQ_TEST_SECRET_ACCESS_KEY"])


def create_server(name, bucket, schema=None, options="", endpoint=None):
    """A server on the test moto, or on endpoint (a proxy in front of it),
    its user mapping, and IMPORTed tasks in schema."""
    psql("""
\\getenv endpoint OQ_TEST_ENDPOINT
\\getenv region OQ_TEST_REGION
\\getenv key OQ_TEST_ACCESS_KEY_ID
\\getenv secret OQ_TEST_SECRET_ACCESS_KEY
%(set_endpoint)sCREATE SERVER %(name)s FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket '%(bucket)s', endpoint :'endpoint', region :'region'%(options)s);
CREATE USER MAPPING FOR CURRENT_USER SERVER %(name)s
  OPTIONS (access_key_id :'key', secret_access_key :'secret');
""" % dict(name=name, bucket=bucket, options=(", " + options) if options else "",
           set_endpoint=("\\set endpoint '%s'\n" % endpoint) if endpoint else ""))
    if schema:
        psql("CREATE SCHEMA %s; IMPORT FOREIGN SCHEMA oq FROM SERVER %s INTO %s"
             % (schema, name, schema))


def seed_tasks(bucket, count, seed, index=False):
    """Upload 'count' generated tasks; returns them (dicts in the bucket format)."""
    tasks = gen_tasks.generate_tasks(count, seed=seed)
    gen_tasks.upload(s3(), bucket, gen_tasks.objects_for(tasks, index=index))
    return tasks


class Session:
    """One psql process, so one backend, for many statements.

    For what must happen in one backend (its memory, its caches, its
    counters) while the test does other things between statements.  Errors
    do not end the session: run() returns them.
    """

    def __init__(self, db=None, user=None):
        env = dict(os.environ)
        if db:
            env["PGDATABASE"] = db
        if user:
            env["PGUSER"] = user
        self.proc = subprocess.Popen(
            ["psql", "-X", "-q", "-At", "-F", "\x1f", "-v", "VERBOSITY=verbose", "-f", "-"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, bufsize=1, env=env)
        self._n = 0
        self._lines = {"out": queue.Queue(), "err": queue.Queue()}
        for name, stream in (("out", self.proc.stdout), ("err", self.proc.stderr)):
            threading.Thread(target=self._reader, args=(stream, self._lines[name]), daemon=True).start()
        self.pid = int(self.run("SELECT pg_backend_pid()")[0][0][0])

    @staticmethod
    def _reader(stream, q):
        for line in stream:
            q.put(line.rstrip("\n"))
        q.put(None)

    def _until(self, name, marker, deadline):
        lines = []
        while True:
            try:
                line = self._lines[name].get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise TimeoutError("psql session %s gave no answer in time" % self.pid)
            if line is None:
                raise RuntimeError("psql session ended (exit %s)" % self.proc.wait())
            if line == marker:
                return lines
            lines.append(line)

    def run(self, sql, timeout=300):
        """Run statements; returns (rows of all of them, the first error or
        None, stderr lines).  The error is a SqlError."""
        self._n += 1
        marker = "__oq_session_mark_%d__" % self._n
        self.proc.stdin.write("%s;\n\\echo %s\n\\warn %s\n" % (sql.rstrip().rstrip(";"), marker, marker))
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        out = self._until("out", marker, deadline)
        err = self._until("err", marker, deadline)
        error = _sql_error("\n".join(err)) if any("ERROR:" in line for line in err) else None
        return [line.split("\x1f") for line in out if line != ""], error, err

    def rows(self, sql, timeout=300):
        """Rows of statements that must succeed."""
        rows, error, _ = self.run(sql, timeout)
        if error:
            raise error
        return rows

    def value(self, sql):
        rows = self.rows(sql)
        return rows[0][0] if rows else None

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def backend_resources(session):
    """(VmRSS in kB, sum of memory context bytes, open file descriptors) of
    a session's backend, read by the backend itself (superuser)."""
    rss, mem, fds = session.rows(
        "SELECT substring(pg_read_file('/proc/self/status') from 'VmRSS:\\s*(\\d+)'),"
        " (SELECT sum(total_bytes) FROM pg_backend_memory_contexts),"
        " (SELECT count(*) FROM pg_ls_dir('/proc/self/fd'))")[0]
    return int(rss), int(mem), int(fds)


_valgrind = None


def under_valgrind():
    """Whether the server runs under valgrind (test/run --valgrind)."""
    global _valgrind
    if _valgrind is None:
        _valgrind = value("SELECT pg_read_file('/proc/self/maps') LIKE '%vgpreload%'") == "t"
    return _valgrind


def slowness():
    """A factor for time limits: 1, or more when the server is slowed down."""
    return 10 if under_valgrind() else 1


# -- the bucket as the queue's workers see it --

# every field a reference producer writes
TASK_FIELDS = ("id", "shard", "task_type", "input", "output", "tags", "timeout_seconds",
               "max_retries", "retry_count", "retry_policy", "status", "created_at",
               "available_at", "updated_at", "lease_expires_at", "lease_id", "attempt",
               "completed_at", "worker_id", "last_error", "reschedule_count", "cancel_requested")
_INDEXABLE_KEY = re.compile(r"^[a-z0-9_-]{1,64}$")


def indexable_key(k):
    return bool(_INDEXABLE_KEY.match(k)) and not k.startswith("oq_") and not k.startswith("_")


def list_keys(client, bucket, prefix):
    keys = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(o["Key"] for o in page.get("Contents", []))
    return keys


def bucket_state(client, bucket, tag_index=True, keys=None):
    """Read every task of a bucket (or those at keys); returns
    ({id: task}, [problems]).

    A problem is a task object that is not a complete task (invalid JSON,
    a missing field, an id or shard that does not match its key, tags that
    are not strings) or, with tag_index, a tag without its index entry.
    """
    problems = []
    if keys is None:
        keys = [k for k in list_keys(client, bucket, "tasks/") if k.endswith(".json")]
        entries = set(list_keys(client, bucket, "tags/")) if tag_index else set()
    else:
        entries = None      # a few tasks: look their entries up one by one

    def get(key):
        return key, client.get_object(Bucket=bucket, Key=key)["Body"].read()

    def exists(key):
        try:
            client.head_object(Bucket=bucket, Key=key)
            return True
        except client.exceptions.ClientError as e:
            if e.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    tasks = {}
    with ThreadPoolExecutor(16) as ex:
        bodies = list(ex.map(get, keys))
        for key, body in bodies:
            try:
                t = json.loads(body)
            except ValueError as e:
                problems.append("%s: not JSON (%s)" % (key, e))
                continue
            if not isinstance(t, dict):
                problems.append("%s: not an object" % key)
                continue
            missing = [f for f in TASK_FIELDS if f not in t]
            if missing:
                problems.append("%s: missing %s" % (key, ", ".join(missing)))
                continue
            if "tasks/%s/%s.json" % (t["shard"], t["id"]) != key:
                problems.append("%s: id %s / shard %s do not match the key" % (key, t["id"], t["shard"]))
            tags = t["tags"]
            if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
                problems.append("%s: tags are not an object of strings" % key)
                continue
            tasks[t["id"]] = t
            if not tag_index:
                continue
            wanted = ["tags/%s/%s/%s" % (k, gen_tasks.index_segment(v), t["id"])
                      for k, v in tags.items() if indexable_key(k)]
            if entries is None:
                have = dict(zip(wanted, ex.map(exists, wanted)))
            else:
                have = {e: e in entries for e in wanted}
            problems.extend("%s: tag index entry %s is missing" % (key, e)
                            for e, ok in have.items() if not ok)
    return tasks, problems


class Checks:
    """Collects failed checks so one run reports all of them."""

    def __init__(self):
        self.failures = []

    def check(self, cond, what):
        print(("ok    " if cond else "FAIL  ") + what, flush=True)
        if not cond:
            self.failures.append(what)

    def done(self):
        if self.failures:
            print("%d check(s) failed" % len(self.failures))
            sys.exit(1)
        print("all checks passed")
        sys.exit(0)


class Timer:
    def __enter__(self):
        self.start = time.monotonic()
        return self

    def __exit__(self, *exc):
        self.elapsed = time.monotonic() - self.start
        return False
