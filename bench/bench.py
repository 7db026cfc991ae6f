#!/usr/bin/env python3
"""bench.py - the measurements of bench/run (see bench/README.md).

bench/run starts PostgreSQL and plain moto, seeds the bucket and calls this
with the harness's environment (PG*, OQ_TEST_*).  In one run, against the
same moto, it measures:

  ceiling   curl --parallel --parallel-max 32: N GETs of one small task object
  baseline  bench/baseline_boto3.py: list tasks/, GET all with 32 threads,
            parse, count and filter by tag
  oq_fdw    through psql: full scan count(*) (fresh session, cache off), the
            1% tag query with the tag index and with tag_index 'off', an id
            lookup, and a full scan repeated in one session (cache on)
  writes    (--writes) rows per second of UPDATE ... RETURNING against the
            same UPDATE without RETURNING, and the ordinary one-row-at-a-time
            path for reference, on a bucket of their own

and prints a table and writes JSON.  Measurements of oq_fdw are taken inside
the backend, in the same session as the query: wall time from
clock_timestamp(), S3 requests from oq_stats(), CPU time from
/proc/self/schedstat (nanoseconds on CPU) and /proc/self/stat (user/system
ticks), peak RSS from /proc/self/status (VmHWM), moto's CPU from
/proc/<moto pid>/stat.  psql's own startup is never inside a measurement.

Nothing here asserts a time: targets are printed as met or not, and the exit
status only says whether the benchmark itself ran (results were correct).
"""
import argparse
import datetime
import hashlib
import json
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "test"))

import gen_tasks  # noqa: E402  (test/gen_tasks.py)

CLK_TCK = os.sysconf("SC_CLK_TCK")
SEP = "\x1f"


# ---------------------------------------------------------------------------
# psql

class BenchError(Exception):
    pass


def psql(script, timeout=3600):
    """Run a psql script in one session; rows of every statement, in order."""
    proc = subprocess.run(
        ["psql", "-X", "-q", "-At", "-F", SEP, "-v", "ON_ERROR_STOP=1", "-f", "-"],
        input=script, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise BenchError("psql failed: %s" % proc.stderr.strip())
    return [line.split(SEP) for line in proc.stdout.splitlines() if line != ""]


def probe_sql(label, moto_pid):
    """One row describing this backend (and moto) now.

    /proc/self is the backend itself.  Fields 14 and 15 of stat (utime,
    stime) are 12 and 13 after the ") " that ends the command name.
    """
    return """SELECT '@@probe', %(label)s,
  extract(epoch FROM clock_timestamp()),
  split_part(pg_read_file('/proc/self/schedstat'), ' ', 1),
  (regexp_split_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' '))[12],
  (regexp_split_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' '))[13],
  substring(pg_read_file('/proc/self/status') FROM 'VmHWM:\\s*(\\d+)'),
  substring(pg_read_file('/proc/self/status') FROM 'VmRSS:\\s*(\\d+)'),
  (SELECT string_agg(name || '=' || value, ',') FROM oq_stats()),
  pg_backend_pid(),
  (SELECT sum(x::bigint) FROM unnest((regexp_split_to_array(
     split_part(pg_read_file('/proc/%(moto)d/stat'), ') ', 2), ' '))[12:13]) x),
  split_part(pg_read_file('/proc/stat'), E'\n', 1);
""" % dict(label=sql_literal(label), moto=moto_pid)


def sql_literal(s):
    return "'" + s.replace("'", "''") + "'"


def parse_probe(row):
    (_, label, epoch, sched_ns, utime, stime, hwm, rss, stats, pid, moto, cpuline) = row
    return dict(label=label, t=float(epoch), cpu_ns=int(sched_ns), utime=int(utime), stime=int(stime),
                hwm_kb=int(hwm), rss_kb=int(rss), pid=int(pid), moto_ticks=int(moto),
                busy_ticks=busy_ticks(cpuline),
                stats={k: int(v) for k, v in (kv.split("=") for kv in stats.split(","))})


def session(steps, settings, moto_pid, pidfile=None):
    """Run steps [(label, sql)] in one fresh session, each between two probes.

    Returns {label: measurement}.  settings: SET statements run first.
    pidfile: the backend's pid is written there first (for a sampler that
    watches the backend from outside, bench/scale.py).
    """
    parts = ["SELECT pg_backend_pid() \\g %s" % pidfile] if pidfile else []
    parts += ["SET %s = %s;" % kv for kv in settings]
    # loads the library (and curl_global_init) before anything is measured
    parts.append("SELECT oq_stats_reset();")
    parts.append(probe_sql("@start", moto_pid))
    for label, sql in steps:
        parts.append(sql.rstrip().rstrip(";") + ";")
        parts.append(probe_sql(label, moto_pid))
    rows = psql("\n".join(parts))
    out = {}
    prev = None
    result = []
    for row in rows:
        if row[0] == "@@probe":
            p = parse_probe(row)
            if prev is not None:
                out[p["label"]] = measurement(prev, p, result)
            prev, result = p, []
        elif prev is not None:
            result.append(row)
    return out


def measurement(a, b, result):
    d = {k: b["stats"][k] - a["stats"].get(k, 0) for k in b["stats"]}
    return dict(
        t_start=a["t"], t_end=b["t"],
        wall_s=b["t"] - a["t"],
        requests_list=d.get("requests_list", 0),
        requests_get=d.get("requests_get", 0),
        cpu_s=(b["cpu_ns"] - a["cpu_ns"]) / 1e9,
        cpu_user_s=(b["utime"] - a["utime"]) / CLK_TCK,
        cpu_sys_s=(b["stime"] - a["stime"]) / CLK_TCK,
        server_cpu_s=(b["moto_ticks"] - a["moto_ticks"]) / CLK_TCK,
        machine_cpu_s=(b["busy_ticks"] - a["busy_ticks"]) / CLK_TCK,
        hwm_kb_before=a["hwm_kb"], hwm_kb=b["hwm_kb"], rss_kb=b["rss_kb"],
        backend_pid=b["pid"], stats=d, result=result,
    )


class ConnSampler(threading.Thread):
    """Counts the established client connections to moto every 0.2 s
    (ss, netlink: a few ms of CPU each), so that a measurement can say how
    many requests were in flight on average.  moto closes every connection
    after one response, so an established connection is a request in
    flight."""

    def __init__(self, port, interval=0.2):
        super().__init__(daemon=True)
        self.port, self.interval = port, interval
        self.samples = []
        self.halt = threading.Event()

    def run(self):
        cmd = ["ss", "-Htn", "state", "established", "( dport = :%d )" % self.port]
        while not self.halt.is_set():
            t = time.time()
            try:
                n = subprocess.run(cmd, capture_output=True, text=True).stdout.count("\n")
            except OSError:
                return
            self.samples.append((t, n))
            self.halt.wait(self.interval)

    def mean(self, t0, t1):
        got = [n for t, n in self.samples if t0 <= t <= t1]
        return sum(got) / len(got) if len(got) >= 5 else None


def moto_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(") ", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def busy_ticks(cpuline):
    """Non-idle ticks of all CPUs from the first line of /proc/stat."""
    f = [int(x) for x in cpuline.split()[1:]]
    # user nice system idle iowait irq softirq steal (guest time is in user)
    return sum(f[:8]) - f[3] - f[4]


def machine_busy():
    with open("/proc/stat") as f:
        return busy_ticks(f.readline())


def children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


# ---------------------------------------------------------------------------
# the benchmark

class Bench:
    def __init__(self, args):
        self.args = args
        self.endpoint = os.environ["OQ_TEST_ENDPOINT"]
        self.moto_pid = args.moto_pid
        self.notes = []
        tasks = gen_tasks.generate_tasks(args.tasks, seed=args.seed)
        self.tag_key, _, self.tag_value = args.tag.partition("=")
        self.matching = gen_tasks.add_extra_tag(tasks, self.tag_key, self.tag_value, 0.01, args.seed)
        self.tasks = tasks
        self.lookup = tasks[len(tasks) // 2]
        self.lookup2 = tasks[len(tasks) // 3]
        self.cache = None          # (name, default, unit) of oq_fdw.cache_size, if it exists
        self.results = {}

    def note(self, text):
        self.notes.append(text)
        print("note: " + text, flush=True)

    def log(self, text):
        print("[bench] " + text, flush=True)

    # ---- setup

    def setup(self):
        a = self.args
        servers = [("bench", a.bucket, "idx", ""), ("bench_noindex", a.bucket, "noidx", ", tag_index 'off'")]
        servers += [("bench_mem_%d" % n, b, "mem%d" % n, "") for n, b in a.memory]
        if a.writes:
            servers.append(("bench_writes", a.writes[1], "wr", ""))
        sql = ["CREATE EXTENSION IF NOT EXISTS oq_fdw;",
               "\\getenv endpoint OQ_TEST_ENDPOINT", "\\getenv region OQ_TEST_REGION",
               "\\getenv key OQ_TEST_ACCESS_KEY_ID", "\\getenv secret OQ_TEST_SECRET_ACCESS_KEY"]
        for name, bucket, schema, opts in servers:
            # idempotent, for reruns against a --keep cluster
            sql += ["DROP SCHEMA IF EXISTS %s CASCADE;" % schema, "DROP SERVER IF EXISTS %s CASCADE;" % name]
            sql += ["CREATE SERVER %s FOREIGN DATA WRAPPER oq_fdw OPTIONS (bucket %s, endpoint :'endpoint', "
                    "region :'region'%s);" % (name, sql_literal(bucket), opts),
                    "CREATE USER MAPPING FOR CURRENT_USER SERVER %s OPTIONS "
                    "(access_key_id :'key', secret_access_key :'secret');" % name,
                    "CREATE SCHEMA %s;" % schema,
                    "IMPORT FOREIGN SCHEMA oq FROM SERVER %s INTO %s;" % (name, schema)]
        psql("\n".join(sql))
        rows = psql("LOAD 'oq_fdw';\nSELECT name, setting, coalesce(unit, '') FROM pg_settings "
                    "WHERE name = 'oq_fdw.cache_size';")
        if rows:
            self.cache = tuple(rows[0])
            self.cache_on = a.cache_size if a.cache_size is not None else self.cache[1]
            if str(self.cache_on) in ("0", "-1"):
                self.note("oq_fdw.cache_size defaults to %s (off): pass --cache-size to measure the "
                          "cache; the 'cache on' lines below ran without it" % self.cache[1])
        else:
            self.note("oq_fdw.cache_size does not exist in this build (no task cache yet): "
                      "'cache off' and 'cache on' lines run the same code, and the warm repeat "
                      "re-reads every task")

    def settings(self, cache):
        if not self.cache:
            return []
        return [("oq_fdw.cache_size", "0" if not cache else sql_literal(str(self.cache_on)))]

    def machine(self):
        def cmd(*c):
            try:
                return subprocess.run(c, capture_output=True, text=True).stdout.strip()
            except OSError:
                return None
        cpu = ""
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            mem_kb = int(f.readline().split()[1])
        import boto3
        if self.args.server == "rgw":
            server = (cmd("radosgw", "--version") or "?").split()
            server_version = server[2] if len(server) > 2 else "?"
            server_mode = ("radosgw, beast frontend, 1 memstore OSD; SigV4 verified; "
                           "'server' is radosgw's CPU, the OSD's and monitor's are in 'other'")
        else:
            import moto
            server_version = moto.__version__
            server_mode = "plain moto_server (no SigV4 verification)"
        pgv = psql("SELECT version();")[0][0]
        commit = cmd("git", "-C", ROOT, "rev-parse", "--short", "HEAD")
        dirty = cmd("git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no")
        return dict(
            date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            host=platform.node(), nproc=os.cpu_count(), cpu=cpu, mem_gb=round(mem_kb / 1048576, 1),
            kernel=platform.release(), os=cmd("sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"),
            postgres=pgv, server=self.args.server, moto=server_version, boto3=boto3.__version__,
            python=platform.python_version(), curl=(cmd("curl", "--version") or "").split("\n")[0],
            oq_fdw_commit=(commit or "?") + ("+dirty" if dirty else ""),
            moto_mode=server_mode,
            loadavg_start=open("/proc/loadavg").read().split()[:3],
        )

    # ---- the three contenders

    def ceiling(self):
        """N GETs of one small task object, curl --parallel --parallel-max 32
        (SigV4-signed by curl's --aws-sigv4: a plain GET needs no query
        string, where libcurl 7.88's signer is wrong)."""
        a = self.args
        task = self.lookup
        url = "%s/%s/%s" % (self.endpoint, a.bucket, gen_tasks.task_key(task))
        cfg = os.path.join(a.tmp, "ceiling.curl")
        # Signed like every other client's requests: moto answers an
        # anonymous GET of a private object 403 (its ACL check), even when
        # it verifies no signatures.  The config file (0600, removed after)
        # keeps the key out of the process list.
        fd = os.open(cfg, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write('aws-sigv4 = "aws:amz:%s:s3"\n' % os.environ.get("OQ_TEST_REGION", "us-east-1"))
            f.write('user = "%s:%s"\n' % (os.environ["OQ_TEST_ACCESS_KEY_ID"], os.environ["OQ_TEST_SECRET_ACCESS_KEY"]))
            # S3 wants the payload hash in a signed header; curl 7.88 does not
            # add it but signs any x-amz-* header given (RGW refuses without)
            f.write('header = "x-amz-content-sha256: %s"\n' % hashlib.sha256(b"").hexdigest())
            for _ in range(a.tasks):
                f.write('url = "%s"\noutput = "/dev/null"\n' % url)
        size = len(gen_tasks.task_body(task))
        e0 = time.time()
        b0, m0, c0, t0 = machine_busy(), moto_ticks(self.moto_pid), children_cpu(), time.monotonic()
        proc = subprocess.run(["curl", "--parallel", "--parallel-immediate", "--parallel-max", "32",
                               "--no-progress-meter", "-w", "%{http_code}\\n", "-K", cfg],
                              capture_output=True, text=True)
        wall = time.monotonic() - t0
        cpu, server = children_cpu() - c0, (moto_ticks(self.moto_pid) - m0) / CLK_TCK
        machine = (machine_busy() - b0) / CLK_TCK
        e1 = time.time()
        os.unlink(cfg)
        ok = proc.stdout.split().count("200")
        if proc.returncode != 0 or ok != a.tasks:
            raise BenchError("curl: exit %d, %d of %d answers 200: %s"
                             % (proc.returncode, ok, a.tasks, proc.stderr.strip()[:300]))
        return dict(wall_s=wall, requests_list=0, requests_get=a.tasks, cpu_s=cpu, server_cpu_s=server,
                    machine_cpu_s=machine, object_bytes=size, rows=a.tasks, correct=True, t_start=e0, t_end=e1)

    def baseline(self):
        a = self.args
        e0 = time.time()
        proc = subprocess.run([sys.executable, os.path.join(HERE, "baseline_boto3.py"),
                               "--endpoint", self.endpoint, "--bucket", a.bucket, "--tag", a.tag,
                               "--threads", "32", "--id", self.lookup["id"], "--moto-pid", str(self.moto_pid)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise BenchError("baseline_boto3.py failed: %s" % proc.stderr.strip()[-500:])
        r = json.loads(proc.stdout)
        # the scan is the last thing the process does but one GET: place
        # its window at the end of the process's life
        e1 = time.time()
        r["t_start"], r["t_end"] = max(e0, e1 - r["wall_s"] - r.get("id_lookup_wall_s", 0)), e1
        r["rows"] = r["tasks"]
        r["correct"] = r["tasks"] == a.tasks and r["matching"] == len(self.matching)
        return r

    def oq_steps(self):
        """The oq_fdw measurements: {key: (title, settings, [(label, sql)], expected)}"""
        n, m = self.args.tasks, len(self.matching)
        tagq = "SELECT count(*) FROM %%s.tasks WHERE tags->>%s = %s" % (
            sql_literal(self.tag_key), sql_literal(self.tag_value))
        lookup = "SELECT id, status FROM idx.tasks WHERE id = '%s'"
        return [
            # what the full scan lists: the sixteen prefixes tasks/0 .. tasks/f
            # (one after the other here; moto's CPU is what this measures)
            ("list_only", False, [("list_only", "SELECT count(*) FROM regexp_split_to_table('0123456789abcdef', '') "
                                                "AS d, oq_list_objects('bench', 'tasks/' || d)")],
             {"list_only": str(n)}),
            ("full_cold", False, [("full_cold", "SELECT count(*) FROM idx.tasks")], {"full_cold": str(n)}),
            ("tag_index", False, [("tag_index", tagq % "idx")], {"tag_index": str(m)}),
            ("tag_noindex", False, [("tag_noindex", tagq % "noidx")], {"tag_noindex": str(m)}),
            ("id_lookup", False, [("id_lookup", lookup % self.lookup["id"]),
                                  ("id_lookup_again", lookup % self.lookup2["id"])],
             {"id_lookup": "%s%s%s" % (self.lookup["id"], SEP, self.lookup["status"]),
              "id_lookup_again": "%s%s%s" % (self.lookup2["id"], SEP, self.lookup2["status"])}),
            ("warm", True, [("full_cache_first", "SELECT count(*) FROM idx.tasks"),
                            ("full_warm", "SELECT count(*) FROM idx.tasks")],
             {"full_cache_first": str(n), "full_warm": str(n)}),
        ]

    def keep_best(self, key, got, pick):
        """Keep the run of measurement key with the smallest wall time of
        its step pick; every run's wall times are kept too (the spread)."""
        if self.sampler:
            time.sleep(0.25)  # the sampler's last look at this window
            for m in got.values():
                m["in_flight"] = self.sampler.mean(m["t_start"], m["t_end"])
        runs = self.runs.setdefault(key, [])
        runs.append({label: (m["wall_s"], m["cpu_s"]) for label, m in got.items()})
        best = self.best.get(key)
        if best is None or got[pick]["wall_s"] < best[pick]["wall_s"]:
            self.best[key] = got

    def run(self):
        """--repeat rounds; each round runs every measurement once, in the
        same order, so that a drift in the machine's load touches all."""
        a = self.args
        self.best, self.runs = {}, {}
        wrong = []
        port = int(self.endpoint.rsplit(":", 1)[1].split("/")[0])
        self.sampler = ConnSampler(port) if shutil.which("ss") else None
        if self.sampler:
            self.sampler.start()
        else:
            self.note("no ss (iproute2): connections in flight not sampled")
        for rnd in range(a.repeat):
            tag = " (round %d of %d)" % (rnd + 1, a.repeat) if a.repeat > 1 else ""
            self.log("ceiling: curl --parallel --parallel-immediate --parallel-max 32, %d GETs of one task object%s"
                     % (a.tasks, tag))
            self.keep_best("ceiling", {"ceiling": self.ceiling()}, "ceiling")
            self.log("baseline: boto3, list + %d GETs with 32 threads, parse, filter%s" % (a.tasks, tag))
            got = self.baseline()
            if not got["correct"]:
                wrong.append("baseline")
            self.keep_best("baseline", {"baseline": got}, "baseline")
            for key, cache, steps, expected in self.oq_steps():
                self.log("oq_fdw: %s%s" % (", ".join(label for label, _ in steps), tag))
                got = session(steps, self.settings(cache), self.moto_pid)
                for label, _ in steps:
                    r = got[label]
                    r["rows"] = len(r["result"])
                    r["answer"] = SEP.join(r["result"][0]) if r["result"] else None
                    r["correct"] = r["answer"] == expected[label]
                    r["cache"] = "on" if (cache and self.cache) else "off"
                    del r["result"]
                    if not r["correct"]:
                        wrong.append(label)
                self.keep_best(key, got, steps[-1][0])
        if self.sampler:
            self.sampler.halt.set()
            self.sampler.join()
        for key, got in self.best.items():
            for label, m in got.items():
                m["runs_wall_s"] = [run[label][0] for run in self.runs[key]]
                m["runs_cpu_s"] = [run[label][1] for run in self.runs[key]]
                self.results[label] = m
        if wrong:
            # reported at the end (exit status 1); the best run may be fine
            self.results["wrong_answers"] = sorted(set(wrong))
        if a.memory:
            self.memory()
        if a.profile:
            self.profile()

    # ---- memory

    def memory(self):
        """Peak RSS of a fresh backend scanning every column of N tasks."""
        self.results["memory"] = []
        caches = [False, True] if self.cache else [False]
        for n, _bucket in self.args.memory:
            for cache in caches:
                self.log("memory: fresh backend, %d tasks, cache %s" % (n, "on" if cache else "off"))
                sql = "SELECT count(*), sum(pg_column_size(t.*)) FROM mem%d.tasks t" % n
                r = session([("mem", sql)], self.settings(cache), self.moto_pid)["mem"]
                self.results["memory"].append(dict(
                    tasks=n, cache="on" if cache else "off", hwm_kb_before=r["hwm_kb_before"],
                    hwm_kb=r["hwm_kb"], rss_kb_after=r["rss_kb"], wall_s=r["wall_s"],
                    requests_get=r["requests_get"], correct=r["result"][0][0] == str(n)))
        if not self.cache:
            self.note("memory: cache on not measured (no oq_fdw.cache_size in this build)")


    # ---- writes

    WRITE_LINES = [
        ("update_plain", "UPDATE, no RETURNING (writes in flight)"),
        ("update_returning", "UPDATE ... RETURNING (direct update)"),
        ("update_returning_rowwise", "UPDATE ... RETURNING, one row at a time"),
    ]

    def writes(self):
        """UPDATE of every pending task of the writes bucket (a new tag
        value each time, so every row is written), each statement in a
        fresh session: without RETURNING, with RETURNING (the direct path),
        and with RETURNING on the ordinary path (a volatile SET expression
        keeps it off the direct one), --repeat rounds; the fastest kept."""
        n, bucket = self.args.writes
        pending = sum(1 for t in gen_tasks.generate_tasks(n, seed=n) if t["status"] == "pending")
        self.writes_pending = pending
        stmts = {
            "update_plain": "UPDATE wr.tasks SET tags = tags || jsonb_build_object('bench', '%s') "
                            "WHERE status = 'pending'",
            "update_returning": "WITH u AS (UPDATE wr.tasks SET tags = tags || jsonb_build_object('bench', '%s') "
                                "WHERE status = 'pending' RETURNING id, tags) SELECT count(*) FROM u "
                                "WHERE tags->>'bench' IS NOT NULL",
            # random() makes the SET volatile: the ordinary path, one row at a time
            "update_returning_rowwise": "WITH u AS (UPDATE wr.tasks SET tags = tags || jsonb_build_object("
                                        "'bench', '%s' || left(random()::text, 0)) WHERE status = 'pending' "
                                        "RETURNING id, tags) SELECT count(*) FROM u "
                                        "WHERE tags->>'bench' IS NOT NULL",
        }
        best, runs, wrong = {}, {}, []
        # not measured: every measured statement then replaces a value of
        # the tag (one index entry written, one deleted), the first too
        self.log("writes: a first value of the tag on every pending task (not measured)")
        psql(stmts["update_plain"] % "r-init")
        for rnd in range(self.args.repeat):
            for key, _title in self.WRITE_LINES:
                if key == "update_returning_rowwise" and rnd > 0:
                    continue    # slow, and only a reference: once
                value = "r%d-%s" % (rnd, key)
                self.log("writes: %s (%d pending of %d tasks)" % (key, pending, n))
                plan = psql("EXPLAIN (COSTS OFF) " + stmts[key] % value)
                direct = any("Foreign Update" in r[0] for r in plan)
                m = session([(key, stmts[key] % value)], [], self.moto_pid)[key]
                written = m["stats"].get("tag_updates", 0)
                m["rows"] = int(m["result"][0][0]) if m["result"] else written
                m["direct"] = direct
                m["correct"] = (written == pending and m["rows"] == pending and
                                direct == (key == "update_returning"))
                m["rows_per_s"] = m["rows"] / m["wall_s"] if m["wall_s"] > 0 else None
                for k in ("requests_put", "requests_delete", "precondition_failed", "tag_updates"):
                    m[k] = m["stats"].get(k, 0)
                del m["result"]
                if not m["correct"]:
                    wrong.append(key)
                runs.setdefault(key, []).append(m["wall_s"])
                if key not in best or m["wall_s"] < best[key]["wall_s"]:
                    best[key] = m
        for key, m in best.items():
            m["runs_wall_s"] = runs[key]
        plain, ret = best["update_plain"], best["update_returning"]
        best["ratio"] = dict(
            returning_vs_plain=ret["rows_per_s"] / plain["rows_per_s"],
            rowwise_vs_plain=best["update_returning_rowwise"]["rows_per_s"] / plain["rows_per_s"])
        self.results["writes"] = best
        if wrong:
            self.results.setdefault("wrong_answers", []).extend(wrong)

    def writes_table(self):
        w = self.results["writes"]
        n = self.args.writes[0]
        out = ["", "writes: UPDATE ... SET tags = tags || ... WHERE status = 'pending' on %d tasks (%d pending), "
                   "fresh session each, %s" % (n, self.writes_pending,
                                               "best of %d" % self.args.repeat if self.args.repeat > 1 else "one run")]
        hdr = "%-44s %8s %6s %8s %5s %6s %6s %6s %5s %9s %6s" % (
            "statement", "wall s", "rows", "rows/s", "LIST", "GET", "PUT", "DELETE", "412", "vs plain", "answer")
        out.append(hdr)
        out.append("-" * len(hdr))
        for key, title in self.WRITE_LINES:
            m = w[key]
            out.append("%-44s %8.3f %6d %8.1f %5d %6d %6d %6d %5d %8.2fx %6s" % (
                title, m["wall_s"], m["rows"], m["rows_per_s"], m["requests_list"], m["requests_get"],
                m["requests_put"], m["requests_delete"], m["precondition_failed"],
                m["rows_per_s"] / w["update_plain"]["rows_per_s"], "ok" if m["correct"] else "WRONG"))
        r = w["ratio"]["returning_vs_plain"]
        out.append("%-58s %10.2f %10s %5s" % ("target: RETURNING rows/s / without RETURNING's", r, ">= 0.67",
                                              "yes" if r >= 1 / 1.5 else "no"))
        return out

    # ---- profile

    def profile(self):
        """The cold full scan once more, its backend under perf record."""
        tmp = self.args.tmp
        pidfile, go, data = (os.path.join(tmp, f) for f in ("perf.pid", "perf.go", "perf.data"))
        self.log("profile: cold full scan under perf record -e cpu-clock --call-graph dwarf")
        script = "\n".join(["SET %s = %s;" % kv for kv in self.settings(False)] + [
            "SELECT oq_stats_reset();",
            "SELECT pg_backend_pid() \\g %s" % pidfile,
            "DO $$BEGIN WHILE pg_stat_file(%s, true) IS NULL LOOP PERFORM pg_sleep(0.05); END LOOP; END$$;"
            % sql_literal(go),
            probe_sql("@start", self.moto_pid),
            "SELECT count(*) FROM idx.tasks;",
            probe_sql("scan", self.moto_pid)])
        with open(os.path.join(tmp, "perf.sql"), "w") as f:
            f.write(script)
        for stale in (pidfile, go):
            if os.path.exists(stale):
                os.unlink(stale)
        p = subprocess.Popen(["psql", "-X", "-q", "-At", "-F", SEP, "-v", "ON_ERROR_STOP=1",
                              "-f", os.path.join(tmp, "perf.sql")],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        pid = None
        for _ in range(600):
            try:
                with open(pidfile) as f:
                    pid = int(f.read().strip())
                break
            except (OSError, ValueError):
                time.sleep(0.05)
        if pid is None:
            p.kill()
            raise BenchError("profile: no backend pid")
        perf = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "999", "--call-graph", "dwarf,16384", "-p", str(pid),
                                 "-o", data], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)  # let perf attach before the scan starts
        open(go, "w").close()
        out, err = p.communicate()
        if p.returncode != 0:
            raise BenchError("profile: psql failed: %s" % err.strip())
        try:
            perf.wait(timeout=30)  # perf -p stops when the backend exits
        except subprocess.TimeoutExpired:
            perf.send_signal(signal.SIGINT)
            perf.wait()
        probes = [parse_probe(line.split(SEP)) for line in out.splitlines() if line.startswith("@@probe")]
        m = measurement(probes[0], probes[1], [])
        cpu_us_per_task = m["cpu_s"] * 1e6 / self.args.tasks

        def report(*extra):
            r = subprocess.run(["perf", "report", "-i", data, "--stdio", "-q"] + list(extra),
                               capture_output=True, text=True)
            return r.stdout

        def rows(text, npct, with_sym):
            # "12.34%  [3.21%]  dso  [.] symbol": npct percentages first
            # (--children prints inclusive, then self)
            out = []
            for line in text.splitlines():
                f = line.split(None, npct + 1)
                if len(f) < npct + 1 or not all(x.endswith("%") for x in f[:npct]):
                    continue
                pct = float(f[0].rstrip("%"))
                rest = f[npct] if len(f) == npct + 1 else f[npct] + " " + f[npct + 1]
                if not with_sym:
                    out.append(dict(pct=pct, dso=rest.strip()))
                    continue
                dso, _, sym = rest.partition(" ")
                sym = sym.strip()
                sym = sym[4:] if sym[:4] in ("[.] ", "[k] ") else sym
                out.append(dict(pct=pct, dso=dso, symbol=sym))
            return out

        by_dso = rows(report("--no-children", "--sort", "dso", "-g", "none"), 1, False)
        by_sym = rows(report("--no-children", "--sort", "dso,sym", "-g", "none", "--percent-limit", "0.3"), 1, True)
        incl = rows(report("--children", "--sort", "dso,sym", "-g", "none", "--percent-limit", "1"), 2, True)
        # inclusive: where the time under our own code goes (frame pointers
        # are kept in oq_fdw.so and postgres, so these call chains are whole)
        incl = [r for r in incl if r["dso"] == "oq_fdw.so"
                or (r["dso"].startswith("libcurl") and r["symbol"].startswith("curl_"))
                or (r["dso"] == "[kernel.kallsyms]" and r["symbol"].startswith("__x64_sys_"))]
        # the whole reports, for reading beyond the table
        full_report = os.path.splitext(self.args.json)[0] + ".perf.txt"
        with open(full_report, "w") as f:
            f.write("# perf report of: SELECT count(*) FROM idx.tasks (%d tasks, fresh session, cache off)\n"
                    % self.args.tasks)
            f.write("# backend CPU %.3f s = %.1f us per task\n\n" % (m["cpu_s"], cpu_us_per_task))
            f.write("## self, by symbol\n")
            f.write(report("--no-children", "--sort", "dso,sym", "-g", "none", "--percent-limit", "0.1"))
            f.write("\n## inclusive (children), by symbol\n")
            f.write(report("--children", "--sort", "dso,sym", "-g", "none", "--percent-limit", "0.5"))
            f.write("\n## call graph (callers), >= 2%\n")
            f.write(report("--no-children", "--sort", "dso,sym", "-g", "caller,2,callee", "--percent-limit", "2"))
        for r in by_dso + by_sym + incl:
            r["us_per_task"] = round(r["pct"] / 100 * cpu_us_per_task, 2)
        self.results["profile"] = dict(
            query="SELECT count(*) FROM idx.tasks (fresh session, cache off)",
            wall_s=m["wall_s"], cpu_s=m["cpu_s"], cpu_us_per_task=cpu_us_per_task,
            requests_get=m["requests_get"], requests_list=m["requests_list"],
            perf_stderr_tail=perf.stderr.read().strip()[-300:] if perf.stderr else "",
            by_dso=by_dso, self_top=by_sym[:30], inclusive_top=incl[:40], full_report=full_report)
        # perf.data stays in $OQ_TMP (removed at exit unless --keep)

    # ---- output

    def derive(self):
        r = self.results
        ceil, base = r["ceiling"], r["baseline"]
        n = self.args.tasks
        ceil_rate = ceil["requests_get"] / ceil["wall_s"]
        base_cpu_task = base["cpu_s"] / base["tasks"]
        for key, m in r.items():
            if not isinstance(m, dict) or "wall_s" not in m or key == "profile":
                continue
            reqs = m["requests_list"] + m["requests_get"]
            m["requests_per_s"] = reqs / m["wall_s"] if m["wall_s"] > 0 else None
            m["rate_vs_ceiling"] = m["requests_per_s"] / ceil_rate if m["requests_per_s"] else None
            if "server_cpu_s" in m and m["wall_s"] > 0:
                m["server_cpu_util"] = m["server_cpu_s"] / m["wall_s"]
            if "machine_cpu_s" in m and m["wall_s"] > 0:
                # CPU the machine spent on anything but moto and this client
                # (other processes, interrupts): a noise indicator, in cores
                m["other_cpu_cores"] = max(0.0, m["machine_cpu_s"] - m["server_cpu_s"] - m["cpu_s"]) / m["wall_s"]
            if key == "ceiling":
                continue
            if key in ("id_lookup", "id_lookup_again"):
                m["speedup_vs_baseline"] = base.get("id_lookup_wall_s", 0) / m["wall_s"]
            else:
                m["speedup_vs_baseline"] = base["wall_s"] / m["wall_s"]
            if key in ("full_cold", "full_cache_first", "full_warm", "tag_noindex", "baseline"):
                m["cpu_ms_per_task"] = m["cpu_s"] * 1e3 / n
                m["cpu_per_task_vs_baseline"] = (m["cpu_s"] / n) / base_cpu_task
        for m in (r[k] for k in ("ceiling", "baseline", "list_only", "full_cold", "full_warm")):
            reqs = m["requests_list"] + m["requests_get"]
            m["server_cpu_ms_per_request"] = m["server_cpu_s"] * 1e3 / reqs if reqs else None
        # Bounds that hold while moto's CPU is the bottleneck: at the
        # ceiling's server CPU rate (CPU s per wall s), a scan that must
        # list the bucket too costs the ceiling's server CPU per GET times N
        # plus the listing's server CPU (measured alone, list_only); a warm
        # scan that needs no GET costs the listing alone.
        rate = ceil["server_cpu_s"] / ceil["wall_s"]
        per_get = ceil["server_cpu_s"] / ceil["requests_get"]
        lst = r["list_only"]
        scan_bound = (n * per_get + lst["server_cpu_s"]) / rate
        list_bound = lst["server_cpu_s"] / rate
        r["bounds"] = dict(
            server_cpu_rate=rate, server_cpu_ms_per_get=per_get * 1e3,
            server_cpu_ms_per_listed_key=lst["server_cpu_s"] * 1e3 / n,
            full_scan_min_wall_s=scan_bound,
            full_scan_rate_vs_ceiling_max=((n + r["full_cold"]["requests_list"]) / scan_bound) / ceil_rate,
            full_scan_server_cpu_vs_min=r["full_cold"]["server_cpu_s"] / (n * per_get + lst["server_cpu_s"]),
            warm_scan_min_wall_s=list_bound,
            warm_speedup_vs_baseline_max=base["wall_s"] / list_bound if list_bound > 0 else None)
        full, warm, tagi, tagn = r["full_cold"], r["full_warm"], r["tag_index"], r["tag_noindex"]
        cache_note = "" if self.cache else " (no cache in this build)"
        r["targets"] = [
            dict(what="cold full scan: request rate / ceiling's", value=full["rate_vs_ceiling"],
                 target=">= 0.90", met=full["rate_vs_ceiling"] >= 0.90),
            dict(what="cold full scan: tasks/s / baseline's", value=full["speedup_vs_baseline"],
                 target=">= 1.0", met=full["speedup_vs_baseline"] >= 1.0),
            dict(what="cold full scan: backend CPU per task / baseline's", value=full["cpu_per_task_vs_baseline"],
                 target="<= 0.10", met=full["cpu_per_task_vs_baseline"] <= 0.10),
            dict(what="warm repeat: GETs" + cache_note, value=warm["requests_get"], target="0",
                 met=warm["requests_get"] == 0),
            dict(what="warm repeat: speedup vs baseline" + cache_note, value=warm["speedup_vs_baseline"],
                 target=">= 10", met=warm["speedup_vs_baseline"] >= 10),
            dict(what="1% tag query (index): speedup vs baseline", value=tagi["speedup_vs_baseline"],
                 target=">= 20", met=tagi["speedup_vs_baseline"] >= 20),
            dict(what="1% tag query: tag_index 'off' wall / index wall", value=tagn["wall_s"] / tagi["wall_s"],
                 target="(report)", met=None),
        ]
        b = r["bounds"]
        srv = "radosgw" if self.args.server == "rgw" else "moto"
        r["bounds_table"] = [
            ("%s CPU per GET (ceiling) / per listed key (list only), ms" % srv,
             "%.2f / %.2f" % (b["server_cpu_ms_per_get"], b["server_cpu_ms_per_listed_key"])),
            ("full scan (list + GET) at %s's ceiling: min wall s, max rate / ceiling" % srv,
             "%.2f s, %.2f" % (b["full_scan_min_wall_s"], b["full_scan_rate_vs_ceiling_max"])),
            ("  oq_fdw cold full scan: wall / that min", "%.2f" % (full["wall_s"] / b["full_scan_min_wall_s"])),
            ("  oq_fdw cold full scan: %s CPU / (ceiling's per GET x N + list only's)" % srv,
             "%.2f" % b["full_scan_server_cpu_vs_min"]),
            ("warm scan (list only) at %s's ceiling: min wall s, max speedup vs baseline" % srv,
             "%.2f s, %.1fx" % (b["warm_scan_min_wall_s"], b["warm_speedup_vs_baseline_max"] or 0)),
        ]

    LINES = [
        ("ceiling", "ceiling: curl, 32 in parallel, one object"),
        ("baseline", "baseline: boto3 32 threads, list+GET+parse+filter"),
        ("list_only", "oq_fdw list only: tasks/0 .. tasks/f, in turn"),
        ("full_cold", "oq_fdw full scan count(*), fresh session, cache off"),
        ("tag_index", "oq_fdw 1% tag query, tag index"),
        ("tag_noindex", "oq_fdw 1% tag query, tag_index 'off'"),
        ("id_lookup", "oq_fdw id lookup, fresh session"),
        ("id_lookup_again", "oq_fdw id lookup, another id, same session"),
        ("full_cache_first", "oq_fdw full scan, cache on, 1st in session"),
        ("full_warm", "oq_fdw full scan, warm repeat, same session"),
    ]

    def table(self):
        r = self.results
        out = []
        mach = r["machine"]
        out.append("oq_fdw benchmark, %s, %d tasks (%d tagged %s=%s), best of %d"
                   % (mach["date"], self.args.tasks, len(self.matching), self.tag_key, self.tag_value,
                      self.args.repeat))
        out.append("machine: %s, %d cores (%s), %s GB, %s; %s; %s %s (%s); curl %s; oq_fdw %s"
                   % (mach["host"], mach["nproc"], mach["cpu"], mach["mem_gb"], mach["os"],
                      mach["postgres"].split(" on ")[0],
                      {"rgw": "Ceph RGW"}.get(mach.get("server"), "moto"), mach["moto"], mach["moto_mode"],
                      mach["curl"].split()[1] if mach["curl"] else "?", mach["oq_fdw_commit"]))
        out.append("load average at start: %s; at end: %s" % (" ".join(mach["loadavg_start"]),
                                                              " ".join(mach["loadavg_end"])))
        if self.cache:
            out.append("task cache: oq_fdw.cache_size exists (default %s%s; 'on' = %s)"
                       % (self.cache[1], self.cache[2], self.cache_on))
        else:
            out.append("task cache: none in this build (oq_fdw.cache_size does not exist)")
        out.append("")
        k = self.args.repeat
        hdr = ("%-52s %8s%s %5s %6s %7s %6s %8s %8s %7s %6s %8s %8s %6s"
               % ("measurement", "wall s", " %8s" % "max s" if k > 1 else "", "LIST", "GET", "req/s", "conns",
                  "CPU s", "CPU/task", "server", "other", "vs base", "vs ceil", "answer"))
        out.append(hdr)
        out.append("-" * len(hdr))

        def f(v, fmt):
            return fmt % v if v is not None else "-"

        def pct(v):
            return "%.0f%%" % (v * 100) if v is not None else "-"
        for key, title in self.LINES:
            m = r[key]
            cpu_task = m["cpu_s"] * 1e3 / max(m.get("rows") if key == "ceiling" else self.args.tasks, 1)
            if key in ("tag_index", "id_lookup", "id_lookup_again", "list_only"):
                cpu_task = None
            # CPU ticks are 10 ms: shares over short walls say nothing
            short = m["wall_s"] < 0.5
            bulk = key in ("baseline", "full_cold", "tag_noindex", "full_cache_first", "full_warm")
            out.append("%-52s %8.3f%s %5d %6d %7s %6s %8.3f %8s %7s %6s %8s %8s %6s" % (
                title, m["wall_s"], " %8.3f" % max(m["runs_wall_s"]) if k > 1 else "", m["requests_list"],
                m["requests_get"], f(m.get("requests_per_s"), "%.0f"), f(m.get("in_flight"), "%.1f"),
                m["cpu_s"], f(cpu_task, "%.3fms"), "-" if short else pct(m.get("server_cpu_util")),
                "-" if short else f(m.get("other_cpu_cores"), "%.2f"),
                "-" if key == "list_only" else f(m.get("speedup_vs_baseline"), "%.2fx"),
                pct(m.get("rate_vs_ceiling")) if bulk or key == "ceiling" else "-",
                "ok" if m.get("correct") else "WRONG"))
        out.append("")
        if self.args.server == "rgw":
            conns = ("conns: established connections to radosgw, mean of samples every 0.2 s (RGW keeps "
                     "connections alive: the client's pool, not requests in flight).  server: radosgw's "
                     "CPU / wall (the OSD's and the monitor's CPU are in other)")
        else:
            conns = ("conns: established connections to moto, mean of samples every 0.2 s (moto closes "
                     "each after one response: requests in flight; 32 is the most any client here "
                     "keeps).  server: moto's CPU / wall (one Python process: ~100% is saturated)")
        out.append(("wall: the fastest of %d runs (max s: the slowest), " % k if k > 1 else "wall: ") + "the query alone (oq_fdw: inside the backend, clock_timestamp(); others: around the "
                   "client).  CPU: the backend (oq_fdw, /proc/self/schedstat), the boto3 process "
                   "(getrusage), curl (getrusage).  CPU/task: CPU s / %d tasks.  " % self.args.tasks + conns +
                   ".  other: CPU the machine spent on anything else (other processes, interrupts), in cores of %d: noise.  vs base: baseline wall / this wall "
                   "(the baseline answers count and filter in one pass; id lookup: one boto3 GET on a warm "
                   "client).  vs ceil: this req/s / curl's req/s." % os.cpu_count())
        out.append("")
        out.append("%-58s %10s %10s %5s" % ("target (issue)", "measured", "target", "met"))
        for t in r["targets"]:
            v = t["value"]
            out.append("%-58s %10s %10s %5s" % (t["what"], ("%.2f" % v) if isinstance(v, float) else v,
                                                t["target"], {True: "yes", False: "no", None: ""}[t["met"]]))
        out.append("")
        if self.args.server == "rgw":
            out.append("bounds if radosgw's CPU were the bottleneck (see 'server': it need not be; "
                       "bench/README.md):")
        else:
            out.append("bounds on this server (moto's CPU is the bottleneck; see bench/README.md):")
        for what, v in r["bounds_table"]:
            out.append("  %-78s %s" % (what, v))
        if r.get("memory"):
            out.append("")
            out.append("%-40s %12s %12s %12s %8s" % ("peak backend RSS (VmHWM), fresh backend", "before kB",
                                                      "after kB", "growth kB", "wall s"))
            for mm in r["memory"]:
                out.append("%-40s %12d %12d %12d %8.1f" % (
                    "SELECT every column of %d tasks, cache %s" % (mm["tasks"], mm["cache"]),
                    mm["hwm_kb_before"], mm["hwm_kb"], mm["hwm_kb"] - mm["hwm_kb_before"], mm["wall_s"]))
        if r.get("profile"):
            p = r["profile"]
            out.append("")
            out.append("profile: %s: %.2f s wall, %.2f s backend CPU, %.1f us CPU per task"
                       % (p["query"], p["wall_s"], p["cpu_s"], p["cpu_us_per_task"]))
            out.append("  by shared object (self):")
            for e in p["by_dso"][:10]:
                out.append("    %6.2f%%  %7.1f us/task  %s" % (e["pct"], e["us_per_task"], e["dso"]))
            out.append("  top symbols (self):")
            for e in p["self_top"][:20]:
                out.append("    %6.2f%%  %7.1f us/task  %-22s %s" % (e["pct"], e["us_per_task"], e["dso"][:22],
                                                                     e["symbol"]))
            out.append("  inclusive (children): oq_fdw.so, libcurl's entry points, system calls:")
            for e in p["inclusive_top"][:40]:
                out.append("    %6.2f%%  %7.1f us/task  %-22s %s" % (e["pct"], e["us_per_task"], e["dso"][:22],
                                                                     e["symbol"]))
        for n in self.notes:
            out.append("note: " + n)
        return "\n".join(out)


def parse_memory(spec):
    n, _, bucket = spec.partition("=")
    return int(n), bucket


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--tasks", type=int, required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--bucket", required=True)
    ap.add_argument("--tag", required=True, help="KEY=VALUE carried by exactly 1%% of the tasks")
    ap.add_argument("--json", required=True)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--moto-pid", type=int, required=True,
                    help="the S3 server's process (moto, or radosgw with --server rgw)")
    ap.add_argument("--server", choices=("moto", "rgw"), default="moto")
    ap.add_argument("--tmp", required=True, help="scratch directory (the harness's $OQ_TMP)")
    ap.add_argument("--memory", action="append", default=[], type=parse_memory, metavar="N=BUCKET")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--cache-size")
    ap.add_argument("--writes", type=parse_memory, metavar="N=BUCKET",
                    help="also measure UPDATE with and without RETURNING on this bucket of N tasks")
    ap.add_argument("--writes-only", action="store_true", help="with --writes: only that")
    args = ap.parse_args()

    b = Bench(args)
    b.setup()
    b.results["machine"] = b.machine()
    if not args.writes_only:
        b.run()
    if args.writes:
        b.writes()
    b.results["machine"]["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    if args.writes_only:
        mach = b.results["machine"]
        text = "\n".join(["oq_fdw benchmark (writes only), %s; %s; oq_fdw %s; load average at start: %s, at end: %s"
                          % (mach["date"], mach["postgres"].split(" on ")[0], mach["oq_fdw_commit"],
                             " ".join(mach["loadavg_start"]), " ".join(mach["loadavg_end"]))]
                         + b.writes_table())
    else:
        b.derive()
        text = b.table()
        if args.writes:
            text += "\n" + "\n".join(b.writes_table())
    print()
    print(text)
    doc = dict(config=dict(tasks=args.tasks, seed=args.seed, bucket=args.bucket, tag=args.tag,
                           matching=len(b.matching), repeat=args.repeat, concurrency=32,
                           cache=dict(exists=bool(b.cache), default=b.cache[1] if b.cache else None,
                                      on_value=getattr(b, "cache_on", None))),
               results=b.results, notes=b.notes, table=text)
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(doc, f, indent=2)
    print("\nJSON: %s" % args.json)
    wrong = list(b.results.get("wrong_answers", []))
    wrong += ["memory" for m in b.results.get("memory", []) if not m["correct"]]
    if wrong:
        print("bench: wrong answers from: %s" % ", ".join(wrong), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
