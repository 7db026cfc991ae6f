#!/usr/bin/env python3
"""test_tag_index_rebuild.py - oq_rebuild_tag_index on a bucket of realistic size.

test/gen_tasks.py writes 400 tasks as a producer that keeps only part of
the tag index would, plus stale entries (tasks that do not exist, values a
task does not have).  The rebuild must leave exactly the entries
gen_tasks.py's own, independent implementation of the index encoding says
-- more than one listing page of them, so the merge of the sorted expected
entries with the paged listing crosses page boundaries -- and a second
rebuild must find nothing to do.
"""
import os
import random
import subprocess
import sys
import time
import uuid

import gen_tasks

BUCKET = "oq-w-rebuild-scale"
SERVER = "scale"


def psql(sql):
    p = subprocess.run(
        ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-f", "-"],
        input=sql, capture_output=True, text=True,
    )
    if p.returncode != 0:
        raise AssertionError("psql failed: %s" % p.stderr.strip())
    if p.stderr.strip():
        print(p.stderr.strip())
    return p.stdout.strip()


def listed(s3):
    keys = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="tags/"):
        keys.update(o["Key"] for o in page.get("Contents", []))
    return keys


def rebuild():
    out = psql(
        "SET oq_fdw.tag_index_rebuild_grace = 0;"
        "SELECT entries_added || ' ' || entries_removed FROM oq_rebuild_tag_index('%s');" % SERVER
    )
    added, removed = out.split()
    return int(added), int(removed)


def main():
    env = os.environ
    s3 = gen_tasks.s3_client(env["OQ_TEST_ENDPOINT"], env["OQ_TEST_REGION"],
                             env["OQ_TEST_ACCESS_KEY_ID"], env["OQ_TEST_SECRET_ACCESS_KEY"])
    tasks = gen_tasks.generate_tasks(400, seed=7)
    expected = {k for t in tasks for k in gen_tasks.index_keys(t)}

    # not the generator's seed: its ids come from the same random stream
    rng = random.Random(1234)
    kept = set(rng.sample(sorted(expected), len(expected) * 3 // 4))
    stale = {"tags/customer/acme-corp/%s" % uuid.UUID(int=rng.getrandbits(128), version=4)
             for _ in range(30)}
    stale |= {"tags/region/nowhere/%s" % t["id"] for t in rng.sample(tasks, 20)}
    objects = [(gen_tasks.task_key(t), gen_tasks.task_body(t)) for t in tasks]
    objects += [(k, b"") for k in sorted(kept | stale)]
    assert not stale & expected
    gen_tasks.upload(s3, BUCKET, objects)
    assert listed(s3) == kept | stale
    assert len(kept | stale) > 1000, "the listing must take more than one page"

    psql("""
\\getenv endpoint OQ_TEST_ENDPOINT
\\getenv region OQ_TEST_REGION
\\getenv access_key_id OQ_TEST_ACCESS_KEY_ID
\\getenv secret OQ_TEST_SECRET_ACCESS_KEY
CREATE SERVER %(s)s FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket '%(b)s', endpoint :'endpoint', region :'region');
CREATE USER MAPPING FOR CURRENT_USER SERVER %(s)s
  OPTIONS (access_key_id :'access_key_id', secret_access_key :'secret');
""" % {"s": SERVER, "b": BUCKET})

    start = time.monotonic()
    added, removed = rebuild()
    elapsed = time.monotonic() - start
    print("rebuild of %d tasks, %d entries expected: added %d, removed %d in %.1f s"
          % (len(tasks), len(expected), added, removed, elapsed))
    now = listed(s3)
    assert (added, removed) == (len(expected - kept), len(stale)), (added, removed)
    # the entries, and the marker that says the index is complete
    assert now == expected | {gen_tasks.INDEX_MARKER_KEY}, \
        "missing %d, extra %d" % (len(expected - now), len(now - expected))
    assert rebuild() == (0, 0)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
