#!/usr/bin/env python3
"""test_secrets.py - no secret leaves oq_fdw, and no user input leaves its
key prefix.

Secrets.  Sessions logging at DEBUG5 (log_min_messages and
client_min_messages) run, through test/s3proxy.py (which records the
Authorization and x-amz-security-token headers oq_fdw sent): scans on
every access path, EXPLAIN (ANALYZE, VERBOSE) of scans, INSERT and UPDATE,
every write function, S3 errors (a refused signature, 500 with a message,
a bucket that does not exist), network errors (nothing listening, a reset,
a timeout) and invalid task objects -- with static keys and with
temporary credentials (a session token from moto's STS).  Afterwards the
secret keys, the session token and every request signature appear in
none of the sessions' output and not in the server log, and neither does
"Signature=" or an Authorization header.  A non-superuser sees no other
user's keys in pg_user_mappings, cannot read pg_user_mapping, cannot use
another user's mapping, and cannot execute the raw writing functions.
(test_credentials_env.py covers the server's own AWS identity, which a
non-superuser can never use; sql/options.sql the option rules: keys only
in user mappings, hidden from other roles.)

Keys.  Whatever a user writes into a tag stays inside its entry's
prefix tags/{key}/: values like "../../tasks/x", "..", "%2F", "a/b" and
a key that only another producer could have written ("../../tasks/0/x",
removable but never indexed) lead only to keys of the forms
tasks/{shard}/{uuid}.json, tags/{valid key}/{segment without "/"}/{uuid}
and ready/{shard}/{minute}/{uuid} -- checked on every key the proxy saw
written or deleted, and on the bucket's listing; ids are uuids (the SQL
type refuses anything else).
"""
import json
import os
import re
import uuid

from faulttest import CrashWatch, start_proxy
from oqtest import Checks, Session, list_keys, psql, s3

BUCKET = "oq-secrets"
SECRET = os.environ["OQ_TEST_SECRET_ACCESS_KEY"]
WRONG_SECRET = "WrongSecret/" + uuid.uuid4().hex + "+oq"
OTHER_SECRET = "SecretOfRoleA/" + uuid.uuid4().hex
VERIFYING = os.environ.get("OQ_TEST_SIGV4_VERIFY") == "1"

c = Checks()
client = s3()
proxy = start_proxy(capture_headers=("authorization", "x-amz-security-token"))
watch = CrashWatch()
log_path = os.environ.get("OQ_PG_LOG")
log_offset = os.path.getsize(log_path) if log_path and os.path.exists(log_path) else 0

# temporary credentials with a session token, from moto's STS
# (every part of this test runs: a missing one fails it)
c.check(VERIFYING, "the S3 server verifies signatures (OQ_TEST_SIGV4_VERIFY=1)")
sts_creds = None
try:
    import credtest
    sts_creds = credtest.temporary_credentials(credtest.ensure_role("oq-secrets-role"), "oq-secrets")
except Exception as e:          # noqa: BLE001 -- a failed check, below
    print("could not get temporary credentials from moto's STS: %s" % e)
c.check(sts_creds is not None, "temporary credentials from moto's STS, to test session tokens with")


def setup_sql(env):
    """Servers and mappings, with the values in psql variables from the
    environment (never on a command line, never in a failing statement)."""
    p = {"b": BUCKET, "e": proxy.endpoint}
    sql = """
\\getenv region OQ_TEST_REGION
\\getenv key OQ_TEST_ACCESS_KEY_ID
\\getenv secret OQ_TEST_SECRET_ACCESS_KEY
\\getenv wrong SECRETS_WRONG
\\getenv other SECRETS_OTHER
CREATE SERVER sec FOREIGN DATA WRAPPER oq_fdw OPTIONS (bucket '%(b)s', endpoint '%(e)s', region :'region',
  max_retries '1', request_timeout_ms '600');
CREATE USER MAPPING FOR CURRENT_USER SERVER sec OPTIONS (access_key_id :'key', secret_access_key :'secret');
CREATE SCHEMA sec;
IMPORT FOREIGN SCHEMA oq FROM SERVER sec INTO sec;
CREATE SERVER sec_wrong FOREIGN DATA WRAPPER oq_fdw OPTIONS (bucket '%(b)s', endpoint '%(e)s', region :'region');
CREATE USER MAPPING FOR CURRENT_USER SERVER sec_wrong
  OPTIONS (access_key_id :'key', secret_access_key :'wrong');
CREATE SERVER sec_nobucket FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket 'oq-no-such-bucket', endpoint '%(e)s', region :'region');
CREATE USER MAPPING FOR CURRENT_USER SERVER sec_nobucket OPTIONS (access_key_id :'key', secret_access_key :'secret');
CREATE SERVER sec_down FOREIGN DATA WRAPPER oq_fdw
  OPTIONS (bucket '%(b)s', endpoint 'http://127.0.0.1:1', region :'region', max_retries '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER sec_down OPTIONS (access_key_id :'key', secret_access_key :'secret');
DROP ROLE IF EXISTS oq_sec_a;
DROP ROLE IF EXISTS oq_sec_b;
CREATE ROLE oq_sec_a;
CREATE ROLE oq_sec_b;
GRANT USAGE ON FOREIGN SERVER sec TO oq_sec_a, oq_sec_b;
CREATE USER MAPPING FOR oq_sec_a SERVER sec OPTIONS (access_key_id :'key', secret_access_key :'other');
""" % p
    if sts_creds:
        sql += """
\\getenv tkey SECRETS_TMP_KEY
\\getenv tsecret SECRETS_TMP_SECRET
\\getenv token SECRETS_TOKEN
CREATE SERVER sec_tmp FOREIGN DATA WRAPPER oq_fdw OPTIONS (bucket '%(b)s', endpoint '%(e)s', region :'region');
CREATE USER MAPPING FOR CURRENT_USER SERVER sec_tmp
  OPTIONS (access_key_id :'tkey', secret_access_key :'tsecret', session_token :'token');
CREATE SCHEMA sec_tmp;
IMPORT FOREIGN SCHEMA oq FROM SERVER sec_tmp INTO sec_tmp;
""" % p
    return sql


env = {"SECRETS_WRONG": WRONG_SECRET, "SECRETS_OTHER": OTHER_SECRET}
if sts_creds:
    env.update(SECRETS_TMP_KEY=sts_creds["AccessKeyId"], SECRETS_TMP_SECRET=sts_creds["SecretAccessKey"],
               SECRETS_TOKEN=sts_creds["SessionToken"])
os.environ.update(env)
psql(setup_sql(env))

# a few tasks, one of them not a valid task object
session = Session()
texts = []


def run(sql):
    rows, err, errlines = session.run(sql)
    texts.append("\n".join("|".join(r) for r in rows) + "\n" + "\n".join(errlines))
    return rows, err


run("SET log_min_messages = debug5; SET client_min_messages = debug5; SET oq_fdw.cache_size = 0")
rows, err = run("SELECT oq_submit('sec', 'secret', '{\"x\": 1}', tags => '{\"customer\": \"acme\", \"k\": \"v\"}') "
                "FROM generate_series(1, 3)")
c.check(err is None and len(rows) == 3, "three tasks submitted at DEBUG5 (%s)" % err)
tid = rows[0][0] if rows else str(uuid.uuid4())
STATEMENTS = [
    "SELECT count(*) FROM sec.tasks",
    "SELECT count(*) FROM sec.tasks WHERE tags->>'customer' = 'acme'",
    "SELECT id, tags FROM sec.tasks WHERE id = '%s'" % tid,
    "EXPLAIN (ANALYZE, VERBOSE) SELECT * FROM sec.tasks",
    "EXPLAIN (ANALYZE, VERBOSE) SELECT * FROM sec.tasks WHERE tags->>'customer' = 'acme'",
    "EXPLAIN (ANALYZE, VERBOSE) INSERT INTO sec.tasks (task_type, tags) VALUES ('secret', '{\"k\": \"w\"}')",
    "EXPLAIN (ANALYZE, VERBOSE) UPDATE sec.tasks SET tags = tags || '{\"k\": \"u\"}' WHERE id = '%s'" % tid,
    "SELECT oq_update_tags('sec', '%s', '{\"k\": \"z\"}')" % tid,
    "SELECT oq_remove_tags('sec', '%s', ARRAY['k'])" % tid,
    "SELECT * FROM oq_task_history('sec', '%s')" % tid,
    "SELECT count(*) FROM oq_list_objects('sec', 'tags/')",
    # errors: a refused signature, S3 failing with a message, no bucket,
    # nothing listening, a reset, a timeout
    "SELECT count(*) FROM oq_list_objects('sec_wrong', 'tasks/')",
    "SELECT oq_submit('sec_wrong', 'secret')",
    "SELECT count(*) FROM oq_list_objects('sec_nobucket', 'tasks/')",
    "SELECT count(*) FROM oq_list_objects('sec_down', 'tasks/')",
]
for sql in STATEMENTS:
    run(sql)
for r, sql in (({"method": "GET", "times": -1, "forward": False,
                 "respond": {"status": 500, "message": "please retry"}}, "SELECT count(*) FROM sec.tasks"),
               ({"method": "PUT", "times": -1, "forward": False, "reset": True},
                "SELECT oq_update_tags('sec', '%s', '{\"k\": \"r\"}')" % tid),
               ({"method": "GET", "times": -1, "delay": 1.0}, "SELECT count(*) FROM sec.tasks")):
    proxy.arm(r)
    _, err = run(sql)
    proxy.disarm()
    c.check(err is not None and err.sqlstate.startswith("HV"), "an S3 failure: %s" % err)
proxy.wait_idle(30)
_, err = run("SELECT oq_update_tags('sec_wrong', '%s', '{\"k\": \"q\"}')" % tid)
c.check(err is not None and err.sqlstate == "HV00N",
        "a refused signature is an error (%s)" % err)

# an object under tasks/ that is not a valid task
bad = str(uuid.uuid4())
client.put_object(Bucket=BUCKET, Key="tasks/%s/%s.json" % (bad[0], bad), Body=b'{"id": "not-a-task"')
_, err = run("SELECT count(*) FROM sec.tasks")
c.check(err is not None and err.sqlstate == "HV004", "an invalid task object: HV004 (%s)" % err)
client.delete_object(Bucket=BUCKET, Key="tasks/%s/%s.json" % (bad[0], bad))

if sts_creds:
    for sql in ("SELECT count(*) FROM sec_tmp.tasks",
                "EXPLAIN (ANALYZE, VERBOSE) SELECT * FROM sec_tmp.tasks WHERE tags->>'customer' = 'acme'",
                "SELECT oq_update_tags('sec_tmp', '%s', '{\"t\": \"1\"}')" % tid):
        _, err = run(sql)
        c.check(err is None, "with a session token: %s (%s)" % (sql[:40], err))

# ---- other roles
_, err = run("SET ROLE oq_sec_b")
rows, err = run("SELECT usename, umoptions FROM pg_user_mappings WHERE srvname = 'sec' ORDER BY 1")
c.check(err is None and rows and all(r[1] == "" for r in rows) and
        all(OTHER_SECRET not in "|".join(r) for r in rows),
        "a non-superuser sees no other role's options in pg_user_mappings (%s)" % rows)
_, err = run("SELECT umoptions FROM pg_user_mapping")
c.check(err is not None and err.sqlstate == "42501", "nor reads pg_user_mapping (%s)" % err)
seen = proxy.settled_log()
proxy.clear_log()
rows, err = run("SELECT count(*) FROM oq_list_objects('sec', 'tasks/')")
signed = [e for e in proxy.settled_log() if e.get("headers", {}).get("authorization")]
c.check(proxy.settled_log() and not signed and (err is None or err.sqlstate.startswith("HV")),
        "without a mapping of its own, its requests go unsigned, never with another role's keys (%s)" % err)
for fn in ("oq_put_object('sec', 'x', 'x')", "oq_delete_object('sec', 'x')"):
    _, err = run("SELECT " + fn)
    c.check(err is not None and err.sqlstate == "42501", "it may not execute %s (%s)" % (fn.split("(")[0], err))
run("RESET ROLE")
rows = psql("SELECT p.proname, has_function_privilege('oq_sec_b', p.oid, 'EXECUTE') FROM pg_proc p "
            "WHERE p.proname IN ('oq_put_object', 'oq_delete_object') ORDER BY 1")
c.check(rows == [["oq_delete_object", "f"], ["oq_put_object", "f"]],
        "the raw writing functions are not granted to PUBLIC (%s)" % rows)
run("SET ROLE oq_sec_a")
rows, err = run("SELECT umoptions FROM pg_user_mappings WHERE srvname = 'sec' AND usename = 'oq_sec_a'")
c.check(err is None and rows and OTHER_SECRET in rows[0][0], "a role sees its own mapping's options")
texts.pop()                         # (that output holds A's secret by design)
run("RESET ROLE")

# ---- keys from user input stay inside their prefix
seen += proxy.settled_log()
proxy.clear_log()
NASTY = ["../../tasks/x", "..", ".", "a/b", "%2F..%2F", "~x", "tags/../ready", "Café / ..", ""]
tags = {"v%d" % i: v for i, v in enumerate(NASTY)}
rows, err = run("SELECT oq_submit('sec', 'nasty', tags => '%s')" % json.dumps(tags).replace("'", "''"))
c.check(err is None, "a task with path-like tag values is submitted (%s)" % err)
nasty_id = rows[0][0] if rows else str(uuid.uuid4())
rows, err = run("SELECT oq_update_tags('sec', '%s', '{\"v0\": \"../../../x/..\", \"v9\": \"/\"}')" % nasty_id)
c.check(err is None, "and updated with more (%s)" % err)
_, err = run("SELECT oq_update_tags('sec', '%s', '{\"..\": \"x\"}')" % nasty_id)
c.check(err is not None and err.sqlstate == "22023", "a tag key '..' is refused (%s)" % err)
_, err = run("SELECT oq_update_tags('sec', '../../tasks/0/x', '{\"k\": \"x\"}')")
c.check(err is not None and err.sqlstate == "22P02", "a task id that is not a uuid is refused (%s)" % err)
# a key only another producer could write: removable, never indexed
other = str(uuid.uuid4())
obj = json.loads(client.get_object(Bucket=BUCKET, Key="tasks/%s/%s.json" % (nasty_id[0], nasty_id))["Body"].read())
obj.update(id=other, shard=other[0], tags={"../../tasks/0/x": "../y", "ok": "../../z"})
client.put_object(Bucket=BUCKET, Key="tasks/%s/%s.json" % (other[0], other), Body=json.dumps(obj).encode())
_, err = run("SELECT oq_update_tags('sec', '%s', '{\"ok\": \"../w\"}')" % other)
c.check(err is None, "a task with a foreign key ../../tasks/0/x is updated (%s)" % err)
_, err = run("SELECT oq_remove_tags('sec', '%s', ARRAY['../../tasks/0/x', 'ok'])" % other)
c.check(err is None, "and its foreign key removed (%s)" % err)
run("SELECT * FROM oq_rebuild_tag_index('sec')")

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# (tags/_complete: the marker the rebuild writes, see README "The tag index")
ALLOWED = re.compile(r"^(tasks/[0-9a-f]/%s\.json|tags/[a-z0-9_-]{1,64}/[^/]+/%s|ready/[0-9a-f]/[0-9]{10}/%s|tags/_complete)$"
                     % (UUID, UUID, UUID))
written = sorted(set(e["key"] for e in proxy.settled_log() if e["method"] in ("PUT", "DELETE")))
outside = [k for k in written if not ALLOWED.match(k)]
c.check(written and not outside, "the %d keys written or deleted are all task, entry or ready keys or the index marker (others: %s)"
        % (len(written), outside[:5]))
segments = sorted(k.split("/")[2] for k in written if k.startswith("tags/") and k.endswith(nasty_id))
c.check(all(s not in (".", "..", "") and "/" not in s for s in segments) and "~" in "".join(s[0] for s in segments),
        "entry segments are encoded, never '.', '..' or empty (hashed instead): %s" % segments)
listed = list_keys(client, BUCKET, "")
outside = [k for k in listed if not ALLOWED.match(k)]
c.check(not outside, "the bucket holds nothing outside those prefixes (%s)" % outside[:5])

# ---- the sweep: no secret anywhere
session.close()
log = ""
if log_path and os.path.exists(log_path):
    with open(log_path, encoding="utf-8", errors="replace") as f:
        f.seek(log_offset)
        log = f.read()
c.check(len(log) > 10000 and "DEBUG:" in log, "the server log has the sessions' DEBUG5 output (%d bytes)" % len(log))
signatures = set()
tokens = set()
for e in seen + proxy.settled_log():
    auth = e.get("headers", {}).get("authorization", "")
    m = re.search(r"Signature=([0-9a-f]{64})", auth)
    if m:
        signatures.add(m.group(1))
    if e.get("headers", {}).get("x-amz-security-token"):
        tokens.add(e["headers"]["x-amz-security-token"])
c.check(len(signatures) > 20, "the proxy saw %d request signatures" % len(signatures))
if sts_creds:
    c.check(tokens == {sts_creds["SessionToken"]}, "the session token was sent with the temporary credentials")
secrets = {"the secret key": SECRET, "a wrong secret": WRONG_SECRET, "role A's secret": OTHER_SECRET}
if sts_creds:
    secrets.update({"the temporary secret key": sts_creds["SecretAccessKey"],
                    "the session token": sts_creds["SessionToken"]})
everything = texts + [log]
found = [what for what, v in secrets.items() if any(v in t for t in everything)]
c.check(not found, "no secret key or session token in any output or the server log (found: %s)" % found)
leaked_sigs = [s for s in signatures if any(s in t for t in everything)]
c.check(not leaked_sigs, "none of the %d request signatures appears anywhere (found %d)"
        % (len(signatures), len(leaked_sigs)))
markers = [m for m in ("Signature=", "Authorization:", "AWS4-HMAC-SHA256 Credential", "x-amz-security-token:")
           if any(m.lower() in t.lower() for t in everything)]
c.check(not markers, "no Authorization header or signature marker anywhere (found: %s)" % markers)
c.check(not watch.problems(), "no backend crashed (%s)" % watch.problems())
psql("DROP USER MAPPING FOR oq_sec_a SERVER sec; REVOKE USAGE ON FOREIGN SERVER sec FROM oq_sec_a, oq_sec_b;"
     "DROP ROLE oq_sec_a; DROP ROLE oq_sec_b")
proxy.stop()
c.done()
