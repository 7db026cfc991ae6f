#!/usr/bin/env python3
"""metadata_standin.py - a loopback stand-in for the EC2 instance metadata
service (IMDSv2) and the container credentials endpoint, for tests.

It serves, on 127.0.0.1 and a random port:

  PUT  /latest/api/token                            IMDSv2 session token; needs
       X-aws-ec2-metadata-token-ttl-seconds (1-21600), else 400
  GET  /latest/meta-data/iam/security-credentials/       the role name
  GET  /latest/meta-data/iam/security-credentials/ROLE   its credentials (JSON)
       both need a valid X-aws-ec2-metadata-token, else 401 (no IMDSv1)
  GET  CONTAINER_PATH                               credentials (JSON, no Code);
       needs "Authorization: AUTH_TOKEN" when auth_token is set, else 401

Credentials come from a callable (tests hand out real temporary credentials
from moto's STS, so that they verify against moto's S3) and are announced
as expiring `lifetime` seconds after they are handed out.  Failure modes
(`fail`) make a step answer with an HTTP status, or bad JSON ("badjson").
Every request is recorded in `events` (time, kind, detail), every
credential handed out in `issued` (time, expiration, access key id), so a
test can tell when credentials were fetched and which were used; every
secret it hands out stays in `handed_out` (for leak checks).

Usage in a test:

    standin = MetadataStandin(get_credentials, lifetime=20)
    standin.start()
    ... standin.url, standin.events, standin.issued ...
    standin.fail["creds"] = 500
    standin.stop()

Run alone (python3 test/metadata_standin.py) it serves fixed fake
credentials until interrupted, printing its URL.
"""
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

IMDS_TOKEN_PATH = "/latest/api/token"
IMDS_CREDS_PATH = "/latest/meta-data/iam/security-credentials/"


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class MetadataStandin:
    def __init__(self, get_credentials, lifetime=3600, role="oq-standin-role",
                 container_path="/v2/credentials/oq-test", auth_token=None):
        self.get_credentials = get_credentials
        self.lifetime = lifetime
        self.role = role
        self.container_path = container_path
        self.auth_token = auth_token
        # step -> HTTP status or "badjson"; steps: token, role, creds, container
        self.fail = {}
        self.events = []
        self.issued = []
        # every secret handed out (credentials, IMDS tokens), never cleared:
        # for tests that check none of them leaked anywhere
        self.handed_out = []
        self.imds_tokens = {}   # token -> expiry (time.time())
        self.lock = threading.Lock()
        self.server = None
        self.thread = None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def start(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_PUT(self):
                standin.handle(self, "PUT")

            def do_GET(self):
                standin.handle(self, "GET")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    # -- bookkeeping --

    def record(self, kind, detail=""):
        with self.lock:
            self.events.append((time.time(), kind, detail))

    def count(self, kind):
        with self.lock:
            return sum(1 for e in self.events if e[1] == kind)

    def clear(self):
        with self.lock:
            self.events.clear()
            self.issued.clear()

    # -- the protocol --

    def handle(self, h, method):
        length = int(h.headers.get("Content-Length") or 0)
        if length:
            h.rfile.read(length)
        path = h.path
        if method == "PUT" and path == IMDS_TOKEN_PATH:
            return self.imds_token(h)
        if method == "GET" and path.startswith(IMDS_CREDS_PATH):
            return self.imds_credentials(h, path[len(IMDS_CREDS_PATH):])
        if method == "GET" and path == self.container_path:
            return self.container(h)
        self.record("unknown", "%s %s" % (method, path))
        self.reply(h, 404, "not found")

    def reply(self, h, status, body, content_type="text/plain"):
        data = body.encode()
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def failing(self, h, step):
        how = self.fail.get(step)
        if isinstance(how, int):
            self.record(step + "-failed", str(how))
            self.reply(h, how, "stand-in failure")
            return True
        return False

    def imds_token(self, h):
        ttl = h.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
        if ttl is None or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            self.record("token-refused", "ttl %r" % ttl)
            return self.reply(h, 400, "missing or invalid ttl")
        if self.failing(h, "token"):
            return None
        token = "imds-" + secrets.token_urlsafe(24)
        with self.lock:
            self.imds_tokens[token] = time.time() + int(ttl)
        self.record("token", token)
        with self.lock:
            self.handed_out.append(("IMDS token", token))
        return self.reply(h, 200, token)

    def imds_token_ok(self, h):
        token = h.headers.get("X-aws-ec2-metadata-token")
        with self.lock:
            return token is not None and self.imds_tokens.get(token, 0) > time.time()

    def imds_credentials(self, h, rest):
        if not self.imds_token_ok(h):
            self.record("unauthorized", rest)
            return self.reply(h, 401, "")
        if rest == "":
            if self.failing(h, "role"):
                return None
            self.record("role")
            return self.reply(h, 200, self.role)
        if rest != self.role:
            self.record("unknown-role", rest)
            return self.reply(h, 404, "")
        if self.failing(h, "creds"):
            return None
        return self.credentials(h, "creds", code=True)

    def container(self, h):
        if self.auth_token is not None and h.headers.get("Authorization") != self.auth_token:
            self.record("unauthorized", "container")
            return self.reply(h, 401, json.dumps({"code": "Unauthorized"}),
                              "application/json")
        if self.failing(h, "container"):
            return None
        return self.credentials(h, "container", code=False)

    def credentials(self, h, kind, code):
        if self.fail.get(kind) == "badjson":
            self.record(kind + "-failed", "badjson")
            return self.reply(h, 200, '{"AccessKeyId": "ASIA", oops', "application/json")
        now = time.time()
        expires = int(now) + self.lifetime
        creds = self.get_credentials()
        doc = {
            "AccessKeyId": creds["AccessKeyId"],
            "SecretAccessKey": creds["SecretAccessKey"],
            "Token": creds.get("SessionToken") or creds.get("Token"),
            "Expiration": rfc3339(expires),
        }
        if code:
            doc = dict(Code="Success", LastUpdated=rfc3339(now), Type="AWS-HMAC", **doc)
        else:
            doc["RoleArn"] = "arn:aws:iam::123456789012:role/" + self.role
        with self.lock:
            self.issued.append({"time": now, "expires": expires,
                                "access_key_id": creds["AccessKeyId"],
                                "secrets": [creds["SecretAccessKey"], doc["Token"]]})
            self.handed_out += [("secret access key", creds["SecretAccessKey"]),
                                ("session token", doc["Token"])]
        self.record(kind, creds["AccessKeyId"])
        return self.reply(h, 200, json.dumps(doc, indent=2), "application/json")


def main():
    standin = MetadataStandin(lambda: {"AccessKeyId": "ASIASTANDINEXAMPLE",
                                       "SecretAccessKey": "standin-secret",
                                       "SessionToken": "standin-token"},
                              auth_token="standin-auth")
    standin.start()
    print("IMDS: %s  container: %s%s (Authorization: standin-auth)"
          % (standin.url, standin.url, standin.container_path), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        standin.stop()


if __name__ == "__main__":
    main()
