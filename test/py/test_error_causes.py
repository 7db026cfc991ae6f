#!/usr/bin/env python3
"""test_error_causes.py - an S3 error says what is wrong, whatever the
operation, and only a missing key means a missing task.

test/s3proxy.py answers every request of a statement with one S3 error:
a missing bucket, a refused request (AccessDenied, InvalidAccessKeyId,
SignatureDoesNotMatch), a wrong region (PermanentRedirect,
AuthorizationHeaderMalformed).  Each operation that reaches S3 (a full
scan, an id lookup, a tag index scan, a tag change, UPDATE, a submit,
INSERT, history, the rebuild, the raw object functions) must fail with the
SQLSTATE and the hint of that cause -- never "task ... does not exist",
never an empty result.  Then a 404 without a code on a GET of a key (what
RGW may send) is a missing task, as NoSuchKey is.
"""
import sys

from faulttest import Cases, CrashWatch, fault_server, start_proxy, task_key, exact
from oqtest import Session, seed_tasks

BUCKET = "oq-causes"

proxy = start_proxy()
tasks = seed_tasks(BUCKET, 6, seed=5, index=True)
fault_server("causes", BUCKET, proxy, schema="ec")
watch = CrashWatch()
cases = Cases(proxy)
session = Session()
session.rows("SET oq_fdw.cache_size = 0")

SOME = next(t for t in tasks if t["status"] == "pending")
TAG_KEY, TAG_VALUE = next(iter(SOME["tags"].items())) if SOME["tags"] else ("customer", "x")

# (S3 answer, SQLSTATE, a fragment of the message, a fragment of the hint)
CAUSES = [
    ((404, "NoSuchBucket"), "HV00R", 'bucket "%s" does not exist' % BUCKET,
     'Check the option bucket of server "causes".'),
    ((403, "AccessDenied"), "HV00N", "HTTP 403 AccessDenied",
     'Allow the credentials from the user mapping to use bucket "%s"' % BUCKET),
    ((403, "InvalidAccessKeyId"), "HV00N", "HTTP 403 InvalidAccessKeyId",
     "Check the user mapping's access_key_id for server \"causes\"."),
    ((403, "SignatureDoesNotMatch"), "HV00N", "HTTP 403 SignatureDoesNotMatch",
     "Check the user mapping's secret_access_key for server \"causes\"."),
    ((301, "PermanentRedirect"), "HV00N", "is not in region",
     'Set the option region of server "causes" to the bucket\'s region.'),
    ((400, "AuthorizationHeaderMalformed"), "HV00N", "is not in region",
     'Set the option region of server "causes" to the bucket\'s region.'),
]

OPERATIONS = [
    ("full scan", "SELECT count(*) FROM ec.tasks"),
    ("id lookup", "SELECT * FROM ec.tasks WHERE id = '%s'" % SOME["id"]),
    ("tag index scan", "SELECT * FROM ec.tasks WHERE tags->>'%s' = '%s'" % (TAG_KEY, TAG_VALUE)),
    ("oq_update_tags", "SELECT oq_update_tags('causes', '%s', '{\"x\": \"y\"}')" % SOME["id"]),
    ("oq_remove_tags", "SELECT oq_remove_tags('causes', '%s', ARRAY['x'])" % SOME["id"]),
    ("UPDATE", "UPDATE ec.tasks SET tags = '{}' WHERE id = '%s'" % SOME["id"]),
    ("oq_submit", "SELECT oq_submit('causes', 't')"),
    ("INSERT", "INSERT INTO ec.tasks (task_type) VALUES ('t')"),
    ("oq_task_history", "SELECT * FROM oq_task_history('causes', '%s')" % SOME["id"]),
    ("oq_rebuild_tag_index", "SELECT oq_rebuild_tag_index('causes')"),
    ("oq_get_object", "SELECT oq_get_object('causes', '%s')" % task_key(SOME["id"])),
    ("oq_head_object", "SELECT oq_head_object('causes', '%s')" % task_key(SOME["id"])),
    ("oq_list_objects", "SELECT * FROM oq_list_objects('causes', 'tasks/')"),
    ("oq_put_object", "SELECT oq_put_object('causes', 'x', '\\x00')"),
]


def hint_of(stderr):
    for line in stderr:
        at = line.find("HINT:")
        if at >= 0:
            return line[at + len("HINT:"):].strip()
    return None


def check(answer, sqlstate, message, hint, sql):
    status, code = answer
    proxy.arm({"times": -1, "forward": False, "respond": {"status": status, "code": code}})
    rows, err, stderr = session.run(sql)
    assert err is not None, "no error; rows %r" % rows
    assert err.sqlstate == sqlstate, "SQLSTATE %s, not %s: %s" % (err.sqlstate, sqlstate, err.message)
    assert message in err.message, "message %r lacks %r" % (err.message, message)
    assert "does not exist" not in err.message or code == "NoSuchBucket", err.message
    got = hint_of(stderr)
    assert got is not None and hint in got, "hint %r lacks %r" % (got, hint)


for answer, sqlstate, message, hint in CAUSES:
    for name, sql in OPERATIONS:
        cases.run("%s: %s" % (answer[1], name), check, answer, sqlstate, message, hint, sql)


# a HEAD has no body to tell a missing key from a missing bucket: the
# bucket is asked, and its 404 is a missing bucket
def head_missing_bucket():
    proxy.arm({"times": -1, "forward": False, "respond": {"status": 404, "body": ""}})
    rows, err, _ = session.run("SELECT oq_head_object('causes', '%s')" % task_key(SOME["id"]))
    assert err is not None and err.sqlstate == "HV00R", "got %r %r" % (rows, err)


cases.run("HEAD 404 of key and bucket: a missing bucket", head_missing_bucket)


# a 404 without a code on a GET of a key is a missing task
def no_code_404_is_missing():
    proxy.arm({"method": "GET", "key": "^tasks/", "times": -1, "forward": False,
               "respond": {"status": 404, "body": ""}})
    rows = session.rows("SELECT id FROM ec.tasks WHERE id = '%s'" % SOME["id"])
    assert rows == [], rows
    rows, err, _ = session.run("SELECT oq_update_tags('causes', '%s', '{\"x\": \"y\"}')" % SOME["id"])
    assert err is not None and err.sqlstate == "P0002", err
    rows = session.rows("SELECT oq_get_object('causes', '%s') IS NULL" % task_key(SOME["id"]))
    assert rows == [["t"]], rows


cases.run("404 without a code on a GET: a missing task", no_code_404_is_missing)


# NoSuchKey on the id's key: missing, and the next statement sees the task again
def no_such_key_then_back():
    proxy.arm({"method": "GET", "key": exact(task_key(SOME["id"])), "times": 1, "forward": False,
               "respond": {"status": 404, "code": "NoSuchKey"}})
    rows = session.rows("SELECT count(*) FROM ec.tasks WHERE id = '%s'" % SOME["id"])
    assert rows == [["0"]], rows
    rows = session.rows("SELECT count(*) FROM ec.tasks WHERE id = '%s'" % SOME["id"])
    assert rows == [["1"]], rows


cases.run("NoSuchKey: a missing task", no_such_key_then_back)

session.close()
problems = watch.problems()
if problems:
    print("FAIL  backend crash: %s" % problems)
    sys.exit(1)
proxy.stop()
cases.done()
