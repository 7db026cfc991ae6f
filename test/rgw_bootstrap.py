#!/usr/bin/env python3
"""rgw_bootstrap.py - the test buckets in a fresh Ceph RGW (test/rgw.sh).

Usage: rgw_bootstrap.py --endpoint URL --buckets FILE --user-json FILE
                        --credentials-out FILE [--region us-east-1]

--user-json is what "radosgw-admin user create" printed: the user's first
S3 key pair is written to --credentials-out as shell assignments
(OQ_RGW_ACCESS_KEY_ID=..., OQ_RGW_SECRET_ACCESS_KEY=...), mode 0600, and
never printed.  Then the buckets of --buckets (test/buckets) are created
and a wrong secret is checked to be rejected.

Buckets marked "versioned" get versioning here only if they are in
VERSIONED_ON_RGW: RGW 16.2 does not honour conditional writes
(If-None-Match, If-Match) in a bucket with versioning enabled (If-None-Match
overwrites, If-Match always fails), and every oq write is conditional.  The
suites that need both run against moto only (history), or count the
stored writes from test/s3proxy.py's log on RGW (test_write_races).
"""
import argparse
import json
import os
import shlex
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from s3_bootstrap import check_verification, parse_buckets, s3_client  # noqa: E402

# sql/s3_objects.sql lists the versions of unconditional oq_put_object()s
VERSIONED_ON_RGW = {"oq-regress-versioned"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--buckets", required=True)
    ap.add_argument("--user-json", required=True)
    ap.add_argument("--credentials-out", required=True)
    args = ap.parse_args()

    buckets = parse_buckets(args.buckets)
    with open(args.user_json, encoding="utf-8") as f:
        keys = json.load(f).get("keys") or []
    if not keys:
        sys.exit("rgw_bootstrap: radosgw-admin made no S3 key for the user")
    key_id, secret = keys[0]["access_key"], keys[0]["secret_key"]
    fd = os.open(args.credentials_out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("OQ_RGW_ACCESS_KEY_ID=%s\n" % shlex.quote(key_id))
        f.write("OQ_RGW_SECRET_ACCESS_KEY=%s\n" % shlex.quote(secret))

    s3 = s3_client(args.endpoint, args.region, key_id, secret)
    versioned = []
    for name, want_versions in buckets:
        s3.create_bucket(Bucket=name)
        if want_versions and name in VERSIONED_ON_RGW:
            s3.put_bucket_versioning(
                Bucket=name, VersioningConfiguration={"Status": "Enabled"}
            )
            versioned.append(name)
    check_verification(args.endpoint, args.region, key_id)
    print("rgw: user oq-test, %d buckets (versioned: %s), signatures verified"
          % (len(buckets), " ".join(versioned) or "none"))


if __name__ == "__main__":
    main()
