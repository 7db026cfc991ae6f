#!/usr/bin/env python3
"""s3proxy.py - a loopback S3 proxy that injects races and faults, for tests.

It sits between oq_fdw and moto.  Every request is forwarded unchanged:
method, raw path and query, every header (Host included) and the body, so
the SigV4 signature the client computed still verifies upstream.  Rules
armed through the control API change what happens to matching requests:

    {"method": "PUT", "key": "^tasks/", "times": 1,
     "mutate": {"tags": {"reviewer": "bob"}}}   # another writer, just before
    {"method": "PUT", "key": "^tasks/", "times": 1,
     "respond": {"status": 500}}                # forward, then answer 500
    {"method": "PUT", "key": "^tags/", "times": -1, "forward": false,
     "respond": {"status": 503, "code": "SlowDown"}}  # never reaches S3

A rule is a dict:

    method    HTTP method to match (default: any)
    key       regular expression searched in the object key (decoded, without
              the bucket; "" for bucket-level requests such as listings);
              default: any
    query     regular expression searched in the raw query string (a listing's
              "prefix=tasks%2F3", "prefix=tags%2F..."); default: any
    bucket    exact bucket name to match (default: any)
    times     how many requests it applies to; -1: every one (default 1)
    delay     seconds to sleep before anything else, forwarding included: a
              stall before the request reaches S3 (with forward, it still
              reaches S3 afterwards, even if the client gave up meanwhile)
    answer_delay
              seconds to sleep after forwarding, before answering: the request
              took effect, its answer is late (a client with a shorter timeout
              sees a timeout of unknown outcome)
    mutate    change the object before forwarding, as another writer would
              (see Mutator.apply); done with boto3 straight to upstream, so
              rules never see it
    forward   send the request upstream (default true)
    respond   answer with this instead of upstream's answer:
              {"status": 500, "code": "InternalError", "message": "...",
               "body": "raw body, overrides code/message"}
    reset     true: close the connection without answering (after forwarding,
              when forward is true) -- a connection reset
    truncate  N: send the status, the headers with the full Content-Length,
              then only the first N bytes of the body, and close the
              connection (a body cut short; an empty body has nothing to cut)
    garbage   replace the body of the answer (upstream's or respond's), keeping
              its status and headers (Content-Length follows the new body):
              "xml" (a malformed S3 listing), "json" (a malformed task
              object), "binary" (NULs and invalid UTF-8), or any other string,
              sent as the body itself
    etag      "opaque": the answer's ETag header becomes a hex string that is
              not the MD5 of the body (a deterministic function of the real
              ETag), as S3 sends for objects encrypted with SSE-KMS or SSE-C

The fields are independent: "delay" + "respond" stalls and then fails,
"respond" + "truncate" cuts an error body short, "garbage" + "truncate"
cuts the garbage, and so on.  Rules are tried in the order they were armed;
the first that matches and has uses left applies.  Every request is logged
(method, bucket, key, query, status, sequence numbers at arrival and at
completion, the rule that applied) so a test can check the order in which a
client sent things.  A client that hung up before its answer was sent is
logged with "client_gone": true.  wait_idle() waits until no request is
being handled, so a test can look at S3 after every delayed request landed.

Control API: plain HTTP + JSON on a second port (or call the S3Proxy methods
directly when the proxy runs in the test's own process):

    POST   /rules   a rule, or a list of rules -> {"ids": [...]}
    GET    /rules   armed rules with their remaining uses and hits
    DELETE /rules   disarm everything
    GET    /log     the request log
    DELETE /log     clear the log

Extending it: a new behaviour is a new rule field, handled in
Handler._apply_rule (or Handler._answer for what changes the answer); keep
each one independent of the others.  A natural next one: "slow_body"
(trickle the body).

S3Proxy(upstream, capture_headers=("authorization",)) also records those
request headers in each log entry (under "headers"), for tests that must
know what was sent (the secrets test looks for signatures in the server
log); never print them.

Run standalone:

    test/s3proxy.py --upstream http://127.0.0.1:PORT [--port 0] [--control-port 0]

prints "proxy http://127.0.0.1:P control http://127.0.0.1:C" once listening.
Mutations need the upstream credentials: OQ_TEST_ACCESS_KEY_ID,
OQ_TEST_SECRET_ACCESS_KEY and OQ_TEST_REGION, as test/run exports them.
Only ever binds 127.0.0.1.

Limits: bodies must come with Content-Length (no chunked uploads); mutations
re-serialize the object with Python's json, which keeps integers exact but
turns long decimals into floats (do not mutate precise-number fixtures).
"""
import argparse
import hashlib
import http.client
import http.server
import itertools
import json
import os
import re
import socket
import struct
import sys
import threading
import time
import urllib.parse

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "upgrade"}


def s3_error_body(code, message):
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<Error><Code>%s</Code><Message>%s</Message><RequestId>s3proxy</RequestId></Error>"
        % (code, message)
    ).encode()


def opaque_etag(etag):
    """An ETag that is not the MD5 of the object (SSE-KMS, SSE-C): 32 hex
    digits, derived from the real one so that the same object keeps it."""
    return '"%s"' % hashlib.md5(b"sse-kms:" + etag.strip('"').encode()).hexdigest()


# Bodies for the "garbage" field
GARBAGE = {
    # a listing that breaks off mid-element, with an undefined entity and
    # mismatched tags
    "xml": (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        b"<Name>x</Name><IsTruncated>true</IsTruncated><Contents><Key>tasks/0/&bogus;</Size></Contents"
    ),
    # a task object that breaks off inside a string
    "json": b'{"id": "00000000-0000-4000-8000-000000000000", "status": "pend',
    "binary": b"\x00\xff\xfe<\x00{\"\x80\x81 garbage \xc3\x28\x00",
}


DEFAULT_CODES = {
    409: "ConditionalRequestConflict",
    412: "PreconditionFailed",
    500: "InternalError",
    503: "SlowDown",
}


class Mutator:
    """Changes task objects the way another writer (a worker, a producer)
    would: read, change, write back unconditionally, straight to upstream."""

    def __init__(self, upstream, region=None, key_id=None, secret=None):
        self.upstream = upstream
        self.region = region or os.environ.get("OQ_TEST_REGION", "us-east-1")
        self.key_id = key_id or os.environ.get("OQ_TEST_ACCESS_KEY_ID")
        self.secret = secret or os.environ.get("OQ_TEST_SECRET_ACCESS_KEY")
        self._client = None
        self._lock = threading.Lock()

    def client(self):
        with self._lock:
            if self._client is None:
                import boto3
                from botocore.config import Config

                self._client = boto3.client(
                    "s3",
                    endpoint_url=self.upstream,
                    region_name=self.region,
                    aws_access_key_id=self.key_id,
                    aws_secret_access_key=self.secret,
                    config=Config(s3={"addressing_style": "path"}),
                )
            return self._client

    def apply(self, bucket, key, mutation):
        """mutation keys, applied in this order:
        set    {field: value}: top-level fields to set
        tags   {key: value}: tags to merge in (null removes one)
        touch  true: increment the unknown field "proxy_touch", so every
               application changes the object (and its ETag)
        delete true: delete the object instead
        """
        s3 = self.client()
        if mutation.get("delete"):
            s3.delete_object(Bucket=bucket, Key=key)
            return
        obj = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        obj.update(mutation.get("set", {}))
        if "tags" in mutation:
            tags = dict(obj.get("tags") or {})
            for k, v in mutation["tags"].items():
                if v is None:
                    tags.pop(k, None)
                else:
                    tags[k] = v
            obj["tags"] = tags
        if mutation.get("touch"):
            obj["proxy_touch"] = obj.get("proxy_touch", 0) + 1
        body = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")


class Rule:
    _ids = itertools.count(1)

    FIELDS = {"method", "key", "query", "bucket", "times", "delay", "answer_delay", "mutate",
              "forward", "respond", "reset", "truncate", "garbage", "etag"}

    def __init__(self, spec):
        unknown = set(spec) - self.FIELDS
        if unknown:
            raise ValueError("unknown rule fields: %s" % ", ".join(sorted(unknown)))
        self.id = next(self._ids)
        self.spec = dict(spec)
        self.method = spec.get("method")
        self.key_re = re.compile(spec["key"]) if spec.get("key") is not None else None
        self.query_re = re.compile(spec["query"]) if spec.get("query") is not None else None
        if spec.get("truncate") is not None and (not isinstance(spec["truncate"], int) or spec["truncate"] < 0):
            raise ValueError("truncate: a number of bytes >= 0")
        if spec.get("garbage") is not None and not isinstance(spec["garbage"], str):
            raise ValueError('garbage: "xml", "json", "binary" or a body')
        if spec.get("etag") not in (None, "opaque"):
            raise ValueError('etag: "opaque"')
        self.bucket = spec.get("bucket")
        self.remaining = spec.get("times", 1)
        self.hits = 0

    def matches(self, method, bucket, key, query=""):
        if self.remaining == 0:
            return False
        if self.method and self.method != method:
            return False
        if self.bucket and self.bucket != bucket:
            return False
        if self.key_re and not self.key_re.search(key):
            return False
        if self.query_re and not self.query_re.search(query):
            return False
        return True

    def describe(self):
        return dict(self.spec, id=self.id, remaining=self.remaining, hits=self.hits)


class S3Proxy:
    """The proxy and its control API, serving on background threads."""

    def __init__(self, upstream, port=0, control_port=0, mutator=None, capture_headers=()):
        u = urllib.parse.urlsplit(upstream)
        if u.scheme != "http" or not u.hostname:
            raise ValueError("upstream must be http://host:port")
        self.upstream = upstream
        self.upstream_host = u.hostname
        self.upstream_port = u.port or 80
        self.mutator = mutator or Mutator(upstream)
        self._lock = threading.Lock()
        self._rules = []
        self._log = []
        self._seq = itertools.count(1)
        self._busy = 0
        self._idle = threading.Condition(self._lock)
        self.capture_headers = {h.lower() for h in capture_headers}
        self._server = _ThreadingServer(("127.0.0.1", port), _ProxyHandler, self)
        self._control = _ThreadingServer(("127.0.0.1", control_port), _ControlHandler, self)
        self._threads = []

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self._server.server_address[1]

    @property
    def control_endpoint(self):
        return "http://127.0.0.1:%d" % self._control.server_address[1]

    def start(self):
        for srv in (self._server, self._control):
            t = threading.Thread(target=srv.serve_forever, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self):
        for srv in (self._server, self._control):
            srv.shutdown()
            srv.server_close()

    # --- rules and log, for in-process callers and the control API

    def arm(self, *specs):
        rules = [Rule(s) for s in specs]
        with self._lock:
            self._rules.extend(rules)
        return [r.id for r in rules]

    def disarm(self):
        with self._lock:
            self._rules = []

    def rules(self):
        with self._lock:
            return [r.describe() for r in self._rules]

    def log(self):
        with self._lock:
            return [dict(e) for e in self._log]

    def clear_log(self):
        with self._lock:
            self._log = []

    def settled_log(self, timeout=30):
        """The request log once every request has been answered and logged
        (a request is logged just after its answer, which the client may
        have seen already)."""
        self.wait_idle(timeout)
        return self.log()

    def wait_idle(self, timeout=30):
        """Wait until no request is being handled (delayed ones included);
        returns False if some still were after timeout seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._busy > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
            return True

    # --- used by the handler

    def take_rule(self, method, bucket, key, query=""):
        with self._lock:
            for r in self._rules:
                if r.matches(method, bucket, key, query):
                    if r.remaining > 0:
                        r.remaining -= 1
                    r.hits += 1
                    return r
        return None

    def next_seq(self):
        with self._lock:
            return next(self._seq)

    def record(self, entry):
        with self._lock:
            self._log.append(entry)

    def busy(self, delta):
        with self._lock:
            self._busy += delta
            if self._busy == 0:
                self._idle.notify_all()


class _ThreadingServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, handler, proxy):
        self.proxy = proxy
        super().__init__(addr, handler)

    def handle_error(self, request, client_address):
        # a client that gave up (a timeout, a cancel) is part of the tests
        if not isinstance(sys.exc_info()[1], (ConnectionError, socket.timeout)):
            super().handle_error(request, client_address)


def split_path(raw_path):
    """Path-style /bucket/key?query -> (bucket, decoded key, query)."""
    path, _, query = raw_path.partition("?")
    parts = path.lstrip("/").split("/", 1)
    bucket = urllib.parse.unquote(parts[0])
    key = urllib.parse.unquote(parts[1]) if len(parts) > 1 else ""
    return bucket, key, query


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep test output clean
        pass

    def do_GET(self):
        self._handle()

    do_PUT = do_DELETE = do_HEAD = do_POST = do_GET

    def _handle(self):
        proxy = self.server.proxy
        proxy.busy(1)
        try:
            self._handle_one(proxy)
        finally:
            proxy.busy(-1)

    def _handle_one(self, proxy):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        bucket, key, query = split_path(self.path)
        entry = {
            "method": self.command,
            "bucket": bucket,
            "key": key,
            "query": query,
            "arrived": proxy.next_seq(),
        }
        if proxy.capture_headers:
            entry["headers"] = {n.lower(): v for n, v in self.headers.items()
                                if n.lower() in proxy.capture_headers}
        rule = proxy.take_rule(self.command, bucket, key, query)
        if rule is not None:
            entry["rule"] = rule.id
        self._entry = entry
        try:
            self._apply_rule(rule, bucket, key, body, entry)
        except (ConnectionError, socket.timeout):
            # the client hung up (it timed out, or was cancelled)
            entry["client_gone"] = True
            self.close_connection = True
        finally:
            self._complete()
            proxy.record(entry)

    def _complete(self):
        # numbered before the client can see the answer, so that anything
        # it sends in reaction arrives with a later number
        if "completed" not in self._entry:
            self._entry["completed"] = self.server.proxy.next_seq()

    def _apply_rule(self, rule, bucket, key, body, entry):
        spec = rule.spec if rule else {}
        if spec.get("delay"):
            time.sleep(spec["delay"])
        if spec.get("mutate"):
            self.server.proxy.mutator.apply(bucket, key, spec["mutate"])
        upstream = None
        if spec.get("forward", True):
            upstream = self._forward(body)
            entry["upstream_status"] = upstream[0]
        if spec.get("answer_delay"):
            time.sleep(spec["answer_delay"])
        if spec.get("reset"):
            entry["status"] = "reset"
            self._reset()
            return
        if spec.get("respond"):
            r = spec["respond"]
            status = r.get("status", 500)
            if "body" in r:
                data = r["body"].encode()
            else:
                data = s3_error_body(
                    r.get("code", DEFAULT_CODES.get(status, "InternalError")),
                    r.get("message", "injected by s3proxy"),
                )
            headers = [("Content-Type", "application/xml")]
            entry["status"] = status
            self._answer(status, headers, data, spec)
            return
        status, headers, data = upstream
        entry["status"] = status
        self._answer(status, headers, data, spec)

    def _forward(self, body):
        proxy = self.server.proxy
        conn = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=60)
        try:
            # the raw path and every header as received: the signature
            # covers Host, the path and the query exactly as sent
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in HOP_BY_HOP:
                    conn.putheader(name, value)
            conn.endheaders(body if body else None)
            resp = conn.getresponse()
            data = resp.read()
            headers = [(n, v) for n, v in resp.getheaders() if n.lower() not in HOP_BY_HOP]
            return resp.status, headers, data
        finally:
            conn.close()

    def _answer(self, status, headers, data, spec=None):
        spec = spec or {}
        if spec.get("garbage") is not None:
            g = spec["garbage"]
            data = GARBAGE[g] if g in GARBAGE else g.encode()
            self._entry["garbage"] = True
        if spec.get("etag") == "opaque":
            headers = [(n, opaque_etag(v) if n.lower() == "etag" else v) for n, v in headers]
            self._entry["opaque_etag"] = True
        cut = spec.get("truncate")
        self._complete()
        self.send_response_only(status)
        has_length = False
        for name, value in headers:
            if name.lower() == "content-length":
                has_length = True
                # a HEAD answer states the object's length but has no body
                if self.command != "HEAD":
                    value = str(len(data))
            self.send_header(name, value)
        if not has_length:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD" and data:
            if cut is not None and cut < len(data):
                # the full length announced, part of the body sent: the
                # client sees the connection close early
                self.wfile.write(data[:cut])
                self.wfile.flush()
                self._entry["truncated"] = cut
                self.close_connection = True
                return
            self.wfile.write(data)

    def _reset(self):
        self._complete()
        # SO_LINGER 0: close() sends RST, as a crashed server or middlebox would
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True


class _ControlHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _reply(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        proxy = self.server.proxy
        if self.path == "/rules":
            self._reply(200, proxy.rules())
        elif self.path == "/log":
            self._reply(200, proxy.log())
        else:
            self._reply(404, {"error": "no such resource"})

    def do_POST(self):
        proxy = self.server.proxy
        if self.path != "/rules":
            self._reply(404, {"error": "no such resource"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            specs = json.loads(self.rfile.read(length) or b"null")
            if isinstance(specs, dict):
                specs = [specs]
            self._reply(200, {"ids": proxy.arm(*specs)})
        except (ValueError, TypeError, re.error) as e:
            self._reply(400, {"error": str(e)})

    def do_DELETE(self):
        proxy = self.server.proxy
        if self.path == "/rules":
            proxy.disarm()
        elif self.path == "/log":
            proxy.clear_log()
        else:
            self._reply(404, {"error": "no such resource"})
            return
        self._reply(200, {})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--upstream", default=os.environ.get("OQ_TEST_ENDPOINT"), required=False)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--control-port", type=int, default=0)
    args = ap.parse_args()
    if not args.upstream:
        ap.error("--upstream (or OQ_TEST_ENDPOINT) is required")
    proxy = S3Proxy(args.upstream, args.port, args.control_port).start()
    print("proxy %s control %s" % (proxy.endpoint, proxy.control_endpoint), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        proxy.stop()


if __name__ == "__main__":
    sys.exit(main())
