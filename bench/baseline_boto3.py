#!/usr/bin/env python3
"""baseline_boto3.py - what a user would write today without oq_fdw.

List tasks/ (ListObjectsV2, paginated, 1,000 keys a page), GET every task
object with a pool of 32 threads (GETs start while later pages are still
being listed), parse each body as JSON, count the tasks, and count those
whose tag KEY has VALUE: the scan-and-filter a tag query costs without an
index.  One pass answers both.

Prints one JSON object: wall time of the scan, this process's CPU time
during it (resource.getrusage: user + system of all its threads; client
creation and imports excluded), the requests it made, and the counts.

    bench/baseline_boto3.py --endpoint http://127.0.0.1:PORT --bucket oq-bench \
        --tag campaign=bench-1pct [--threads 32] [--id UUID]

Credentials come from OQ_TEST_ACCESS_KEY_ID / OQ_TEST_SECRET_ACCESS_KEY
(any value will do on plain moto).  --id also times one GET of that task by
key (the baseline's "id lookup"), after the scan, on the warm client.
"""
import argparse
import json
import os
import resource
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config


def cpu_seconds():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def proc_ticks(moto_pid):
    """(moto's CPU ticks, the machine's busy ticks): for bench.py only."""
    with open("/proc/%d/stat" % moto_pid) as f:
        st = f.read().rsplit(") ", 1)[1].split()
    with open("/proc/stat") as f:
        c = [int(x) for x in f.readline().split()[1:]]
    return int(st[11]) + int(st[12]), sum(c[:8]) - c[3] - c[4]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--endpoint", default=os.environ.get("OQ_TEST_ENDPOINT"), required=False)
    ap.add_argument("--region", default=os.environ.get("OQ_TEST_REGION", "us-east-1"))
    ap.add_argument("--bucket", required=True)
    ap.add_argument("--tag", required=True, metavar="KEY=VALUE", help="the tag the filter counts")
    ap.add_argument("--threads", type=int, default=32)
    ap.add_argument("--id", help="also time one GET of this task id (shard = first hex digit)")
    ap.add_argument("--moto-pid", type=int, help="(bench.py) also report this server's and the machine's "
                    "CPU ticks during the scan")
    args = ap.parse_args()
    if not args.endpoint:
        ap.error("--endpoint (or OQ_TEST_ENDPOINT) is required")
    tag_key, _, tag_value = args.tag.partition("=")

    s3 = boto3.client(
        "s3", endpoint_url=args.endpoint, region_name=args.region,
        aws_access_key_id=os.environ.get("OQ_TEST_ACCESS_KEY_ID", "bench"),
        aws_secret_access_key=os.environ.get("OQ_TEST_SECRET_ACCESS_KEY", "bench"),
        config=Config(s3={"addressing_style": "path"}, max_pool_connections=args.threads,
                      retries={"max_attempts": 5, "mode": "standard"}),
    )
    # one request outside the measurement: endpoint resolution, the
    # connection pool and botocore's lazily loaded models are set up here,
    # as in any long-lived user process
    s3.head_bucket(Bucket=args.bucket)

    lock = threading.Lock()
    counts = {"tasks": 0, "matching": 0, "bytes": 0}

    def fetch(key):
        body = s3.get_object(Bucket=args.bucket, Key=key)["Body"].read()
        task = json.loads(body)
        match = (task.get("tags") or {}).get(tag_key) == tag_value
        with lock:
            counts["tasks"] += 1
            counts["bytes"] += len(body)
            counts["matching"] += match

    lists = 0
    ticks0 = proc_ticks(args.moto_pid) if args.moto_pid else None
    cpu0, t0 = cpu_seconds(), time.monotonic()
    with ThreadPoolExecutor(max_workers=args.threads) as pool:
        futures = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=args.bucket, Prefix="tasks/"):
            lists += 1
            futures += [pool.submit(fetch, o["Key"]) for o in page.get("Contents", [])]
        for f in futures:
            f.result()
    wall, cpu = time.monotonic() - t0, cpu_seconds() - cpu0
    ticks1 = proc_ticks(args.moto_pid) if args.moto_pid else None

    out = {
        "wall_s": wall, "cpu_s": cpu, "requests_list": lists, "requests_get": len(futures),
        "tasks": counts["tasks"], "matching": counts["matching"], "bytes": counts["bytes"],
        "threads": args.threads,
    }
    if ticks0:
        hz = os.sysconf("SC_CLK_TCK")
        out["server_cpu_s"] = (ticks1[0] - ticks0[0]) / hz
        out["machine_cpu_s"] = (ticks1[1] - ticks0[1]) / hz
    if args.id:
        key = "tasks/%s/%s.json" % (args.id.replace("-", "")[0], args.id)
        t1 = time.monotonic()
        json.loads(s3.get_object(Bucket=args.bucket, Key=key)["Body"].read())
        out["id_lookup_wall_s"] = time.monotonic() - t1
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
