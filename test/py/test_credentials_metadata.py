#!/usr/bin/env python3
"""test_credentials_metadata.py - the container credentials endpoint and the
EC2 instance metadata service (IMDSv2), against the loopback stand-in
test/metadata_standin.py; caching, refresh before expiry, and failures.

The stand-in hands out real temporary credentials from moto's STS (a new
set at every fetch), so every S3 request the wrapper signs with them is
verified by moto; it announces them as expiring `lifetime` seconds after
the fetch, which is what the wrapper goes by.

Proves:
- container endpoint, full URI: the authorization token is sent, and a
  wrong one gives HTTP 401 with a hint and without the token;
- container endpoint, relative URI (resolved against the test override of
  169.254.170.2) with the token from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE;
  the relative URI wins over the full one; plain http to a host other
  than loopback or the ECS/EKS addresses is refused without a request;
- IMDSv2: token PUT with its TTL header, then the role and its
  credentials, both with the token (no IMDSv1 request ever);
- short-lived credentials (12 s) are used for many requests without a
  fetch per request, and refreshed once within a running statement, after
  half their lifetime and before they expire, with no failed request;
- a refresh that fails (HTTP 500, no role, bad JSON, nothing listening)
  is an HV00N error naming the service and its address and why; the next
  statement tries again and recovers;
- AWS_EC2_METADATA_DISABLED: IMDS is never asked;
- no secret, session token, IMDS token or authorization token reaches an
  error, EXPLAIN or the server log.
"""
import os
import re
import threading
import time

import credtest as ct
from metadata_standin import MetadataStandin

AUTH_TOKEN = "oq-container-authorization-token-0123456789"
FILE_TOKEN = "oq-container-token-from-file-9876543210"
LIFETIME = 12
WINDOW = 8


def main():
    ct.require_harness()
    c = ct.Checks()
    texts = []
    tmp = os.environ["OQ_TEST_TMPDIR"]

    role_arn = ct.ensure_role("oq-fdw-standin")
    standin = MetadataStandin(lambda: ct.temporary_credentials(role_arn),
                              auth_token=AUTH_TOKEN).start()
    try:
        run(c, texts, standin, tmp)
    finally:
        standin.stop()
        ct.restart()

    secrets = {"the test secret key": ct.SECRET, "the authorization token": AUTH_TOKEN,
               "the authorization token file's token": FILE_TOKEN}
    for i, (what, value) in enumerate(standin.handed_out):
        secrets["%s %d" % (what, i)] = value
    log = ct.log_text()
    c.check("server identity from the EC2 instance metadata service" in log and
            "could not get AWS credentials from the EC2 instance metadata service" in log,
            "the server log has oq_fdw's DEBUG messages and errors (so the check below means something)")
    leaks = ct.leaked(texts + [log], secrets)
    c.check(not leaks, "none of %d secrets and tokens in errors, EXPLAIN or the server log "
            "(found: %s)" % (len(secrets), leaks))
    c.done()


def run(c, texts, standin, tmp):
    # max_retries 0: a failure is reported at once (the SDKs' metadata
    # defaults, one attempt, apply to IMDS and the container endpoint anyway);
    # AWS_METADATA_SERVICE_TIMEOUT=5 below: the SDKs' 1 s is tight under
    # valgrind on a loaded machine
    ct.create_server("md", options="max_retries '0'")
    ct.psql_ok("CREATE SCHEMA mdt; IMPORT FOREIGN SCHEMA oq FROM SERVER md INTO mdt;")

    # -- the container endpoint, full URI, token in the environment --
    full_uri = standin.url + standin.container_path
    ct.restart(AWS_CONTAINER_CREDENTIALS_FULL_URI=full_uri,
               AWS_CONTAINER_AUTHORIZATION_TOKEN=AUTH_TOKEN, AWS_METADATA_SERVICE_TIMEOUT="5")
    standin.clear()
    s = ct.session(ct.list_sql("md") * 3 + ct.stats_sql() +
                   "EXPLAIN (ANALYZE, VERBOSE, COSTS OFF) SELECT * FROM mdt.tasks;\n")
    texts.append(s.text())
    c.check(not s.errors and ct.listed(s) == 3,
            "container, full URI: listings verified by moto (%s)" % (s.errors[:1],))
    c.check(standin.count("container") == 1 and standin.count("unauthorized") == 0,
            "container, full URI: one fetch, with the authorization token")
    c.check(ct.credential_requests(s) == 1, "container, full URI: cached for the session")
    c.check(any("server identity from the container credentials endpoint at %s, expires at"
                % standin.url in d for d in s.debug), "container: DEBUG names the source")

    # a wrong token
    ct.restart(AWS_CONTAINER_CREDENTIALS_FULL_URI=full_uri,
               AWS_CONTAINER_AUTHORIZATION_TOKEN=AUTH_TOKEN + "-wrong",
               AWS_METADATA_SERVICE_TIMEOUT="5")
    s = ct.session(ct.list_sql("md"))
    texts.append(s.text())
    c.check(s.errors and s.errors[0] == (
        "HV00N", "could not get AWS credentials from the container credentials endpoint at %s: HTTP 401"
        % standin.url), "container, wrong token: HV00N, the endpoint, HTTP 401")
    c.check("refused the authorization token" in s.err,
            "container, wrong token: the hint names the token's variables")

    # relative URI + token file; the relative URI wins over a full one
    token_file = os.path.join(tmp, "container-token")
    with open(token_file, "w") as f:
        f.write(FILE_TOKEN + "\n")
    os.chmod(token_file, 0o644)
    standin.auth_token = FILE_TOKEN
    ct.restart(AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=standin.container_path,
               OQ_FDW_CONTAINER_CREDENTIALS_ENDPOINT=standin.url,
               AWS_CONTAINER_CREDENTIALS_FULL_URI="http://127.0.0.1:9/never",
               AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=token_file,
               AWS_CONTAINER_AUTHORIZATION_TOKEN="not-this-one",
               AWS_METADATA_SERVICE_TIMEOUT="5")
    standin.clear()
    s = ct.session(ct.list_sql("md"))
    texts.append(s.text())
    c.check(not s.errors and ct.listed(s) == 1 and standin.count("container") == 1,
            "container, relative URI + token file: works (%s)" % (s.errors[:1],))
    standin.auth_token = AUTH_TOKEN

    # plain http elsewhere than loopback / the ECS and EKS addresses
    ct.restart(AWS_CONTAINER_CREDENTIALS_FULL_URI="http://192.0.2.1/creds")
    s = ct.session(ct.list_sql("md") + ct.stats_sql())
    c.check(s.errors and s.errors[0][0] == "HV00N" and "not allowed over http" in s.errors[0][1]
            and ct.credential_requests(s) == 0,
            "container, http to another host: refused without a request")

    # -- IMDSv2 --
    imds_env = dict(AWS_EC2_METADATA_SERVICE_ENDPOINT=standin.url,
                    AWS_METADATA_SERVICE_TIMEOUT="5")
    ct.restart(**imds_env)
    standin.clear()
    s = ct.session(ct.list_sql("md") * 2 + ct.stats_sql())
    texts.append(s.text())
    c.check(not s.errors and ct.listed(s) == 2,
            "IMDSv2: listings verified by moto (%s)" % (s.errors[:1],))
    kinds = [e[1] for e in standin.events]
    c.check(kinds == ["token", "role", "creds"],
            "IMDSv2: token PUT with TTL, role, credentials, all with the token (%s)" % kinds)
    c.check(ct.credential_requests(s) == 3, "IMDSv2: three requests, then cached")

    # -- refresh before expiry, and reuse within the lifetime --
    # After a first listing (which fetches, and warms up the backend: under
    # valgrind that takes seconds), one statement lists every 0.25 s for
    # WINDOW seconds: long enough to pass the refresh point (half of
    # LIFETIME), too short to reach a second one, however slow the server.
    # A refresh inside a running statement is what a long scan needs.
    standin.lifetime = LIFETIME
    standin.clear()
    start = time.time()
    s = ct.session(ct.list_sql("md") + """
DO $$
DECLARE t0 timestamptz := clock_timestamp(); n int := 0;
BEGIN
  WHILE clock_timestamp() < t0 + interval '%d s' LOOP
    PERFORM count(*) FROM oq_list_objects('md', 'credtest/');
    n := n + 1;
    PERFORM pg_sleep(0.25);
  END LOOP;
  RAISE NOTICE 'listed %% times', n;
END $$;
""" % WINDOW + ct.stats_sql())
    elapsed = time.time() - start
    texts.append(s.text())
    issued = list(standin.issued)
    m = re.search(r"NOTICE:  (?:00000: )?listed (\d+) times", s.err)
    listings = int(m.group(1)) if m else 0
    c.check(not s.errors and ct.listed(s) == 1 and listings >= 10,
            "short-lived credentials: one statement listed %d times over %.1f s, all verified (%s)"
            % (listings, elapsed, s.errors[:1]))
    c.check(len(issued) == 2,
            "short-lived credentials: fetched %d times for %d requests (expected 2: "
            "cached, then refreshed once)" % (len(issued), listings))
    for first, second in zip(issued, issued[1:]):
        age = second["time"] - first["time"]
        lifetime = first["expires"] - first["time"]
        c.check(second["time"] < first["expires"],
                "refreshed %.1f s before the credentials expired" % (first["expires"] - second["time"]))
        c.check(age >= lifetime / 2 - 0.5,
                "refreshed after half the lifetime (%.1f s of %.1f s)" % (age, lifetime))
        c.check(second["access_key_id"] != first["access_key_id"],
                "the refresh brought new credentials")
    c.check(len([d for d in s.debug if d.startswith("credentials for server \"md\"")]) == len(issued),
            "the connection switched to each refreshed set")

    # -- failures, named --
    ct.restart(**imds_env)
    for step, how, want in [
            ("creds", 500, "HTTP 500 (asking for the credentials of role \"%s\")" % standin.role),
            ("role", 404, "no IAM role is attached to the instance (HTTP 404)"),
            ("token", 403, "HTTP 403 (asking for a session token)"),
            ("creds", "badjson", "the credentials document is not valid JSON")]:
        standin.fail = {step: how}
        s = ct.session(ct.list_sql("md"))
        texts.append(s.text())
        message = ("could not get AWS credentials from the EC2 instance metadata service at %s: %s"
                   % (standin.url, want))
        c.check(s.errors and s.errors[0] == ("HV00N", message),
                "IMDS %s %s: HV00N naming the service, its address and why" % (step, how))
        c.check("the EC2 instance metadata service, the last source of the chain" in s.err,
                "IMDS %s %s: the context names the step of the chain" % (step, how))
    standin.fail = {}

    # a refresh that fails within a session: that statement errors (the old
    # credentials are kept, nothing is half-replaced); once the service is
    # back, the next statement refreshes and recovers
    standin.lifetime = 4
    standin.clear()
    failing = os.path.join(tmp, "failing")
    recovered = os.path.join(tmp, "recovered")
    for path in (failing, recovered):
        if os.path.exists(path):
            os.unlink(path)
    script = (ct.list_sql("md") +
              "\\! touch %s\n" % failing +
              "SELECT pg_sleep(3);\n" + ct.list_sql("md") +
              "\\! touch %s\n" % recovered +
              "SELECT pg_sleep(0.5);\n" + ct.list_sql("md"))

    def flip():
        while not os.path.exists(failing):
            time.sleep(0.05)
        standin.fail = {"creds": 503}
        while not os.path.exists(recovered):
            time.sleep(0.05)
        standin.fail = {}
    t = threading.Thread(target=flip, daemon=True)
    t.start()
    s = ct.session(script, timeout=60)
    t.join(10)
    texts.append(s.text())
    c.check(ct.listed(s) == 2 and len(s.errors) == 1 and "HTTP 503" in s.errors[0][1],
            "refresh fails mid-session: that statement errors, the next recovers (%s)"
            % (s.errors[:1],))

    # nothing listening
    ct.restart(AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:9")
    s = ct.session(ct.list_sql("md"))
    c.check(s.errors and s.errors[0][0] == "HV00N" and
            s.errors[0][1].startswith("could not get AWS credentials from the EC2 instance "
                                      "metadata service at http://127.0.0.1:9: "),
            "IMDS not listening: HV00N naming the address (%s)" % (s.errors[:1],))

    # turned off
    ct.restart(AWS_EC2_METADATA_DISABLED="true", **imds_env)
    standin.clear()
    s = ct.session(ct.list_sql("md"))
    c.check(s.errors and "no AWS credentials found" in s.errors[0][1] and not standin.events,
            "AWS_EC2_METADATA_DISABLED: IMDS never asked")


if __name__ == "__main__":
    main()
