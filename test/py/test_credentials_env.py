#!/usr/bin/env python3
"""test_credentials_env.py - the server's identity from its environment
variables, the order of the credential chain, and the superuser rule.

Proves:
- with nothing configured (and IMDS turned off) the error says so;
- AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY sign requests that moto verifies,
  and win over every later source of the chain, which is never contacted;
- a partial or wrong environment gives a clear error naming the source;
- a non-superuser can never use the server's identity: not by creating
  such a mapping, not through a mapping a superuser made for them, not
  through a PUBLIC mapping, and not after losing superuser mid-session;
- no secret reaches errors, EXPLAIN or the server log.
"""
import credtest as ct

USER = "oq_cred_user"
SUPER = "oq_cred_super"
WRONG_SECRET = "wrong-secret-0123456789-abcdef"


def setup():
    ct.psql_ok("""
DROP ROLE IF EXISTS %(u)s;
DROP ROLE IF EXISTS %(s)s;
CREATE ROLE %(u)s LOGIN;
CREATE ROLE %(s)s LOGIN SUPERUSER;
""" % dict(u=USER, s=SUPER))
    ct.create_server("env_srv")
    ct.create_server("env_for_user", mapping="use_server_environment 'true'", user=USER)
    ct.create_server("env_public", mapping="use_server_environment 'true'", user="PUBLIC")
    ct.create_server("env_other", mapping=None)
    ct.psql_ok("""
GRANT USAGE ON FOREIGN SERVER env_srv, env_for_user, env_public, env_other TO %(u)s;
GRANT USAGE ON FOREIGN SERVER env_srv TO %(s)s;
CREATE USER MAPPING FOR %(s)s SERVER env_srv OPTIONS (use_server_environment 'true');
CREATE SCHEMA envt;
IMPORT FOREIGN SCHEMA oq FROM SERVER env_srv INTO envt;
""" % dict(u=USER, s=SUPER))


def teardown():
    ct.restart()
    ct.psql_ok("""
DROP SERVER env_srv, env_for_user, env_public, env_other CASCADE;
DROP ROLE %(u)s;
DROP ROLE %(s)s;
""" % dict(u=USER, s=SUPER))


def main():
    ct.require_harness()
    c = ct.Checks()
    texts = []
    setup()

    # nothing configured: the chain ends at IMDS, which is turned off
    ct.restart(AWS_EC2_METADATA_DISABLED="true")
    s = ct.session(ct.list_sql("env_srv"))
    texts.append(s.text())
    c.check(s.errors and s.errors[0][0] == "HV00N" and
            s.errors[0][1] == "no AWS credentials found in the database server's environment",
            "no source configured: HV00N, no AWS credentials found")
    c.check("AWS_EC2_METADATA_DISABLED turns the EC2 instance metadata service off" in s.err,
            "no source configured: the detail names what was looked for")

    # the environment's keys, with every later source configured too: the
    # keys win and nothing else is asked (those endpoints do not exist)
    ct.restart(AWS_ACCESS_KEY_ID=ct.KEY_ID, AWS_SECRET_ACCESS_KEY=ct.SECRET,
               AWS_WEB_IDENTITY_TOKEN_FILE="/nonexistent/token",
               AWS_ROLE_ARN="arn:aws:iam::123456789012:role/none",
               AWS_CONTAINER_CREDENTIALS_FULL_URI="http://127.0.0.1:9/creds",
               AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:9")
    s = ct.session(ct.list_sql("env_srv") * 2 + ct.stats_sql() +
                   "EXPLAIN (ANALYZE, VERBOSE, COSTS OFF) SELECT * FROM envt.tasks;\n")
    texts.append(s.text())
    c.check(not s.errors, "environment keys: no error (%s)" % (s.errors[:1],))
    c.check(ct.listed(s) == 2, "environment keys: both listings signed and verified by moto")
    c.check(any("server identity from the database server's environment variables" in d
                for d in s.debug), "environment keys: DEBUG names the source")
    c.check(ct.credential_requests(s) == 0,
            "environment keys: no credential request (web identity, container, IMDS untouched)")
    c.check("Oq Bucket" in s.out and ct.SECRET not in s.out and ct.KEY_ID not in s.out,
            "EXPLAIN ANALYZE VERBOSE shows the scan and no key")

    # the superuser rule, with the environment holding valid keys
    s = ct.session("\\getenv endpoint OQ_TEST_ENDPOINT\n"
                   "CREATE USER MAPPING FOR CURRENT_USER SERVER env_other "
                   "OPTIONS (use_server_environment 'true');\n", user=USER)
    c.check(s.errors and s.errors[0] == ("42501", "only a superuser may set \"use_server_environment\""),
            "non-superuser: may not create a mapping that uses the server's environment")
    s = ct.session(ct.list_sql("env_for_user"), user=USER)
    texts.append(s.text())
    c.check(s.errors and s.errors[0] == (
        "42501", "user mapping for server \"env_for_user\" may not use the server's environment"),
        "non-superuser: refused through a mapping a superuser made for them")
    c.check(ct.listed(s) == 0, "non-superuser: nothing listed")
    s = ct.session(ct.list_sql("env_public"), user=USER)
    c.check(s.errors and s.errors[0][0] == "42501",
            "non-superuser: refused through a PUBLIC mapping with use_server_environment")
    s = ct.session(ct.list_sql("env_public"))
    c.check(not s.errors and ct.listed(s) == 1,
            "superuser: the same PUBLIC mapping works")

    # a superuser who loses the attribute mid-session loses the identity
    s = ct.session(ct.list_sql("env_srv") +
                   "ALTER ROLE %s NOSUPERUSER;\n" % SUPER + ct.list_sql("env_srv"),
                   user=SUPER)
    c.check(ct.listed(s) == 1 and s.errors and s.errors[0] == (
        "42501", "user mapping for server \"env_srv\" may not use the server's environment"),
        "superuser demoted mid-session: the cached connection is refused (%s)" % (s.errors[:1],))

    # a partial environment
    ct.restart(AWS_ACCESS_KEY_ID=ct.KEY_ID)
    s = ct.session(ct.list_sql("env_srv"))
    texts.append(s.text())
    c.check(s.errors and s.errors[0] == (
        "HV00N", "the database server's environment sets AWS_ACCESS_KEY_ID but not AWS_SECRET_ACCESS_KEY"),
        "partial environment: names the missing variable")

    # a wrong secret: S3 refuses, and the hint says where the keys came from
    ct.restart(AWS_ACCESS_KEY_ID=ct.KEY_ID, AWS_SECRET_ACCESS_KEY=WRONG_SECRET)
    s = ct.session(ct.list_sql("env_srv"))
    texts.append(s.text())
    c.check(s.errors and s.errors[0][0] == "HV00N" and "SignatureDoesNotMatch" in s.errors[0][1],
            "wrong secret in the environment: S3 refuses (HV00N SignatureDoesNotMatch)")
    c.check("came from the database server's environment variables" in s.err,
            "wrong secret: the hint names the source")

    teardown()
    leaks = ct.leaked(texts + [ct.log_text()],
                      {"the secret key": ct.SECRET, "the wrong secret": WRONG_SECRET})
    c.check(not leaks, "no secret in errors, EXPLAIN or the server log (found: %s)" % leaks)
    c.done()


if __name__ == "__main__":
    main()
