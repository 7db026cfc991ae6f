#!/usr/bin/env python3
"""A bucket of a few thousand tasks: read completely and exactly once, with
the generator's values; LIMIT stops fetching early; a cancel or
statement_timeout ends a long scan promptly."""
import json
import random
import subprocess
import time

from oqtest import TIME_SCALE, Checks, SqlError, Timer, create_server, psql, seed_tasks, value, with_stats

N = 3000
BUCKET = "oq-scan"

c = Checks()
tasks = seed_tasks(BUCKET, N, seed=3)
by_id = {t["id"]: t for t in tasks}
create_server("scan", BUCKET, schema="sc")

# everything, exactly once
rows = psql("SELECT id FROM sc.tasks")
ids = [r[0] for r in rows]
c.check(len(ids) == N, "full scan returns %d rows (got %d)" % (N, len(ids)))
c.check(len(set(ids)) == len(ids), "no task twice")
c.check(set(ids) == set(by_id), "exactly the generated ids")

# values of a sample, compared with what the generator wrote
sample = random.Random(5).sample(sorted(by_id), 25)
rows = psql("""SELECT id, task_type, status, tags::text, input::text, attempt,
                      to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
               FROM sc.tasks WHERE id = ANY ('{%s}')""" % ",".join(sample))
c.check(len(rows) == len(sample), "id lookup of %d sampled ids returns them all" % len(sample))
for tid, ttype, status, tags, inp, attempt, created in rows:
    t = by_id[tid]
    ok = (ttype == t["task_type"] and status == t["status"] and json.loads(tags) == t["tags"]
          and json.loads(inp) == t["input"] and int(attempt) == t["attempt"]
          and created == t["created_at"][:26] + "Z" if "." in t["created_at"] else True)
    c.check(ok, "values of task %s match the generator" % tid)

# a parallel scan (opt-in: parallel_workers) shares the shard listings
# among the workers and returns exactly what the serial scan does
psql("ALTER FOREIGN TABLE sc.tasks OPTIONS (ADD parallel_workers '2')")
par = "SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;"
plan = "\n".join(r[0] for r in psql(par + "EXPLAIN (COSTS OFF) SELECT id FROM sc.tasks"))
c.check("Gather" in plan and "Parallel Foreign Scan" in plan, "the plan is a parallel foreign scan")
rows = psql(par + "SELECT id FROM sc.tasks")
pids = [r[0] for r in rows]
c.check(len(pids) == N and set(pids) == set(by_id), "parallel scan: the same %d ids, each once" % N)
plan = "\n".join(r[0] for r in psql(
    par + "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT id FROM sc.tasks"))
c.check("Workers Launched: 2" in plan, "two workers took part")
psql("ALTER FOREIGN TABLE sc.tasks OPTIONS (DROP parallel_workers)")

# a LIMIT reads little more than it returns: at most max_concurrency GETs
# beyond the rows needed, one listing page per shard prefix
rows, st = with_stats("SELECT count(*) FROM (SELECT id FROM sc.tasks LIMIT 10) s")
c.check(rows == [["10"]], "LIMIT 10 returns 10 rows")
c.check(st["requests_get"] <= 10 + 32,
        "LIMIT 10 made %d GETs (<= 42) of %d tasks" % (st["requests_get"], N))
c.check(st["requests_list"] <= 16, "LIMIT 10 made %d LISTs (<= 16)" % st["requests_list"])

# statement_timeout stops a scan that would take many seconds
with Timer() as t:
    try:
        psql("SET statement_timeout = '300ms'; SELECT count(*) FROM sc.tasks WHERE input::text <> ''")
        err = None
    except SqlError as e:
        err = e
c.check(err is not None and err.sqlstate == "57014",
        "statement_timeout cancels the scan (%s)" % (err,))
c.check(t.elapsed < 1.3 * TIME_SCALE, "and returns within a second of the timeout (%.2f s)" % t.elapsed)

# pg_cancel_backend from another session
proc = subprocess.Popen(["psql", "-X", "-q", "-At", "-c",
                         "SELECT 'long-scan', count(*) FROM sc.tasks WHERE input::text <> ''"],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
pid = None
for _ in range(100):
    pid = value("SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT ''long-scan''%' "
                "AND pid <> pg_backend_pid()")
    if pid:
        break
    time.sleep(0.05)
time.sleep(0.5)
with Timer() as t:
    psql("SELECT pg_cancel_backend(%s)" % pid)
    _, err = proc.communicate(timeout=30)
c.check(pid is not None and proc.returncode != 0 and "canceling statement" in err,
        "pg_cancel_backend cancels the scan")
c.check(t.elapsed < 1.0 * TIME_SCALE, "within a second (%.2f s)" % t.elapsed)

# the backend is fine afterwards: the same session can scan again
c.check(value("SELECT count(*) FROM sc.tasks WHERE id = '%s'" % ids[0]) == "1",
        "the session works after a cancel")
c.done()
