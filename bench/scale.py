#!/usr/bin/env python3
"""scale.py - the measurements of bench/run --scale (see bench/README.md).

bench/run --scale starts PostgreSQL with oq_fdw preloaded (the shared task
cache, when this build has one), Ceph RGW (or plain moto with --server
moto) and calls this with the harness's environment.  In one run, on one
server, it:

  seeds      a bucket of N tasks and one of N/10 (bench/s3load: parallel
             PUTs; timed, but not a result)
  ceiling    bench/s3load: GET every task object of the bucket, 32 and 64
             connections kept alive; the faster is the server's GET ceiling
  baseline   bench/baseline_boto3.py: list + GET + parse every task
  oq_fdw     list only (the sixteen shard prefixes, one after the other);
             a cold full scan from a fresh session; the same from another
             fresh session (warm: the shared cache); every column of the
             warm scan; the planner's estimate (EXPLAIN) in the scanning
             session and in a fresh one; the shared cache's counters;
             and the same cold and warm scans of the N/10 bucket, for the
             growth of the backend's peak RSS (VmHWM) between the two sizes

and prints one table (each number with its command) and writes JSON.
Nothing here asserts a time; the exit status says whether every answer was
right.
"""
import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bench as B  # noqa: E402  (bench/bench.py: psql, session, probes)
import gen_tasks  # noqa: E402  (test/gen_tasks.py, on the path bench.py set)

S3LOAD = os.path.join(HERE, "s3load", "build", "s3load")
SHARED_NAMES = ("shared_cache_bytes", "shared_cache_capacity_bytes", "shared_cache_entries",
                "shared_cache_hits", "shared_cache_misses", "shared_cache_evictions", "shared_cache_skipped")


class MemSampler(threading.Thread):
    """Watches one backend from outside: every 50 ms, its RssAnon (private
    memory), RssShmem (shared memory pages it has touched: the shared
    cache's bodies it read or wrote count here, once per page, though
    every backend shares them) and VmRSS, from /proc/PID/status.  VmHWM,
    the kernel's peak, is their sum's peak: a backend that reads 100 MB
    of shared cache shows 100 MB more VmHWM without owning a byte of it,
    so the private peak is sampled here."""

    def __init__(self, pidfile):
        super().__init__(daemon=True)
        self.pidfile, self.samples, self.halt = pidfile, [], threading.Event()

    def run(self):
        pid = None
        while pid is None and not self.halt.is_set():
            try:
                with open(self.pidfile) as f:
                    pid = int(f.read().strip())
            except (OSError, ValueError):
                self.halt.wait(0.02)
        while pid is not None and not self.halt.is_set():
            try:
                with open("/proc/%d/status" % pid) as f:
                    text = f.read()
            except OSError:
                return
            got = dict(re.findall(r"^(RssAnon|RssShmem|VmRSS):\s*(\d+)", text, re.M))
            self.samples.append((time.time(), int(got.get("RssAnon", 0)), int(got.get("RssShmem", 0)),
                                 int(got.get("VmRSS", 0))))
            self.halt.wait(0.05)

    def peak(self, t0, t1):
        """(max RssAnon, max RssShmem) in kB over [t0, t1], None if unsampled."""
        got = [x for x in self.samples if t0 <= x[0] <= t1]
        if not got:
            return None, None
        return max(x[1] for x in got), max(x[2] for x in got)


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


class Scale:
    def __init__(self, args):
        self.a = args
        self.endpoint = os.environ["OQ_TEST_ENDPOINT"]
        self.region = os.environ.get("OQ_TEST_REGION", "us-east-1")
        self.rows = []          # (key, title, dict)
        self.notes = []
        self.results = {}
        self.wrong = []
        self.sizes = [(args.tasks, args.bucket, "s", "scale"),
                      (args.small, args.bucket + "-small", "ss", "scale_small")]

    def log(self, text):
        print("[scale] " + text, flush=True)

    def note(self, text):
        self.notes.append(text)
        self.log("note: " + text)

    # ---- setup

    def seed(self, n, bucket, seed):
        """Generate n tasks (test/gen_tasks.py) and PUT them with s3load."""
        import boto3
        from botocore.config import Config
        s3 = boto3.client("s3", endpoint_url=self.endpoint, region_name=self.region,
                          aws_access_key_id=os.environ["OQ_TEST_ACCESS_KEY_ID"],
                          aws_secret_access_key=os.environ["OQ_TEST_SECRET_ACCESS_KEY"],
                          config=Config(s3={"addressing_style": "path"}))
        s3.create_bucket(Bucket=bucket)
        t0 = time.monotonic()
        tasks = gen_tasks.generate_tasks(n, seed=seed)
        data = os.path.join(self.a.tmp, "seed-%s.tsv" % bucket)
        keys = os.path.join(self.a.tmp, "keys-%s.txt" % bucket)
        with open(data, "w", encoding="utf-8") as f, open(keys, "w") as k:
            for t in tasks:
                body = gen_tasks.task_body(t).decode("utf-8")
                if "\n" in body or "\t" in body:
                    raise B.BenchError("a task body with a raw newline or tab")
                f.write("%s\t%s\n" % (gen_tasks.task_key(t), body))
                k.write(gen_tasks.task_key(t) + "\n")
        gen_s = time.monotonic() - t0
        self.log("seed s3://%s: %d tasks generated in %.1f s; PUT with s3load, 64 connections" % (bucket, n, gen_s))
        r = self.s3load("put", data, bucket, 64)
        os.unlink(data)
        r.update(generate_s=gen_s, tasks=n, bucket=bucket)
        self.log("seed s3://%s: %d PUTs in %.1f s (%.0f/s)" % (bucket, n, r["wall_s"], n / r["wall_s"]))
        return tasks, keys, r

    def s3load(self, mode, path, bucket, parallel):
        cmd = [S3LOAD, mode, path, "--endpoint", self.endpoint, "--bucket", bucket,
               "--region", self.region, "--parallel", str(parallel)]
        busy0, srv0, la = B.machine_busy(), B.moto_ticks(self.a.server_pid), loadavg()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        srv = (B.moto_ticks(self.a.server_pid) - srv0) / B.CLK_TCK
        busy = (B.machine_busy() - busy0) / B.CLK_TCK
        if proc.returncode != 0:
            raise B.BenchError("s3load %s failed (exit %d): %s %s" % (mode, proc.returncode, proc.stdout.strip(),
                                                                      proc.stderr.strip()[-400:]))
        r = json.loads(proc.stdout)
        r.update(server_cpu_s=srv, machine_cpu_s=busy, loadavg=la,
                 command="bench/s3load/build/s3load %s KEYS --bucket %s --parallel %d" % (mode, bucket, parallel))
        return r

    def setup_sql(self):
        sql = ["CREATE EXTENSION IF NOT EXISTS oq_fdw;",
               "\\getenv endpoint OQ_TEST_ENDPOINT", "\\getenv region OQ_TEST_REGION",
               "\\getenv key OQ_TEST_ACCESS_KEY_ID", "\\getenv secret OQ_TEST_SECRET_ACCESS_KEY"]
        for _n, bucket, schema, server in self.sizes:
            sql += ["DROP SCHEMA IF EXISTS %s CASCADE;" % schema, "DROP SERVER IF EXISTS %s CASCADE;" % server,
                    "CREATE SERVER %s FOREIGN DATA WRAPPER oq_fdw OPTIONS (bucket %s, endpoint :'endpoint', "
                    "region :'region', tag_index 'off');" % (server, B.sql_literal(bucket)),
                    "CREATE USER MAPPING FOR CURRENT_USER SERVER %s OPTIONS "
                    "(access_key_id :'key', secret_access_key :'secret');" % server,
                    "CREATE SCHEMA %s;" % schema,
                    "IMPORT FOREIGN SCHEMA oq FROM SERVER %s INTO %s;" % (server, schema)]
        B.psql("\n".join(sql))
        rows = B.psql("LOAD 'oq_fdw';\nSELECT name, setting, coalesce(unit, '') FROM pg_settings "
                      "WHERE name IN ('oq_fdw.cache_size', 'oq_fdw.shared_cache_size', "
                      "'oq_fdw.shared_cache', 'shared_preload_libraries', 'jit', 'jit_above_cost') ORDER BY name;")
        self.settings = {r[0]: r[1] + r[2] for r in rows}
        stats = self.shared_stats()
        ssize = self.settings.get("oq_fdw.shared_cache_size")
        preloaded = "oq_fdw" in self.settings.get("shared_preload_libraries", "")
        if ssize is None:
            self.shared = None
            self.shared_why = "shared cache not available: this build has no oq_fdw.shared_cache_size"
        elif not preloaded:
            self.shared = None
            self.shared_why = "shared cache not available: oq_fdw is not in shared_preload_libraries"
        elif re.match(r"^0\D*$", ssize):
            self.shared = None
            self.shared_why = "shared cache not available: oq_fdw.shared_cache_size is 0"
        elif not stats:
            self.shared = None
            self.shared_why = "shared cache not available: oq_stats() has no shared_cache_* counters"
        elif stats.get("shared_cache_capacity_bytes", 1) == 0:
            self.shared = None
            self.shared_why = "shared cache not available: oq_stats() says its capacity is 0 bytes"
        elif self.settings.get("oq_fdw.shared_cache") == "off":
            self.shared = None
            self.shared_why = "shared cache not available: oq_fdw.shared_cache is off"
        else:
            self.shared = ssize
            self.shared_why = None
        if self.shared_why:
            self.note(self.shared_why)
        else:
            self.log("shared cache: oq_fdw.shared_cache_size = %s" % ssize)

    def shared_stats(self):
        rows = B.psql("SELECT name, value FROM oq_stats() WHERE name LIKE 'shared\\_cache\\_%';")
        return {r[0]: int(r[1]) for r in rows}

    # ---- measurements

    def oq(self, key, steps, expected, settings=()):
        """One fresh session: steps [(label, sql)], each measured between
        two probes; settings [(name, value)] are SET first.  Returns
        {label: measurement}, the step's result rows included."""
        la = loadavg()
        pidfile = os.path.join(self.a.tmp, "scale-backend.pid")
        if os.path.exists(pidfile):
            os.unlink(pidfile)
        sampler = MemSampler(pidfile)
        sampler.start()
        try:
            got = B.session(steps, list(settings), self.a.server_pid, pidfile=pidfile)
        finally:
            sampler.halt.set()
            sampler.join()
        out = {}
        for label, sql in steps:
            m = got[label]
            m["anon_peak_kb"], m["shmem_peak_kb"] = sampler.peak(m["t_start"], m["t_end"])
            m["anon_samples"] = len([x for x in sampler.samples if m["t_start"] <= x[0] <= m["t_end"]])
            m["loadavg"] = la
            m["command"] = "".join("SET %s = %s; " % kv for kv in settings) + sql + ";"
            if label in expected:
                answer = B.SEP.join(m["result"][0]) if m["result"] else None
                m["correct"] = answer == expected[label]
                if not m["correct"]:
                    self.wrong.append("%s (%s: got %r, expected %r)" % (key, label, answer, expected[label]))
            out[label] = m
        return out

    @staticmethod
    def explain_rows(m):
        for row in m["result"]:
            found = re.search(r"rows=(\d+)", row[0])
            if found:
                return int(found.group(1))
        return None

    def scan_size(self, n, schema, tag):
        """Of the bucket of n tasks, each in a fresh session: the cold
        scan, the warm scan, the warm scan of every column, and every
        column with oq_fdw.cache_size = 0 (no cache at all: the scan's own
        memory); the planner's estimate after the scan and in a fresh
        session.  Returns {name: measurement}."""
        count = "SELECT count(*) FROM %s.tasks" % schema
        every = "SELECT count(*), sum(pg_column_size(t.*)) > 0 FROM %s.tasks t" % schema
        explain = "EXPLAIN SELECT * FROM %s.tasks" % schema
        res = {}
        self.log("%s: cold full scan, fresh session (%d tasks)" % (tag, n))
        res.update(self.oq(tag + "_cold", [("cold", count), ("explain_after", explain)], {"cold": str(n)}))
        self.log("%s: warm full scan, another fresh session" % tag)
        res.update(self.oq(tag + "_warm", [("explain_fresh", explain), ("explain_every", "EXPLAIN " + every),
                                           ("warm", count)], {"warm": str(n)}))
        self.log("%s: warm scan of every column, another fresh session" % tag)
        res.update(self.oq(tag + "_every", [("every", every)], {"every": "%s%st" % (n, B.SEP)}))
        self.log("%s: every column, oq_fdw.cache_size = 0 (no cache), another fresh session" % tag)
        res.update(self.oq(tag + "_nocache", [("nocache", every)], {"nocache": "%s%st" % (n, B.SEP)},
                           [("oq_fdw.cache_size", "0")]))
        return res

    def run(self):
        a = self.a
        big, small = self.sizes[0], self.sizes[1]
        self.results["machine"] = dict(
            date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            loadavg_start=loadavg(), nproc=os.cpu_count(), server=a.server,
            postgres=B.psql("SELECT version();")[0][0].split(" on ")[0],
            oq_fdw_commit=(subprocess.run(["git", "-C", B.ROOT, "rev-parse", "--short", "HEAD"],
                                          capture_output=True, text=True).stdout.strip() or "?"))
        self.setup_sql()
        self.results["settings"] = self.settings
        tasks, keys, seed_big = self.seed(big[0], big[1], a.seed)
        _stasks, _skeys, seed_small = self.seed(small[0], small[1], a.seed + 1)
        self.results["seed"] = [seed_big, seed_small]

        tag_key, tag_value = "customer", "globex"
        matching = sum(1 for t in tasks if t["tags"].get(tag_key) == tag_value)
        if a.no_baseline:
            self.results["baseline"] = None
            self.note("baseline not run (--no-baseline)")
        else:
            self.log("baseline: bench/baseline_boto3.py, list + %d GETs with 32 threads" % big[0])
            la = loadavg()
            proc = subprocess.run([sys.executable, os.path.join(HERE, "baseline_boto3.py"),
                                   "--endpoint", self.endpoint, "--bucket", big[1],
                                   "--tag", "%s=%s" % (tag_key, tag_value), "--threads", "32",
                                   "--moto-pid", str(a.server_pid)], capture_output=True, text=True)
            if proc.returncode != 0:
                raise B.BenchError("baseline_boto3.py failed: %s" % proc.stderr.strip()[-500:])
            base = json.loads(proc.stdout)
            base.update(loadavg=la, correct=base["tasks"] == big[0] and base["matching"] == matching,
                        command="bench/baseline_boto3.py --bucket %s --tag %s=%s --threads 32"
                        % (big[1], tag_key, tag_value))
            if not base["correct"]:
                self.wrong.append("baseline (%d tasks, %d matching)" % (base["tasks"], base["matching"]))
            self.results["baseline"] = base

        # the ceiling just before the scans it is compared with (the
        # machine's load drifts over the baseline's minutes)
        self.log("ceiling: s3load GET of the %d task objects, 32 then 64 connections" % big[0])
        ceil = [self.s3load("get", keys, big[1], p) for p in (32, 64)]
        for c in ceil:
            c["rate"] = c["requests"] / c["wall_s"]
        self.results["ceiling"] = ceil
        best = max(ceil, key=lambda c: c["rate"])

        listing = "SELECT count(*) FROM regexp_split_to_table('0123456789abcdef', '') AS d, " \
                  "oq_list_objects('scale', 'tasks/' || d)"
        self.log("list only: the sixteen shard prefixes, one after the other")
        self.results["list_only"] = self.oq("list_only", [("list", listing)], {"list": str(big[0])})

        self.results["big"] = self.scan_size(big[0], big[2], "big")
        self.results["shared_after_big"] = self.shared_stats() if self.shared else None
        self.results["small"] = self.scan_size(small[0], small[2], "small")
        self.results["shared_end"] = self.shared_stats() if self.shared else None
        self.results["best_ceiling"] = best
        self.results["machine"]["loadavg_end"] = loadavg()

    # ---- output

    def table(self):
        a, r = self.a, self.results
        n, ns = a.tasks, a.small
        bg, sm = r["big"], r["small"]
        big_cold, big_warm = bg["cold"], bg["warm"]
        best = r["best_ceiling"]
        ceil_rate = best["rate"]
        base = r["baseline"]
        srv = {"rgw": "Ceph RGW (radosgw, beast, 1 memstore OSD, SigV4 verified)",
               "moto": "moto (plain moto_server, Connection: close)"}[a.server]
        out = []
        mach = r["machine"]
        out.append("oq_fdw scale benchmark, %s, %s, %d tasks (memory also at %d); %s; oq_fdw %s"
                   % (mach["date"], srv, n, ns, mach["postgres"], mach["oq_fdw_commit"]))
        out.append("load average at start %s, at end %s (%d cores, shared with other sessions)"
                   % (mach["loadavg_start"], mach["loadavg_end"], mach["nproc"]))
        out.append("settings: " + ", ".join("%s=%s" % kv for kv in sorted(self.settings.items())))
        out.append("")
        fmt = "%-4s %-50s %10s %-9s %5s %7s %8s %7s %9s %7s %-15s"
        hdr = fmt % ("ref", "measurement", "rate", "unit", "LIST", "GET", "wall s", "CPU s", "VmHWM kB",
                     "server", "load avg")
        out.append(hdr)
        out.append("-" * len(hdr))
        cmds = []

        def row(title, rate, unit, lists, gets, wall, cpu, hwm, server, la, command):
            ref = "[%d]" % (len(cmds) + 1)
            cmds.append("%s %s" % (ref, command))
            out.append(fmt % (ref, title, rate, unit, lists, gets, wall, cpu, hwm, server, la))

        def pct(srv_s, wall):
            return "%.0f%%" % (100 * srv_s / wall) if wall > 0.5 else "-"
        for s in r["seed"]:
            row("seeding s3://%s (not a result)" % s["bucket"], "%.0f" % (s["requests"] / s["wall_s"]), "PUT/s",
                "-", "-", "%.1f" % s["wall_s"], "%.1f" % s["cpu_s"], "-", pct(s["server_cpu_s"], s["wall_s"]),
                s["loadavg"], s["command"].replace("KEYS", "TASKS.tsv"))
        if base:
            row("baseline: boto3, 32 threads, list+GET+parse", "%.0f" % (base["tasks"] / base["wall_s"]),
                "tasks/s", base["requests_list"], base["requests_get"], "%.1f" % base["wall_s"],
                "%.1f" % base["cpu_s"], "-", pct(base.get("server_cpu_s", 0), base["wall_s"]), base["loadavg"],
                base["command"])
        for c in r["ceiling"]:
            row("ceiling: s3load GET, %d connections%s" % (c["parallel"], " (best)" if c is best else ""),
                "%.0f" % c["rate"], "GET/s", 0, c["requests"], "%.1f" % c["wall_s"], "%.1f" % c["cpu_s"], "-",
                pct(c["server_cpu_s"], c["wall_s"]), c["loadavg"], c["command"])

        def oqrow(title, m, unit="tasks/s", count=n):
            row(title, "%.0f" % (count / m["wall_s"]) if m["wall_s"] > 0 else "-", unit, m["requests_list"],
                m["requests_get"], "%.2f" % m["wall_s"], "%.1f" % m["cpu_s"], m["hwm_kb"],
                pct(m["server_cpu_s"], m["wall_s"]), m["loadavg"], m["command"] + "  (a fresh session)")
        lst = r["list_only"]["list"]
        warm = "warm (shared cache)," if self.shared else "no shared cache: cold again,"
        oqrow("oq_fdw list only: 16 shard prefixes in turn", lst, "keys/s")
        for size, res in ((n, bg), (ns, sm)):
            oqrow("oq_fdw %d: cold full scan, fresh session" % size, res["cold"], count=size)
            oqrow("oq_fdw %d: %s new session" % (size, warm), res["warm"], count=size)
            oqrow("oq_fdw %d: every column, %s new session" % (size, "warm," if self.shared else "cold,"),
                  res["every"], count=size)
            oqrow("oq_fdw %d: every column, cache_size 0, fresh" % size, res["nocache"], count=size)
        out.append("")
        out.append("rate: per second of wall time.  CPU s: the client's (s3load, the boto3 process, the "
                   "backend).  VmHWM: the backend's peak RSS after the query (/proc/self/status, read in the "
                   "same session; %d kB before the first query).  server: the S3 server process's CPU / wall "
                   "(radosgw or moto; the OSD's and monitor's not counted)" % big_cold["hwm_kb_before"])
        out.append("")
        out.append("memory of the backend, kB, at %d and %d tasks (fresh session each): private = peak RssAnon "
                   "(sampled every 50 ms), shared = peak RssShmem (shared memory pages it touched),"
                   " VmHWM = the kernel's peak RSS, both together" % (ns, n))
        mfmt = "%-52s %9s %9s %8s  %9s %9s  %9s %9s %8s"
        out.append(mfmt % ("", "private", "private", "growth", "shared", "shared", "VmHWM", "VmHWM", "growth"))
        out.append(mfmt % ("", ns, n, "", ns, n, ns, n, ""))

        def kb(v):
            return "-" if v is None else str(v)
        for what, key in (("cold full scan, count(*)", "cold"),
                          ("another fresh session, count(*)" + (" (warm)" if self.shared else " (cold again)"),
                           "warm"),
                          ("every column (%s)" % ("warm" if self.shared else "cold"), "every"),
                          ("every column, oq_fdw.cache_size = 0 (no cache)", "nocache")):
            a0, a1 = sm[key]["anon_peak_kb"], bg[key]["anon_peak_kb"]
            out.append(mfmt % (what, kb(a0), kb(a1), kb(a1 - a0 if a0 is not None and a1 is not None else None),
                               kb(sm[key]["shmem_peak_kb"]), kb(bg[key]["shmem_peak_kb"]),
                               sm[key]["hwm_kb"], bg[key]["hwm_kb"], bg[key]["hwm_kb"] - sm[key]["hwm_kb"]))
        out.append("")

        cold_rate = n / big_cold["wall_s"]
        warm_speed = big_cold["wall_s"] / big_warm["wall_s"]
        targets = []

        def target(what, value, goal, met):
            targets.append((what, value, goal, met))
        target("cold scan rate / GET ceiling (tasks/s over GET/s)", "%.2f" % (cold_rate / ceil_rate), ">= 0.8",
               cold_rate / ceil_rate >= 0.8)
        target("  the same, every column, cache_size 0 (another cold scan)",
               "%.2f" % (n / bg["nocache"]["wall_s"] / ceil_rate), "(report)", None)
        if self.shared:
            target("warm scan (fresh session) speedup vs cold scan", "%.1fx" % warm_speed, ">= 20x",
                   warm_speed >= 20)
            if base:
                target("warm scan (fresh session) speedup vs boto3 baseline",
                       "%.1fx" % (base["wall_s"] / big_warm["wall_s"]), "(report)", None)
            target("warm scan (fresh session): GETs", str(big_warm["requests_get"]), "0",
                   big_warm["requests_get"] == 0)
        else:
            target("warm scan (fresh session) speedup vs cold scan", "n/a", ">= 20x", None)
            target("  (%s)" % self.shared_why, "", "", None)
        if base:
            target("cold scan speedup vs boto3 baseline", "%.2fx" % (base["wall_s"] / big_cold["wall_s"]),
                   "(report)", None)
        for what, key in (("cold count(*)", "cold"), ("warm count(*)" if self.shared else "2nd count(*)", "warm"),
                          ("every column", "every"), ("every column, no cache", "nocache")):
            a0, a1 = sm[key]["anon_peak_kb"], bg[key]["anon_peak_kb"]
            if a0 is None or a1 is None:
                target("private memory growth %d -> %d tasks, %s" % (ns, n, what), "unsampled", "< 20480", None)
                continue
            target("private memory growth %d -> %d tasks, %s, kB" % (ns, n, what), str(a1 - a0), "< 20480",
                   a1 - a0 < 20480)
        out.append("%-62s %10s %10s %5s" % ("target (issue 19)", "measured", "target", "met"))
        for what, value, goal, met in targets:
            out.append("%-62s %10s %10s %5s" % (what, value, goal, {True: "yes", False: "no", None: ""}[met]))
        out.append("")

        # the planner, the listing, the shared cache
        out.append("planner: EXPLAIN SELECT * FROM tasks: rows=%s in the session that scanned %d tasks; "
                   "rows=%s in a fresh session (before it scans)"
                   % (self.explain_rows(bg["explain_after"]), n, self.explain_rows(bg["explain_fresh"])))
        jit = [size for size, res in ((ns, sm), (n, bg)) if any(row[0].lstrip().startswith("JIT:")
                                                                for row in res["explain_every"]["result"])]
        if jit:
            out.append("  JIT: at %s tasks the estimate puts the plan over jit_above_cost (%s), so the fresh "
                       "sessions' scans JIT-compile: LLVM's heap is in their private memory and libLLVM's pages "
                       "in VmHWM, once, whatever the number of tasks (jit = off takes both away)"
                       % (" and ".join(str(x) for x in jit), self.settings.get("jit_above_cost", "?")))
        share = lst["wall_s"] / big_cold["wall_s"]
        out.append("listing: the scan lists tasks/0 .. tasks/f as sixteen concurrent ListObjectsV2 chains "
                   "(src/scan.c); cold scan: %d LIST requests; listing alone, prefixes one after the other: "
                   "%.2f s = %.0f%% of the cold scan's wall, %.0f%% of the warm scan's"
                   % (big_cold["requests_list"], lst["wall_s"], 100 * share,
                      100 * lst["wall_s"] / big_warm["wall_s"]))
        if self.shared:
            sb, se = r["shared_after_big"], r["shared_end"]
            out.append("shared cache (oq_fdw.shared_cache_size = %s) after the %d-task scans: %s"
                       % (self.shared, n, ", ".join("%s=%s" % (k, sb[k]) for k in SHARED_NAMES if k in sb)))
            if sb.get("shared_cache_entries"):
                out.append("  %.0f bytes per entry; at the end (both buckets): %s"
                           % (sb.get("shared_cache_bytes", 0) / sb["shared_cache_entries"],
                              ", ".join("%s=%s" % (k, se[k]) for k in SHARED_NAMES if k in se)))
            wst = big_warm["stats"]
            out.append("  warm scan's own counters: %s" % ", ".join(
                "%s=%d" % (k, wst.get(k, 0)) for k in ("requests_list", "requests_get", "cache_hits", "cache_misses",
                                                     "shared_cache_hits", "shared_cache_misses")))
        else:
            out.append("shared cache: %s" % self.shared_why)
        out.append("")
        out.append("commands (psql -X in a fresh session each; s3load and the baseline get the endpoint and "
                   "the key pair from the environment):")
        out.extend("  " + c for c in cmds)
        for note in self.notes:
            out.append("note: " + note)
        if self.wrong:
            out.append("WRONG ANSWERS: " + "; ".join(self.wrong))
        return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--tasks", type=int, required=True)
    ap.add_argument("--small", type=int, required=True, help="tasks in the second bucket (memory growth)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--bucket", default="oq-scale")
    ap.add_argument("--server", choices=("moto", "rgw"), required=True)
    ap.add_argument("--server-pid", type=int, required=True)
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--no-baseline", action="store_true")
    args = ap.parse_args()
    if not os.access(S3LOAD, os.X_OK):
        sys.exit("scale.py: %s is not built (make -C bench/s3load)" % S3LOAD)
    s = Scale(args)
    s.run()
    text = s.table()
    print()
    print(text)
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    res = dict(s.results)
    for k in ("big", "small"):
        res[k] = {label: {f: v for f, v in m.items() if f != "result"} for label, m in res[k].items()}
    with open(args.json, "w") as f:
        json.dump(dict(config=vars(args), results=res, notes=s.notes, wrong=s.wrong, table=text),
                  f, indent=2, default=str)
    print("\nJSON: %s" % args.json)
    if s.wrong:
        sys.exit(1)


if __name__ == "__main__":
    main()
