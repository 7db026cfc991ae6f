#!/usr/bin/env python3
"""test_credentials_sts.py - STS: assume_role_arn (with external_id) on top
of a mapping's credentials, and web identity (AssumeRoleWithWebIdentity)
as the server's identity, against moto's STS.

moto in verifying mode checks the SigV4 signature of AssumeRole (service
"sts"), evaluates the role's trust policy including its sts:ExternalId
condition, and verifies the temporary credentials it hands out (their key,
secret and session token, and the role's permission policy) on every S3
request.  It refuses unsigned requests, so the unsigned
AssumeRoleWithWebIdentity goes through /moto-api/reset-auth, which lets
exactly one request in unchecked (see credtest.allow_unsigned_requests).

Proves:
- a non-superuser's own keys + assume_role_arn + external_id: the role's
  credentials work, and are cached (one STS call for several statements);
- a wrong external_id is refused by STS, and the error names STS, the
  endpoint, the action, the role and STS's code, without any secret;
- a role to assume needs credentials to ask STS with;
- the STS endpoint comes from sts_endpoint or AWS_ENDPOINT_URL_STS;
- web identity: the token file is read and traded for credentials that
  verify; a failing exchange names STS and never shows the token; a
  missing token file or role ARN is named;
- a role assumed on top of the web identity (the EKS pattern with a
  second, cross-account role);
- no secret or token in errors or the server log.
"""
import os

import credtest as ct

USER = "oq_sts_user"
EXTERNAL_ID = "oq-ext-4711"
WEB_TOKEN = "eyJhbGciOiJSUzI1NiJ9.oq-web-identity-token-for-tests.c2lnbmF0dXJl"


def main():
    ct.require_harness()
    c = ct.Checks()
    texts = []
    tmp = os.environ["OQ_TEST_TMPDIR"]

    assume_arn = ct.ensure_role("oq-fdw-assumed", external_id=EXTERNAL_ID)
    web_arn = ct.ensure_role("oq-fdw-web")

    ct.psql_ok("DROP ROLE IF EXISTS %s; CREATE ROLE %s LOGIN;" % (USER, USER))
    ct.psql_ok("""
\\getenv endpoint OQ_TEST_ENDPOINT
\\getenv key OQ_TEST_ACCESS_KEY_ID
\\getenv secret OQ_TEST_SECRET_ACCESS_KEY
CREATE SERVER sts_role FOREIGN DATA WRAPPER oq_fdw OPTIONS (bucket '%(b)s',
  endpoint :'endpoint', region '%(r)s', assume_role_arn '%(arn)s',
  external_id '%(ext)s', role_session_name 'oq-test-session', sts_endpoint :'endpoint');
CREATE SERVER sts_badext FOREIGN DATA WRAPPER oq_fdw OPTIONS (bucket '%(b)s',
  endpoint :'endpoint', region '%(r)s', assume_role_arn '%(arn)s',
  external_id 'not-the-external-id', sts_endpoint :'endpoint', max_retries '0');
CREATE SERVER sts_envurl FOREIGN DATA WRAPPER oq_fdw OPTIONS (bucket '%(b)s',
  endpoint :'endpoint', region '%(r)s', assume_role_arn '%(arn)s', external_id '%(ext)s');
GRANT USAGE ON FOREIGN SERVER sts_role, sts_badext, sts_envurl TO %(u)s;
CREATE USER MAPPING FOR %(u)s SERVER sts_role
  OPTIONS (access_key_id :'key', secret_access_key :'secret');
CREATE USER MAPPING FOR %(u)s SERVER sts_badext
  OPTIONS (access_key_id :'key', secret_access_key :'secret');
CREATE USER MAPPING FOR %(u)s SERVER sts_envurl
  OPTIONS (access_key_id :'key', secret_access_key :'secret');
CREATE USER MAPPING FOR CURRENT_USER SERVER sts_role;
""" % dict(b=ct.BUCKET, r=ct.REGION, arn=assume_arn, ext=EXTERNAL_ID, u=USER))

    # AssumeRole on top of a non-superuser's own keys, cached
    s = ct.session(ct.list_sql("sts_role") * 3 + ct.stats_sql(), user=USER)
    texts.append(s.text())
    c.check(not s.errors, "assume_role_arn on a user's keys: no error (%s)" % (s.errors[:1],))
    c.check(ct.listed(s) == 3, "assume_role_arn: the role's credentials verify in moto's S3")
    c.check(ct.credential_requests(s) == 1,
            "assume_role_arn: one STS request for three statements (cached)")
    c.check(any('AssumeRole of role "%s"' % assume_arn in d and "expire at" in d
                for d in s.debug), "assume_role_arn: DEBUG names STS and the role")

    # a wrong external id: STS refuses, the error says who and why
    s = ct.session(ct.list_sql("sts_badext"), user=USER)
    texts.append(s.text())
    want = ('could not get AWS credentials from AWS STS at %s (AssumeRole of role "%s"): '
            'HTTP 403 AccessDenied' % (ct.ENDPOINT, assume_arn))
    c.check(s.errors and s.errors[0] == ("HV00N", want),
            "wrong external_id: HV00N naming STS, endpoint, action, role and code")
    c.check("not authorized to perform: sts:AssumeRole" in s.err,
            "wrong external_id: the detail has STS's message")

    # a role to assume needs something to ask STS with
    s = ct.session(ct.list_sql("sts_role"))
    c.check(s.errors and s.errors[0][0] == "HV00J" and
            "has no credentials to ask AWS STS with" in s.errors[0][1],
            "assume_role_arn without mapping credentials: refused before any request")

    # no sts_endpoint: AWS_ENDPOINT_URL_STS, as the SDKs
    ct.restart(AWS_ENDPOINT_URL_STS=ct.ENDPOINT)
    s = ct.session(ct.list_sql("sts_envurl"), user=USER)
    texts.append(s.text())
    c.check(not s.errors and ct.listed(s) == 1,
            "assume_role_arn with the STS endpoint from AWS_ENDPOINT_URL_STS")

    # web identity as the server's identity
    token_file = os.path.join(tmp, "web-identity-token")
    with open(token_file, "w") as f:
        f.write(WEB_TOKEN + "\n")
    os.chmod(token_file, 0o644)
    ct.create_server("sts_web", options="max_retries '0'")
    ct.psql_ok("CREATE SCHEMA webt; IMPORT FOREIGN SCHEMA oq FROM SERVER sts_web INTO webt;")
    web_env = dict(AWS_WEB_IDENTITY_TOKEN_FILE=token_file, AWS_ROLE_ARN=web_arn,
                   AWS_ROLE_SESSION_NAME="oq-web-session", AWS_ENDPOINT_URL_STS=ct.ENDPOINT,
                   AWS_REGION=ct.REGION)
    ct.restart(**web_env)

    # moto refuses the unsigned exchange unless told to let it in
    s = ct.session(ct.list_sql("sts_web"))
    texts.append(s.text())
    want = ('could not get AWS credentials from AWS STS at %s (AssumeRoleWithWebIdentity '
            'of role "%s"): HTTP 500' % (ct.ENDPOINT, web_arn))
    c.check(s.errors and s.errors[0] == ("HV00N", want),
            "web identity refused: HV00N naming STS, endpoint, action and role")
    c.check("web identity (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN)" in s.err,
            "web identity refused: the context names the source of the chain")

    ct.allow_unsigned_requests(1)
    s = ct.session(ct.list_sql("sts_web") * 2 + ct.stats_sql() +
                   "EXPLAIN (ANALYZE, VERBOSE, COSTS OFF) SELECT * FROM webt.tasks;\n")
    texts.append(s.text())
    c.check(not s.errors, "web identity: no error (%s)" % (s.errors[:1],))
    c.check(ct.listed(s) == 2, "web identity: moto's temporary credentials verify in S3")
    c.check(ct.credential_requests(s) == 1, "web identity: one STS exchange, then cached")
    c.check(any("server identity from AWS STS at %s (AssumeRoleWithWebIdentity of role \"%s\")"
                % (ct.ENDPOINT, web_arn) in d for d in s.debug),
            "web identity: DEBUG names the source")

    # a role assumed on top of the web identity, signed with its credentials
    ct.psql_ok("""
\\getenv endpoint OQ_TEST_ENDPOINT
ALTER SERVER sts_web OPTIONS (ADD assume_role_arn '%s', ADD external_id '%s',
  ADD sts_endpoint :'endpoint');
""" % (assume_arn, EXTERNAL_ID))
    ct.allow_unsigned_requests(1)
    s = ct.session(ct.list_sql("sts_web") + ct.stats_sql())
    texts.append(s.text())
    c.check(not s.errors and ct.listed(s) == 1,
            "web identity + assume_role_arn: works (%s)" % (s.errors[:1],))
    c.check(ct.credential_requests(s) == 2,
            "web identity + assume_role_arn: two STS requests (exchange, then AssumeRole)")

    # a missing token file, a missing role ARN
    ct.restart(**dict(web_env, AWS_WEB_IDENTITY_TOKEN_FILE=token_file + ".missing"))
    s = ct.session(ct.list_sql("sts_web"))
    c.check(s.errors and s.errors[0][0] == "58P01" and
            "named by AWS_WEB_IDENTITY_TOKEN_FILE" in s.errors[0][1],
            "missing token file: names the file and the variable")
    env = dict(web_env)
    del env["AWS_ROLE_ARN"]
    ct.restart(**env)
    s = ct.session(ct.list_sql("sts_web"))
    c.check(s.errors and s.errors[0] == (
        "HV00N", "the database server's environment sets AWS_WEB_IDENTITY_TOKEN_FILE but not AWS_ROLE_ARN"),
        "missing AWS_ROLE_ARN: named")

    ct.restart()
    ct.psql_ok("DROP SERVER sts_role, sts_badext, sts_envurl, sts_web CASCADE; DROP ROLE %s;"
               % USER)
    leaks = ct.leaked(texts + [ct.log_text()],
                      {"the secret key": ct.SECRET, "the web identity token": WEB_TOKEN})
    c.check(not leaks, "no secret or token in errors, EXPLAIN or the server log (found: %s)"
            % leaks)
    c.done()


if __name__ == "__main__":
    main()
