"""credtest.py - helpers for the credential tests (test/py/test_credentials_*.py).

They restart the test cluster with an AWS environment ($OQ_PG_RESTART, see
test/README.md), run psql sessions whose DEBUG messages say which
credential source was used, make IAM roles in moto and temporary
credentials from moto's STS, and check that no secret reached the server
log.  Nothing here prints a secret: checks print what they looked for, not
the values.
"""
import json
import os
import re
import subprocess
import sys
import urllib.request

import boto3
from botocore.config import Config

from oqtest import SKIP, Checks  # noqa: F401

ENDPOINT = os.environ["OQ_TEST_ENDPOINT"]
REGION = os.environ.get("OQ_TEST_REGION", "us-east-1")
KEY_ID = os.environ["OQ_TEST_ACCESS_KEY_ID"]
SECRET = os.environ["OQ_TEST_SECRET_ACCESS_KEY"]
ACCOUNT = "123456789012"        # moto's default account
BUCKET = "oq-regress"


def require_harness():
    """Exit 77 (which test/run counts as a failure) unless the harness can
    restart the server and the S3 server verifies SigV4."""
    if not os.environ.get("OQ_PG_RESTART"):
        print("needs test/run (OQ_PG_RESTART: restarting the server with an AWS environment)")
        sys.exit(SKIP)
    if os.environ.get("OQ_TEST_SIGV4_VERIFY") != "1":
        print("needs an S3 server that verifies signatures (test/moto_sigv4.py)")
        sys.exit(SKIP)


def restart(**env):
    """Restart the cluster with these environment variables (none: plain).

    The values travel in pg-restart's environment, never on a command line.
    """
    full = dict(os.environ)
    full.update({k: str(v) for k, v in env.items()})
    subprocess.run([os.environ["OQ_PG_RESTART"]] + sorted(env), env=full, check=True,
                   timeout=700)


class Session:
    """The outcome of one psql session: its output, errors and DEBUG lines."""

    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr
        self.rows = [line for line in proc.stdout.splitlines() if line != ""]
        # VERBOSITY verbose: "ERROR:  HV00N: message"
        self.errors = []
        for line in proc.stderr.splitlines():
            m = re.match(r"^(?:psql:[^ ]* )?ERROR:  ([0-9A-Z]{5}): (.*)$", line)
            if m:
                self.errors.append((m.group(1), m.group(2)))
        # "DEBUG:  00000: message": oq_fdw's say where credentials came from
        self.debug = []
        for line in proc.stderr.splitlines():
            m = re.match(r"^(?:psql:[^ ]* )?DEBUG:  (?:[0-9A-Z]{5}: )?(.*)$", line)
            if m:
                self.debug.append(m.group(1))

    def text(self):
        return self.out + self.err


def session(sql, user=None, debug=True, timeout=300):
    """Run SQL in one psql session (so one backend and its caches).

    Errors do not stop the script; they are collected with their SQLSTATE.
    With debug, the session shows oq_fdw's DEBUG1 messages (which source,
    when credentials expire) and also logs them, so that the log check sees
    everything oq_fdw says.
    """
    env = dict(os.environ)
    if user:
        env["PGUSER"] = user
    pre = ""
    if debug:
        pre = "SET client_min_messages = debug1;\n"
        if not user:
            pre += "SET log_min_messages = debug1;\n"
    proc = subprocess.run(
        ["psql", "-X", "-q", "-At", "-v", "VERBOSITY=verbose", "-f", "-"],
        input=pre + sql, capture_output=True, text=True, env=env, timeout=timeout)
    return Session(proc)


def psql_ok(sql, user=None):
    """Run SQL that must succeed (setup); returns the rows."""
    s = session(sql, user=user, debug=False)
    if s.rc != 0 or s.errors:
        raise RuntimeError("setup SQL failed: %s" % (s.errors or s.err.strip()))
    return s.rows


def create_server(name, options="", mapping="use_server_environment 'true'", user=None):
    """A server on the test moto's bucket, and a mapping (None: no mapping)."""
    sql = ("\\getenv endpoint OQ_TEST_ENDPOINT\n"
           "CREATE SERVER %s FOREIGN DATA WRAPPER oq_fdw OPTIONS "
           "(bucket '%s', endpoint :'endpoint', region '%s'%s);\n"
           % (name, BUCKET, REGION, (", " + options) if options else ""))
    if mapping is not None:
        sql += ("CREATE USER MAPPING FOR %s SERVER %s OPTIONS (%s);\n"
                % (user or "CURRENT_USER", name, mapping))
    psql_ok(sql)


def list_sql(server):
    """One S3 request (a ListObjectsV2) through the server."""
    return "SELECT 'listed', count(*) FROM oq_list_objects('%s', 'credtest/');\n" % server


def listed(s):
    """How many list_sql statements of a session succeeded."""
    return sum(1 for r in s.rows if r.startswith("listed|"))


def stats_sql():
    return "SELECT 'stat', name, value FROM oq_stats() WHERE name = 'requests_credentials';\n"


def credential_requests(s):
    for r in s.rows:
        if r.startswith("stat|requests_credentials|"):
            return int(r.rsplit("|", 1)[1])
    return None


# -- moto --

def client(service, key_id=KEY_ID, secret=SECRET, token=None):
    return boto3.client(service, endpoint_url=ENDPOINT, region_name=REGION,
                        aws_access_key_id=key_id, aws_secret_access_key=secret,
                        aws_session_token=token,
                        config=Config(s3={"addressing_style": "path"},
                                      retries={"max_attempts": 2}))


ALLOW_ALL = {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def ensure_role(name, external_id=None):
    """An IAM role in moto that may do anything; returns its ARN.

    moto checks a role's trust policy on AssumeRole (its sts:ExternalId
    condition included) and its permission policies on every request signed
    with the role's temporary credentials.
    """
    statement = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
    if external_id:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    iam = client("iam")
    try:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [statement]}))
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    iam.put_role_policy(RoleName=name, PolicyName="allow-all",
                        PolicyDocument=json.dumps(ALLOW_ALL))
    return "arn:aws:iam::%s:role/%s" % (ACCOUNT, name)


def temporary_credentials(role_arn, session_name="oq-standin"):
    """Fresh temporary credentials of a role from moto's STS (verify in S3)."""
    return client("sts").assume_role(RoleArn=role_arn, RoleSessionName=session_name,
                                     DurationSeconds=3600)["Credentials"]


def allow_unsigned_requests(n=1):
    """Let moto take the next n requests unauthenticated.

    The verifying moto refuses every unsigned request, but STS
    AssumeRoleWithWebIdentity is unsigned by design (the web identity token
    is the credential): /moto-api/reset-auth lets exactly n requests through
    without checks, and verification resumes after them.
    """
    req = urllib.request.Request(ENDPOINT + "/moto-api/reset-auth", data=str(n).encode(),
                                 headers={"Content-Type": "text/plain"}, method="POST")
    with urllib.request.urlopen(req, timeout=10) as f:
        f.read()


# -- secrets --

def log_text():
    with open(os.environ["OQ_PG_LOG"], encoding="utf-8", errors="replace") as f:
        return f.read()


def leaked(texts, secrets):
    """The descriptions of the secrets found in any of texts."""
    found = []
    for what, value in secrets.items():
        if value and len(value) >= 8 and any(value in t for t in texts):
            found.append(what)
    return found
