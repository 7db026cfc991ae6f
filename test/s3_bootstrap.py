#!/usr/bin/env python3
"""s3_bootstrap.py - give a fresh moto server an IAM identity and the test buckets.

Usage: s3_bootstrap.py --endpoint URL --buckets FILE --credentials-out FILE
                       [--region us-east-1] [--expect-verify]

The signature-verifying moto (INITIAL_NO_AUTH_ACTION_COUNT=3) accepts exactly
three unauthenticated requests and checks SigV4 on everything after them, so
those three must be the ones that create an identity: create a user, create
its access key, attach an allow-all policy.  Every later request (the
buckets here, everything the suites do) is signed with that key.

The key pair is written to --credentials-out as shell assignments
(OQ_TEST_ACCESS_KEY_ID=..., OQ_TEST_SECRET_ACCESS_KEY=...), created mode 0600,
for the harness to source.  The secret is never printed.

--buckets: one bucket name per line; an optional second word `versioned`
enables versioning; blank lines and `#` comments are ignored.

--expect-verify: check that the server really rejects a wrong secret, so a
run that claims OQ_TEST_SIGV4_VERIFY=1 is not silently unauthenticated.
"""
import argparse
import json
import os
import shlex
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

USER = "oq-test"
ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


def parse_buckets(path):
    buckets = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            if len(words) > 2 or (len(words) == 2 and words[1] != "versioned"):
                sys.exit("%s:%d: expected 'NAME [versioned]'" % (path, lineno))
            buckets.append((words[0], len(words) == 2))
    return buckets


def create_identity(endpoint, region):
    """The three unauthenticated requests: nothing else may come first."""
    iam = boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name=region,
        # moto accepts anything for these first requests
        aws_access_key_id="bootstrap",
        aws_secret_access_key="bootstrap",
    )
    iam.create_user(UserName=USER)
    key = iam.create_access_key(UserName=USER)["AccessKey"]
    iam.put_user_policy(
        UserName=USER, PolicyName="allow-all", PolicyDocument=json.dumps(ALLOW_ALL)
    )
    return key["AccessKeyId"], key["SecretAccessKey"]


def write_credentials(path, key_id, secret):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("OQ_TEST_ACCESS_KEY_ID=%s\n" % shlex.quote(key_id))
        f.write("OQ_TEST_SECRET_ACCESS_KEY=%s\n" % shlex.quote(secret))


def s3_client(endpoint, region, key_id, secret):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
    )


def check_verification(endpoint, region, key_id):
    bad = s3_client(endpoint, region, key_id, "not-the-secret")
    try:
        bad.list_buckets()
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "")
        if code in ("SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied"):
            return
        sys.exit("s3_bootstrap: wrong secret got %r, expected SignatureDoesNotMatch" % code)
    sys.exit("s3_bootstrap: the server accepted a wrong secret: SigV4 is not verified")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--buckets", required=True)
    ap.add_argument("--credentials-out", required=True)
    ap.add_argument("--expect-verify", action="store_true")
    args = ap.parse_args()

    buckets = parse_buckets(args.buckets)
    key_id, secret = create_identity(args.endpoint, args.region)
    write_credentials(args.credentials_out, key_id, secret)

    s3 = s3_client(args.endpoint, args.region, key_id, secret)
    for name, versioned in buckets:
        s3.create_bucket(Bucket=name)
        if versioned:
            s3.put_bucket_versioning(
                Bucket=name, VersioningConfiguration={"Status": "Enabled"}
            )
    if args.expect_verify:
        check_verification(args.endpoint, args.region, key_id)
    print(
        "s3: identity %s, buckets: %s%s"
        % (
            USER,
            " ".join(n + (" (versioned)" if v else "") for n, v in buckets),
            ", signatures verified" if args.expect_verify else "",
        )
    )


if __name__ == "__main__":
    main()
