#!/usr/bin/env python3
"""gen_tasks.py - generate oq tasks in the bucket format and upload them to S3.

Writes N task objects at tasks/{shard}/{id}.json exactly as a reference
producer and its workers would leave them (every field present, see the
bucket format in the tagging specification), with a realistic mix of statuses and tags:
a skewed choice among ~20 customers, region, env, and for some tasks batch_id
and priority.  Optionally also the tag index entries tags/{key}/{segment}/{id}
(--index) and the ready entries of pending tasks (--ready).

Deterministic: the same --seed (and --base-time) gives the same tasks, ids
included, so tests and the benchmark can predict results.  --extra-tag gives
one tag value to an exact share of the tasks (the benchmark's 1% query)
without changing the others.  Import it to reuse the pieces:
generate_tasks(), add_extra_tag(), index_segment(), index_keys(), upload().

Connection settings default to the test harness's environment
(OQ_TEST_ENDPOINT, OQ_TEST_REGION, OQ_TEST_ACCESS_KEY_ID,
OQ_TEST_SECRET_ACCESS_KEY).

    test/gen_tasks.py --bucket oq-demo --create-bucket -n 500 --index --seed 1
"""
import argparse
import collections
import datetime
import hashlib
import json
import os
import random
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

# ---------------------------------------------------------------------------
# the tag index key segment

# RFC 3986 unreserved characters, except '~': it is encoded too, so that a
# segment starting with '~' can only be a hashed one.
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._")
MAX_SEGMENT = 512


def index_segment(value):
    """The tag index key segment for a tag value.

    The UTF-8 bytes percent-encoded (upper-case hex) except A-Z a-z 0-9 - . _;
    '~' + sha256 hex of the value when the encoding would be empty, '.', '..'
    or longer than 512 bytes (keeps keys under S3's 1024-byte limit and away
    from path-like segments).
    """
    enc = "".join(chr(b) if b in _UNRESERVED else "%%%02X" % b for b in value.encode("utf-8"))
    if enc in ("", ".", "..") or len(enc) > MAX_SEGMENT:
        return "~" + hashlib.sha256(value.encode("utf-8")).hexdigest()
    return enc


def index_keys(task):
    """The tag index entries of one task."""
    return ["tags/%s/%s/%s" % (k, index_segment(v), task["id"]) for k, v in sorted(task.get("tags", {}).items())]


def task_key(task):
    return "tasks/%s/%s.json" % (task["shard"], task["id"])


def ready_key(task):
    avail = parse_ts(task["available_at"])
    return "ready/%s/%010d/%s" % (task["shard"], int(avail.timestamp()) // 60, task["id"])


# ---------------------------------------------------------------------------
# generating tasks

CUSTOMERS = [
    "acme-corp", "globex", "initech", "umbrella", "hooli", "stark-industries",
    "wayne-enterprises", "cyberdyne", "soylent", "wonka", "tyrell", "massive-dynamic",
    "aperture", "black-mesa", "oscorp", "vandelay", "dunder-mifflin", "pied-piper",
    "gringotts", "monarch",
]
# Zipf-like: the first customers submit most of the work, the tail a little.
CUSTOMER_WEIGHTS = [1.0 / (rank ** 1.1) for rank in range(1, len(CUSTOMERS) + 1)]
REGIONS = [("us-east", 40), ("us-west", 25), ("eu-central", 20), ("ap-south", 15)]
ENVS = [("production", 70), ("staging", 20), ("dev", 10)]
PRIORITIES = [("high", 50), ("low", 35), ("critical", 15)]
STATUSES = [
    ("pending", 40), ("completed", 30), ("running", 12), ("failed", 10),
    ("cancelled", 5), ("expired", 2), ("archived", 1),
]
TASK_TYPES = ["process_order", "send_email", "generate_report", "resize_image", "sync_inventory"]
ERRORS = [
    "Retryable error: upstream timeout",
    "Retryable error: connection reset by peer",
    "Permanent error: card declined",
    "Permanent error: invalid input: missing field 'sku'",
]
RETRY_POLICY = {"initial_interval_ms": 1000, "max_interval_ms": 60000, "multiplier": 2.0, "jitter_percent": 0.25}
DEFAULT_BASE_TIME = "2026-01-28T12:00:00Z"


def parse_ts(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


def fmt_ts(dt):
    """RFC 3339, UTC, 'Z', 6 fraction digits: what writers emit."""
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _pick(rng, pairs):
    return rng.choices([v for v, _ in pairs], weights=[w for _, w in pairs])[0]


def _uuid(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _input(rng, task_type, n):
    if task_type == "process_order":
        return {"order_id": str(100000 + n), "amount_cents": rng.randint(100, 500000), "currency": "USD"}
    if task_type == "send_email":
        return {"to": "user%d@example.com" % rng.randint(1, 9999), "template": rng.choice(["welcome", "receipt", "reset"])}
    if task_type == "generate_report":
        return {"report": rng.choice(["daily", "weekly", "monthly"]), "format": "pdf"}
    if task_type == "resize_image":
        return {"src": "images/%06d.jpg" % n, "sizes": [64, 256, 1024]}
    return {"warehouse": "wh-%d" % rng.randint(1, 12), "full": rng.random() < 0.1}


def _tags(rng, batches):
    r = rng.random()
    if r < 0.03:
        return {}
    tags = {
        "customer": rng.choices(CUSTOMERS, weights=CUSTOMER_WEIGHTS)[0],
        "region": _pick(rng, REGIONS),
        "env": _pick(rng, ENVS),
    }
    if rng.random() < 0.45:
        tags["batch_id"] = rng.choice(batches)
    if rng.random() < 0.20:
        tags["priority"] = _pick(rng, PRIORITIES)
    return tags


def make_task(rng, n, base, batches, shard_prefix_len=1):
    """One task as the reference producer wrote it, advanced to a random status
    as its workers would have left it.  Field order follows the reference."""
    tid = _uuid(rng)
    task_type = rng.choice(TASK_TYPES)
    status = _pick(rng, STATUSES)
    created = base - datetime.timedelta(seconds=rng.uniform(0, 7 * 86400))
    available = created
    if status == "pending" and rng.random() < 0.15:  # scheduled for later
        available = created + datetime.timedelta(seconds=rng.uniform(60, 4 * 3600))
    max_retries = rng.choice([0, 1, 3, 3, 3, 5])
    timeout = rng.choice([60, 300, 300, 900])
    t = {
        "id": tid,
        "shard": tid.replace("-", "")[:shard_prefix_len],
        "task_type": task_type,
        "input": _input(rng, task_type, n),
        "output": None,
        "timeout_seconds": timeout,
        "max_retries": max_retries,
        "retry_count": 0,
        "retry_policy": dict(RETRY_POLICY),
        "status": status,
        "created_at": fmt_ts(created),
        "available_at": fmt_ts(available),
        "lease_expires_at": None,
        "lease_id": None,
        "attempt": 0,
        "updated_at": fmt_ts(created),
        "completed_at": None,
        "worker_id": None,
        "last_error": None,
        "reschedule_count": 0,
        "cancel_requested": False,
        "tags": _tags(rng, batches),
    }
    started = available + datetime.timedelta(seconds=rng.uniform(0.5, 120))
    finished = started + datetime.timedelta(seconds=rng.uniform(0.2, timeout))
    worker = "worker-%02d" % rng.randint(1, 16)
    if status == "running":
        attempt = rng.randint(1, max_retries + 1)
        t.update(attempt=attempt, retry_count=attempt - 1, lease_id=_uuid(rng), worker_id=worker,
                 lease_expires_at=fmt_ts(started + datetime.timedelta(seconds=timeout)),
                 updated_at=fmt_ts(started))
        if attempt > 1:
            t["last_error"] = ERRORS[0]
    elif status in ("completed", "archived"):
        t.update(attempt=1, worker_id=worker, completed_at=fmt_ts(finished), updated_at=fmt_ts(finished),
                 output={"ok": True, "duration_ms": int((finished - started).total_seconds() * 1000)})
    elif status == "failed":
        t.update(attempt=max_retries + 1, retry_count=max_retries, worker_id=worker,
                 last_error=rng.choice(ERRORS), completed_at=fmt_ts(finished), updated_at=fmt_ts(finished))
    elif status == "cancelled":
        cancelled = created + datetime.timedelta(seconds=rng.uniform(1, 600))
        t.update(cancel_requested=True, updated_at=fmt_ts(cancelled))
        t["cancelled_at"] = fmt_ts(cancelled)
        t["cancelled_by"] = rng.choice(["user:alice", "user:bob", "api:ops-console"])
    elif status == "expired":
        expires = created + datetime.timedelta(hours=1)
        t.update(updated_at=fmt_ts(expires))
        t["expires_at"] = fmt_ts(expires)
        t["expired_at"] = fmt_ts(expires + datetime.timedelta(seconds=rng.uniform(0, 30)))
    # keep "tags" last, as the reference writes it
    t["tags"] = t.pop("tags")
    return t


def generate_tasks(count, seed=0, base_time=DEFAULT_BASE_TIME, shard_prefix_len=1):
    """count tasks, deterministic for (count, seed, base_time, shard_prefix_len)."""
    rng = random.Random(seed)
    base = parse_ts(base_time)
    batches = ["batch-%s-%03d" % ((base - datetime.timedelta(days=d)).strftime("%Y-%m-%d"), i)
               for d in range(7) for i in range(1, 4)]
    return [make_task(rng, n, base, batches, shard_prefix_len) for n in range(count)]


def add_extra_tag(tasks, key, value, share, seed=0):
    """Give tag key=value to exactly round(share * len(tasks)) of the tasks.

    They are chosen by an RNG of their own, so every other field (ids
    included) is the same as without it, and the same (seed, key, value,
    share) picks the same tasks.  Returns the tasks that got the tag.
    """
    chosen = random.Random("%s:%s=%s:%r" % (seed, key, value, share)).sample(
        range(len(tasks)), round(share * len(tasks)))
    for i in sorted(chosen):
        tasks[i]["tags"][key] = value
    return [tasks[i] for i in sorted(chosen)]


def parse_extra_tag(spec):
    """'KEY=VALUE:SHARE' -> (key, value, share); VALUE may hold ':' and '='."""
    kv, sep, share = spec.rpartition(":")
    key, eq, value = kv.partition("=")
    if not sep or not eq or not key:
        raise ValueError("expected KEY=VALUE:SHARE, e.g. campaign=spring-sale:0.01")
    share = float(share)
    if not 0 <= share <= 1:
        raise ValueError("SHARE must be between 0 and 1")
    return key, value, share


def task_body(task):
    return json.dumps(task, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# ---------------------------------------------------------------------------
# uploading

def s3_client(endpoint, region, key_id, secret, pool=32):
    import boto3
    from botocore.config import Config
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name=region,
        aws_access_key_id=key_id, aws_secret_access_key=secret,
        config=Config(s3={"addressing_style": "path"}, max_pool_connections=pool,
                      retries={"max_attempts": 5, "mode": "standard"}),
    )


# The object that says the bucket's tag index is complete (README.md, "The
# tag index"): scans with tag_index 'auto' use the index only while it exists.
INDEX_MARKER_KEY = "tags/_complete"
INDEX_MARKER_BODY = b'{"tag_index":"complete"}'


def objects_for(tasks, index=False, ready=False):
    """(key, body) for everything to write, tasks first.  With index, every
    task's entries and the marker that says the index is complete."""
    objs = [(task_key(t), task_body(t)) for t in tasks]
    if index:
        objs += [(k, b"") for t in tasks for k in index_keys(t)]
        objs.append((INDEX_MARKER_KEY, INDEX_MARKER_BODY))
    if ready:
        objs += [(ready_key(t), b"") for t in tasks if t["status"] == "pending"]
    return objs


def upload(s3, bucket, objects, threads=32):
    """PUT every (key, body) with a pool of threads (boto3 clients are thread-safe)."""
    lock = threading.Lock()
    errors = []

    def put(kb):
        try:
            s3.put_object(Bucket=bucket, Key=kb[0], Body=kb[1],
                          ContentType="application/json" if kb[1] else "application/octet-stream")
        except Exception as e:  # collected and reported after the pool drains
            with lock:
                errors.append("%s: %s" % (kb[0], e))

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(put, objects))
    if errors:
        raise RuntimeError("%d of %d PUTs failed, first: %s" % (len(errors), len(objects), errors[0]))


def write_local(outdir, objects):
    for key, body in objects:
        path = os.path.join(outdir, key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(body)


def summary(tasks):
    status = collections.Counter(t["status"] for t in tasks)
    customers = collections.Counter(t["tags"].get("customer") for t in tasks if t["tags"].get("customer"))
    return "status: %s; top customers: %s" % (
        ", ".join("%s %d" % kv for kv in status.most_common()),
        ", ".join("%s %d" % kv for kv in customers.most_common(5)),
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("-n", "--count", type=int, default=1000, help="number of tasks (default 1000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--base-time", default=DEFAULT_BASE_TIME,
                    help="tasks are created in the 7 days before this (default %s)" % DEFAULT_BASE_TIME)
    ap.add_argument("--shard-prefix-len", type=int, default=1, choices=[1, 2, 3, 4])
    ap.add_argument("--extra-tag", action="append", default=[], metavar="KEY=VALUE:SHARE",
                    help="also tag exactly round(SHARE*N) tasks with KEY=VALUE (e.g. campaign=spring-sale:0.01); "
                         "the other tasks and fields stay as without it; repeatable")
    ap.add_argument("--index", action="store_true", help="also write tag index entries tags/{key}/{segment}/{id} and the marker tags/_complete")
    ap.add_argument("--ready", action="store_true", help="also write ready/ entries of pending tasks")
    ap.add_argument("--bucket", help="target bucket (required unless --out)")
    ap.add_argument("--create-bucket", action="store_true", help="create the bucket if it does not exist")
    ap.add_argument("--versioned", action="store_true", help="with --create-bucket: turn versioning on")
    ap.add_argument("--out", help="write the objects under this local directory instead of uploading")
    ap.add_argument("--endpoint", default=os.environ.get("OQ_TEST_ENDPOINT"))
    ap.add_argument("--region", default=os.environ.get("OQ_TEST_REGION", "us-east-1"))
    ap.add_argument("--threads", type=int, default=32)
    args = ap.parse_args()

    tasks = generate_tasks(args.count, args.seed, args.base_time, args.shard_prefix_len)
    for spec in args.extra_tag:
        try:
            key, value, share = parse_extra_tag(spec)
        except ValueError as e:
            ap.error("--extra-tag %s: %s" % (spec, e))
        add_extra_tag(tasks, key, value, share, args.seed)
    objects = objects_for(tasks, index=args.index, ready=args.ready)
    n_index = sum(len(index_keys(t)) for t in tasks) if args.index else 0
    n_ready = len(objects) - len(tasks) - n_index - (1 if args.index else 0)
    start = time.monotonic()
    if args.out:
        write_local(args.out, objects)
        where = args.out
    else:
        if not args.bucket or not args.endpoint:
            ap.error("--bucket and --endpoint (or OQ_TEST_ENDPOINT) are required unless --out")
        key_id = os.environ.get("OQ_TEST_ACCESS_KEY_ID")
        secret = os.environ.get("OQ_TEST_SECRET_ACCESS_KEY")
        if not key_id or not secret:
            ap.error("OQ_TEST_ACCESS_KEY_ID and OQ_TEST_SECRET_ACCESS_KEY must be set")
        s3 = s3_client(args.endpoint, args.region, key_id, secret, pool=args.threads)
        if args.create_bucket:
            from botocore.exceptions import ClientError
            try:
                s3.create_bucket(Bucket=args.bucket)
            except ClientError as e:
                if e.response.get("Error", {}).get("Code") not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise
            if args.versioned:
                s3.put_bucket_versioning(Bucket=args.bucket,
                                         VersioningConfiguration={"Status": "Enabled"})
        try:
            upload(s3, args.bucket, objects, threads=args.threads)
        except RuntimeError as e:
            sys.exit("gen_tasks: %s" % e)
        where = "s3://%s" % args.bucket
    elapsed = time.monotonic() - start
    print("gen_tasks: %d tasks, %d tag index entries, %d ready entries -> %s in %.1f s (%.0f objects/s)"
          % (len(tasks), n_index, n_ready, where, elapsed, len(objects) / elapsed if elapsed > 0 else 0))
    print("gen_tasks: %s" % summary(tasks))


if __name__ == "__main__":
    main()
