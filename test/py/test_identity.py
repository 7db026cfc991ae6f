#!/usr/bin/env python3
"""test_identity.py - the server's own identity is for superusers only, at
every use; a scan keeps the connection it started with.

Proves, with the server's environment holding valid keys and a PUBLIC user
mapping with use_server_environment 'true' (each refusal is 42501 and sends
nothing: oq_stats() counts no request):
- direct use by a non-superuser is refused (a raw function, a scan);
- after a superuser's query in the same session, SET ROLE to a
  non-superuser is refused (the superuser's cached connection is not
  lent), and RESET ROLE works again;
- a superuser's SECURITY DEFINER function may use it while it runs; the
  caller's own queries after it may not;
- a cursor held across an invalidation (its role demoted mid-transaction)
  is refused at its next FETCH that needs a request;
and, with plain keys: a cursor's FETCHes after its user mapping was
altered, a failed rebuild of its connection was rolled back and another
server was used, still read its own server with its first credentials.
"""
import collections

import credtest as ct
from oqtest import seed_tasks

ALICE = "oq_id_alice"
SAM = "oq_id_sam"
BUCKET_A = "oq-identity"
BUCKET_B = "oq-identity-b"
MSG = "user mapping for server \"id_pub\" may not use the server's environment"
REQS = "SELECT 'reqs', sum(value) FROM oq_stats() WHERE name LIKE 'requests\\_%';\n"
LIST = "SELECT 'listed', count(*) FROM oq_list_objects('id_pub', 'tasks/');\n"
KEYS = "\\getenv key OQ_TEST_ACCESS_KEY_ID\n\\getenv secret OQ_TEST_SECRET_ACCESS_KEY\n"
SCAN = "SELECT 'scanned', count(*) FROM idt.tasks;\n"


def reqs(s):
    return [int(r.split("|")[1]) for r in s.rows if r.startswith("reqs|")]


def count(s, label):
    return sum(1 for r in s.rows if r.startswith(label + "|"))


def setup():
    ct.psql_ok("""
DROP ROLE IF EXISTS %(a)s;
DROP ROLE IF EXISTS %(s)s;
CREATE ROLE %(a)s LOGIN;
CREATE ROLE %(s)s LOGIN SUPERUSER;
""" % dict(a=ALICE, s=SAM))
    ct.create_server("id_pub", mapping="use_server_environment 'true'", user="PUBLIC")
    # the bucket: create_server points at credtest's bucket; use our own
    ct.psql_ok("""
ALTER SERVER id_pub OPTIONS (SET bucket '%(b)s', ADD max_concurrency '1');
GRANT USAGE ON FOREIGN SERVER id_pub TO %(a)s;
CREATE SCHEMA idt;
IMPORT FOREIGN SCHEMA oq FROM SERVER id_pub INTO idt;
GRANT USAGE ON SCHEMA idt TO %(a)s;
GRANT SELECT ON ALL TABLES IN SCHEMA idt TO %(a)s;
CREATE FUNCTION id_definer() RETURNS bigint SECURITY DEFINER
  LANGUAGE sql AS $$ SELECT count(*) FROM oq_list_objects('id_pub', 'tasks/') $$;
GRANT EXECUTE ON FUNCTION id_definer() TO %(a)s;
""" % dict(a=ALICE, b=BUCKET_A))
    ct.create_server("id_a", mapping=None)
    ct.create_server("id_b", mapping=None)
    ct.psql_ok(KEYS + """
CREATE USER MAPPING FOR CURRENT_USER SERVER id_a
  OPTIONS (access_key_id :'key', secret_access_key :'secret');
CREATE USER MAPPING FOR CURRENT_USER SERVER id_b
  OPTIONS (access_key_id :'key', secret_access_key :'secret');
ALTER SERVER id_a OPTIONS (SET bucket '%s', ADD max_concurrency '1');
ALTER SERVER id_b OPTIONS (SET bucket '%s');
CREATE SCHEMA ida;
IMPORT FOREIGN SCHEMA oq FROM SERVER id_a INTO ida;
""" % (BUCKET_A, BUCKET_B))


def teardown():
    ct.restart()
    ct.psql_ok("""
DROP FUNCTION id_definer();
DROP SERVER id_pub, id_a, id_b CASCADE;
DROP SCHEMA idt, ida;
DROP ROLE %(a)s;
DROP ROLE %(s)s;
""" % dict(a=ALICE, s=SAM))


def main():
    ct.require_harness()
    c = ct.Checks()
    tasks_a = seed_tasks(BUCKET_A, 12, seed=31, index=True)
    seed_tasks(BUCKET_B, 7, seed=32, index=True)
    setup()
    texts = []
    try:
        ct.restart(AWS_ACCESS_KEY_ID=ct.KEY_ID, AWS_SECRET_ACCESS_KEY=ct.SECRET,
                   AWS_EC2_METADATA_DISABLED="true")

        # direct use by a non-superuser: a raw function and a scan
        s = ct.session(REQS + LIST + SCAN + REQS, user=ALICE)
        texts.append(s.text())
        c.check(s.errors == [("42501", MSG)] * 2,
                "direct use: both refused with 42501 (%s)" % (s.errors,))
        r = reqs(s)
        c.check(len(r) == 2 and r[0] == r[1] == 0, "direct use: nothing sent (%s)" % (r,))

        # a superuser's query, then SET ROLE: the cached connection is not lent
        s = ct.session(LIST + "SET ROLE %s;\n" % ALICE + REQS + LIST + SCAN + REQS +
                       "RESET ROLE;\n" + LIST)
        texts.append(s.text())
        c.check(count(s, "listed") == 2 and s.errors == [("42501", MSG)] * 2,
                "SET ROLE after a superuser's query: refused, RESET ROLE works (%s)"
                % (s.errors,))
        r = reqs(s)
        c.check(len(r) == 2 and r[0] == r[1] > 0, "SET ROLE: nothing sent (%s)" % (r,))
        c.check("Role \"%s\" is not a superuser" % ALICE in s.err,
                "the detail names the role that ran the query")

        # SECURITY DEFINER: the definer's identity while it runs, not after
        s = ct.session("SELECT 'definer', id_definer();\n" + REQS + LIST + SCAN + REQS,
                       user=ALICE)
        texts.append(s.text())
        c.check(count(s, "definer") == 1 and s.errors == [("42501", MSG)] * 2,
                "SECURITY DEFINER: served inside, refused after (%s)" % (s.errors,))
        r = reqs(s)
        c.check(len(r) == 2 and r[0] == r[1] > 0, "after SECURITY DEFINER: nothing sent (%s)"
                % (r,))

        # a cursor of a superuser who is demoted mid-transaction
        s = ct.session("BEGIN;\n"
                       "DECLARE c CURSOR FOR SELECT id FROM idt.tasks;\n"
                       "FETCH 1 FROM c;\n"
                       "ALTER ROLE %s NOSUPERUSER;\n" % SAM + REQS +
                       "FETCH ALL FROM c;\n"
                       "ROLLBACK;\n" + REQS, user=SAM)
        texts.append(s.text())
        c.check(s.errors == [("42501", MSG)],
                "cursor across an invalidation: the next FETCH is refused (%s)" % (s.errors,))
        r = reqs(s)
        c.check(len(r) == 2 and r[0] == r[1] > 0,
                "cursor across an invalidation: nothing sent after the demotion (%s)" % (r,))
        c.check(ct.psql_ok("SELECT rolsuper FROM pg_roles WHERE rolname = '%s'" % SAM) == ["t"],
                "the demotion was rolled back")

        # a scan holds its connection from its start (DECLARE), not its first
        # request: altered mapping, failed rebuild in a rolled-back
        # savepoint, a call on a second server, then FETCH
        customers = collections.Counter(t["tags"].get("customer") for t in tasks_a
                                        if t["tags"].get("customer"))
        want = sorted(t["id"] for t in tasks_a if t["tags"].get("customer"))
        s = ct.session("BEGIN;\n"
                       "DECLARE c CURSOR FOR SELECT 'row', id FROM ida.tasks"
                       " WHERE tags ? 'customer';\n"
                       "ALTER USER MAPPING FOR CURRENT_USER SERVER id_a"
                       " OPTIONS (DROP secret_access_key);\n"
                       "SAVEPOINT s;\n"
                       "SELECT count(*) FROM oq_list_objects('id_a', 'tasks/');\n"
                       "ROLLBACK TO s;\n"
                       "SELECT 'other', count(*) FROM oq_list_objects('id_b', 'tasks/');\n" +
                       REQS + "FETCH ALL FROM c;\n" + REQS +
                       "COMMIT;\n"
                       "SELECT 'after', count(*) FROM oq_list_objects('id_a', 'tasks/');\n",
                       debug=False)
        texts.append(s.text())
        got = sorted(r.split("|")[1] for r in s.rows if r.startswith("row|"))
        c.check(len(customers) > 0 and got == want,
                "cursor kept its server and credentials: %d rows of %d, all of bucket A"
                % (len(got), len(want)))
        c.check(count(s, "other") == 1, "the second server answered meanwhile")
        r = reqs(s)
        c.check(len(r) == 2 and r[1] > r[0], "FETCH ALL made requests after all that (%s)" % (r,))
        c.check([e[0] for e in s.errors] == ["HV00J", "HV00J"],
                "the failed rebuilds say the mapping lacks a key (%s)" % (s.errors,))
        c.check(count(s, "after") == 0, "after COMMIT new queries use the altered mapping")
        ct.psql_ok(KEYS + "ALTER USER MAPPING FOR CURRENT_USER SERVER id_a"
                   " OPTIONS (ADD secret_access_key :'secret');")

        leaked = ct.leaked(texts + [ct.log_text()], {"the secret key": ct.SECRET})
        c.check(not leaked, "no secret in the sessions' output or the server log")
    finally:
        teardown()
    c.done()


if __name__ == "__main__":
    main()
