"""oqtest.py - small helpers for the python tests in test/py/.

The harness (test/run) gives every test a database with the extension, the
moto endpoint and keys in the environment (see test/README.md).  These
helpers talk to PostgreSQL through psql (no psycopg on these machines) and
to S3 through boto3, and never print a secret.
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import gen_tasks  # noqa: E402  (test/gen_tasks.py)

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


def create_server(name, bucket, schema=None, options=""):
    """A server on the test moto (and its user mapping, and IMPORTed tasks)."""
    psql("""
\\getenv endpoint OQ_TEST_ENDPOINT
\\getenv region OQ_TEST_REGION
\\getenv key OQ_TEST_ACCESS_KEY_ID
\\getenv secret OQ_TEST_SECRET_ACCESS_KEY
CREATE SERVER %(name)s FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket '%(bucket)s', endpoint :'endpoint', region :'region'%(options)s);
CREATE USER MAPPING FOR CURRENT_USER SERVER %(name)s
  OPTIONS (access_key_id :'key', secret_access_key :'secret');
""" % dict(name=name, bucket=bucket, options=(", " + options) if options else ""))
    if schema:
        psql("CREATE SCHEMA %s; IMPORT FOREIGN SCHEMA oq FROM SERVER %s INTO %s"
             % (schema, name, schema))


def seed_tasks(bucket, count, seed, index=False):
    """Upload 'count' generated tasks; returns them (dicts in the bucket format)."""
    tasks = gen_tasks.generate_tasks(count, seed=seed)
    gen_tasks.upload(s3(), bucket, gen_tasks.objects_for(tasks, index=index))
    return tasks


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
