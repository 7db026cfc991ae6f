#!/usr/bin/env python3
"""test_load.py - many sessions changing the tags of the same tasks while a
worker claims them.

Eight database sessions (threads, each one psql and so one backend) change
the tags of the same 20 tasks at once with oq_update_tags, oq_remove_tags,
UPDATE ... SET tags of one task (WHERE id = ..., with and without
"AND status = 'pending'") and UPDATE of all of them (with RETURNING, and
pipelined without), while a simulated worker claims the tasks the way the
queue's workers do: GET, then PUT with If-Match on the ETag it read
(status running, its worker id, a lease), again on 412; a 5xx is an
answer of unknown outcome (Ceph RGW answers some losers of a race 500
having written nothing): it reads back and claimed the task only if what is
stored is what it sent.  It sends the ETag unquoted in If-Match, as AWS
documents (RGW refuses the quoted form with 412; moto takes both).

Every session owns one tag key (s0 .. s7) and writes values no other write
uses, so the outcome is checkable: afterwards the value of key sI on a task
is the one the session's last successful change of that task left (or, for
writes whose effect on that task the session cannot know -- a bulk UPDATE
without RETURNING, or one that failed half-way -- one of the values it may
have left).  The test checks that

  - no successful change is lost: every task holds, for every session, the
    value of its last successful change (no session's write overwrote
    another's key, no worker claim dropped a tag);
  - every successful change returned tags that include it;
  - every failure is 40001 (the driver retries it up to 3 times) or 55000
    (the task was claimed): nothing else;
  - the worker's claims stand: every claimed task is still running with the
    worker's lease, none went back to pending, and no unclaimed task is
    running;
  - every task object is complete and every tag has its index entry.
"""
import hashlib
import json
import os
import random
import threading
import time
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from oqtest import Checks, Session, bucket_state, create_server, psql, s3

BUCKET = "oq-load"
NTASKS = 20
NSESSIONS = 8
OPS = 25                 # per session
RETRIES_40001 = 3
NCLAIMS = 10

c = Checks()
client = s3()
# the worker decides itself after a 5xx: botocore must not resend its PUT
# (a resent PUT whose first copy was stored gets 412 and looks lost)
worker_client = boto3.client(
    "s3", endpoint_url=os.environ["OQ_TEST_ENDPOINT"],
    region_name=os.environ.get("OQ_TEST_REGION", "us-east-1"),
    aws_access_key_id=os.environ["OQ_TEST_ACCESS_KEY_ID"],
    aws_secret_access_key=os.environ["OQ_TEST_SECRET_ACCESS_KEY"],
    config=Config(s3={"addressing_style": "path"},
                  retries={"total_max_attempts": 1, "mode": "standard"}))
create_server("load", BUCKET, schema="ld")
GRP = "load-%s" % uuid.uuid4().hex[:8]      # these tasks, whatever the bucket holds
ids = [r[0] for r in psql("SELECT oq_submit('load', 'load', tags => '{\"grp\": \"%s\"}') "
                          "FROM generate_series(1, %d)" % (GRP, NTASKS))]
key_of = {t: "tasks/%s/%s.json" % (t[0], t) for t in ids}

lock = threading.Lock()
done_ops = [0]
errors = []              # (session, op, sqlstate, message) of unexpected errors
outcomes = {"ok": 0, "40001": 0, "55000": 0, "40001 retried": 0, "skipped": 0}
bad_returns = []
claims = {}              # task id -> the claim the worker wrote
stop = threading.Event()


def count(what, n=1):
    with lock:
        outcomes[what] += n


def session_thread(i):
    """One session: OPS random changes of key s<i>; returns the expected
    final values {task: set of possible values (None: absent)}."""
    rng = random.Random(1000 + i)
    key = "s%d" % i
    expect = {t: {None} for t in ids}
    sess = Session()
    seq = 0
    for _ in range(OPS):
        seq += 1
        val = "v%d-%d" % (i, seq)
        t = rng.choice(ids)
        kind = rng.choices(["update", "remove", "set", "set_pending", "bulk_returning", "bulk"],
                           [40, 20, 15, 15, 5, 5])[0]
        change = json.dumps({key: val})
        if kind == "update":
            sql = "SELECT '%s', oq_update_tags('load', '%s', '%s')" % (t, t, change)
        elif kind == "remove":
            sql = "SELECT '%s', oq_remove_tags('load', '%s', ARRAY['%s'])" % (t, t, key)
        elif kind == "set":
            sql = "UPDATE ld.tasks SET tags = tags || '%s' WHERE id = '%s' RETURNING id, tags" % (change, t)
        elif kind == "set_pending":
            sql = ("UPDATE ld.tasks SET tags = tags || '%s' WHERE id = '%s' AND status = 'pending' "
                   "RETURNING id, tags" % (change, t))
        elif kind == "bulk_returning":
            sql = ("UPDATE ld.tasks SET tags = tags || '%s' WHERE tags->>'grp' = '%s' "
                   "AND status = 'pending' RETURNING id, tags" % (change, GRP))
        else:
            sql = ("UPDATE ld.tasks SET tags = tags || '%s' WHERE tags->>'grp' = '%s' "
                   "AND status = 'pending'" % (change, GRP))
        single = kind in ("update", "remove", "set", "set_pending")
        want = None if kind == "remove" else val

        for attempt in range(RETRIES_40001 + 1):
            rows, err, _ = sess.run(sql)
            if err is None or err.sqlstate != "40001":
                break
            if attempt < RETRIES_40001:
                count("40001 retried")
        if err is None:
            count("ok")
            for row in rows:
                if len(row) == 2 and row[0] in expect:
                    tags = json.loads(row[1])
                    if tags.get(key) != want:
                        bad_returns.append((i, kind, row[0], tags))
            if single:
                if rows:
                    expect[t] = {want}
                else:
                    count("skipped")     # AND status = 'pending' no longer held
            elif kind == "bulk_returning":
                for row in rows:
                    expect[row[0]] = {val}
            else:
                # which tasks it changed is not reported: any of them may have
                # it, or (if claimed in time) the value before
                for tt in ids:
                    expect[tt] = expect[tt] | {val}
        elif err.sqlstate in ("40001", "55000"):
            count(err.sqlstate)
            if not single:
                # a statement that failed half-way may have changed some rows
                for tt in ids:
                    expect[tt] = expect[tt] | {val}
        else:
            with lock:
                errors.append((i, kind, err.sqlstate, err.message))
            for tt in ids:
                expect[tt] = expect[tt] | {want}
        with lock:
            done_ops[0] += 1
    stats = {r[0]: int(r[1]) for r in sess.rows("SELECT name, value FROM oq_stats()")}
    sess.close()
    return expect, stats


def worker():
    """Claims NCLAIMS tasks spread over the run, as the queue's workers do."""
    rng = random.Random(7)
    order = rng.sample(ids, NCLAIMS)
    total = NSESSIONS * OPS
    for n, t in enumerate(order):
        while done_ops[0] < (n + 1) * total / (NCLAIMS + 2) and not stop.is_set():
            time.sleep(0.01)
        for _ in range(50):
            got = client.get_object(Bucket=BUCKET, Key=key_of[t])
            etag = got["ETag"].strip('"')
            task = json.loads(got["Body"].read())
            if task["status"] != "pending":
                break
            claim = {"status": "running", "worker_id": "worker-1", "attempt": task["attempt"] + 1,
                     "lease_id": str(uuid.uuid4()), "lease_expires_at": "2030-01-01T00:00:00Z"}
            task.update(claim)
            body = json.dumps(task).encode()
            try:
                worker_client.put_object(Bucket=BUCKET, Key=key_of[t], IfMatch=etag,
                                  Body=body, ContentType="application/json")
            except ClientError as e:
                status = e.response["ResponseMetadata"]["HTTPStatusCode"]
                if status >= 500:
                    with lock:
                        claims["_unknown_outcomes"] = claims.get("_unknown_outcomes", 0) + 1
                    stored = client.head_object(Bucket=BUCKET, Key=key_of[t])["ETag"].strip('"')
                    if stored != hashlib.md5(body).hexdigest():
                        continue
                elif status in (409, 412):
                    with lock:
                        claims.setdefault("_lost_races", 0)
                        claims["_lost_races"] += 1
                    continue
                else:
                    raise
            with lock:
                claims[t] = claim
            break


results = [None] * NSESSIONS


def run_session(i):
    try:
        results[i] = session_thread(i)
    except Exception as e:          # reported below
        results[i] = e


t0 = time.monotonic()
threads = [threading.Thread(target=run_session, args=(i,)) for i in range(NSESSIONS)]
wt = threading.Thread(target=worker)
for th in threads + [wt]:
    th.start()
for th in threads:
    th.join()
stop.set()
wt.join()
elapsed = time.monotonic() - t0
lost_races = claims.pop("_lost_races", 0)
unknown = claims.pop("_unknown_outcomes", 0)
print("%d sessions x %d changes in %.1f s: %s; worker: %d claims, %d lost races, "
      "%d answers of unknown outcome" % (NSESSIONS, OPS, elapsed, outcomes, len(claims),
                                         lost_races, unknown))

crashed = [r for r in results if isinstance(r, Exception)]
c.check(not crashed, "every session ran to the end (%s)" % crashed[:1])
c.check(not errors, "every failure was 40001 or 55000 (others: %s)" % errors[:3])
c.check(not bad_returns, "every successful change returned tags that include it (%s)" % bad_returns[:3])
c.check(len(claims) == NCLAIMS, "the worker claimed %d tasks" % len(claims))

tasks, problems = bucket_state(client, BUCKET, keys=[key_of[t] for t in ids])
c.check(len(tasks) == NTASKS and not problems,
        "%d task objects, all complete, every tag indexed (%s)" % (len(tasks), problems[:3]))

lost = []
for i, r in enumerate(results):
    if isinstance(r, Exception):
        continue
    expect, _ = r
    for t in ids:
        have = tasks.get(t, {}).get("tags", {}).get("s%d" % i)
        if have not in expect[t]:
            lost.append((t, "s%d" % i, have, sorted(map(str, expect[t]))))
c.check(not lost, "no change lost: every task holds every session's last change (wrong: %s)" % lost[:3])

reverted = [t for t, claim in claims.items()
            if any(tasks.get(t, {}).get(f) != v for f, v in claim.items())]
c.check(not reverted, "every claim stands: running, the worker's lease (changed: %s)" % reverted[:3])
stray = [t for t in ids if t not in claims and tasks.get(t, {}).get("status") != "pending"]
c.check(not stray, "unclaimed tasks are still pending (%s)" % stray[:3])
c.check(all(tasks[t]["tags"].get("grp") == GRP for t in tasks), "no write lost the tag it did not touch")

races = sum(r[1].get("precondition_failed", 0) for r in results if not isinstance(r, Exception))
print("conditional writes that lost a race (412), all sessions: %d" % races)
c.check(races > 0, "the sessions did race each other (%d lost conditional writes)" % races)
c.done()
