#!/usr/bin/env python3
"""moto_sigv4.py - moto's server, checking S3 request signatures as AWS does.

Usage: INITIAL_NO_AUTH_ACTION_COUNT=3 python3 test/moto_sigv4.py -H 127.0.0.1 -p PORT

With INITIAL_NO_AUTH_ACTION_COUNT set, stock moto (5.2.1) verifies SigV4
after that many requests, but for S3 it rebuilds the canonical request from
the URL after the server has percent-decoded it: a key or query value that
needs encoding (ListObjectsV2 with prefix=tasks/, sent as prefix=tasks%2F)
is then canonicalised differently from what the client signed, and a
correctly signed request is refused, even one from boto3.  A client must
not be bent to that (AWS would then refuse it).

This launcher is moto's server with S3 signature checking replaced by one
that follows the AWS rules on the request as it arrived on the wire:

- the canonical URI is the raw request path, percent-decoded once and
  encoded again byte by byte (everything but A-Z a-z 0-9 - . _ ~ and "/"),
  without path normalization (S3 does none);
- the canonical query is every raw name=value pair, decoded once and
  encoded the same way ("/" too), sorted by name then value;
- the signed headers are the ones the Authorization header lists, values
  trimmed and inner runs of whitespace collapsed; "host" must be one;
- the payload line is the x-amz-content-sha256 header, which S3 requires,
  and which must be the SHA-256 of the body unless it says the payload is
  unsigned or streamed;
- the credential scope's date must be X-Amz-Date's and end in aws4_request;
- a request without an Authorization header is refused with 403
  AccessDenied, as AWS refuses anonymous access to a private bucket (stock
  moto fails with a 500), and one whose header is not SigV4 with 403
  SignatureDoesNotMatch.

Everything else is moto as it is: unknown access keys, wrong secrets and
session tokens are refused, IAM policies apply, and IAM and STS requests
keep moto's own checking.  Only 127.0.0.1 should ever be bound.
"""
import argparse
import hashlib
import hmac
import io
import os
import signal
import sys
import threading
from urllib.parse import quote, unquote_to_bytes, urlsplit

from werkzeug.serving import run_simple

from moto.iam import access_control
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.s3.exceptions import S3AccessDeniedError, S3SignatureDoesNotMatchError

ALGORITHM = "AWS4-HMAC-SHA256"
# payload hashes that do not cover the body as sent
UNHASHED_PAYLOADS = ("UNSIGNED-PAYLOAD", "STREAMING-")

# The request target and body exactly as the client sent them, for the
# thread serving the request (the server runs one thread per request).
_request = threading.local()


def remember_request(app):
    """WSGI middleware: keep the raw request target and body for the
    signature check (moto sees a form-encoded body only as parsed fields)."""

    def wsgi(environ, start_response):
        # werkzeug's development server passes the request line's target,
        # undecoded, as RAW_URI
        _request.target = environ.get("RAW_URI")
        stream = environ["wsgi.input"]
        length = environ.get("CONTENT_LENGTH")
        if length:
            body = stream.read(int(length))
        elif environ.get("wsgi.input_terminated"):
            body = stream.read()
        else:
            body = b""
        environ["wsgi.input"] = io.BytesIO(body)
        _request.body = body
        try:
            return app(environ, start_response)
        finally:
            _request.target = None
            _request.body = None

    return wsgi


def uri_encode(raw, safe):
    """Percent-decode once, then encode every byte but the unreserved ones
    (and those in safe), uppercase hex: the SigV4 UriEncode."""
    return quote(unquote_to_bytes(raw), safe=safe)


def canonical_query(query):
    pairs = []
    for item in query.split("&"):
        if item == "":
            continue
        name, _, value = item.partition("=")
        pairs.append((uri_encode(name, ""), uri_encode(value, "")))
    pairs.sort()
    return "&".join("%s=%s" % pair for pair in pairs)


def auth_fields(authorization):
    """{"Credential": ..., "SignedHeaders": ..., "Signature": ...} of an
    Authorization header, or None when it is not SigV4."""
    algorithm, _, rest = authorization.strip().partition(" ")
    if algorithm != ALGORITHM:
        return None
    fields = {}
    for part in rest.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep or name in fields:
            return None
        fields[name] = value
    if set(fields) != {"Credential", "SignedHeaders", "Signature"}:
        return None
    return fields


def header_values(headers, name):
    values = headers.getlist(name) if hasattr(headers, "getlist") else [headers.get(name)]
    values = [v for v in values if v is not None]
    if not values:
        return None
    return ",".join(" ".join(v.split()) for v in values)


def s3_signature(method, target, headers, body, secret):
    """The signature AWS S3 expects for this request, or None when the
    request cannot be correctly signed at all (it is then refused)."""
    fields = auth_fields(headers.get("Authorization", ""))
    if fields is None:
        return None
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        return None
    amz_date = headers.get("X-Amz-Date")
    if not amz_date or amz_date[:8] != scope[1]:
        return None

    signed = fields["SignedHeaders"].split(";")
    if "host" not in signed or signed != sorted(signed) or any(h != h.lower() for h in signed):
        return None
    canonical_headers = ""
    for name in signed:
        value = header_values(headers, name)
        if value is None:
            return None
        canonical_headers += "%s:%s\n" % (name, value)

    payload_hash = headers.get("X-Amz-Content-SHA256")
    if payload_hash is None:
        return None
    if not payload_hash.startswith(UNHASHED_PAYLOADS):
        if payload_hash != hashlib.sha256(body or b"").hexdigest():
            return None

    parts = urlsplit(target)
    canonical_request = "\n".join([
        method,
        uri_encode(parts.path or "/", "/"),
        canonical_query(parts.query),
        canonical_headers,
        fields["SignedHeaders"],
        payload_hash,
    ])
    string_to_sign = "\n".join([
        ALGORITHM,
        amz_date,
        "/".join(scope[1:]),
        hashlib.sha256(canonical_request.encode("utf-8")).hexdigest(),
    ])
    key = ("AWS4" + secret).encode("utf-8")
    for part in scope[1:]:
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


_stock_s3_request_init = access_control.S3IAMRequest.__init__


def s3_request_init(self, *args, **kwargs):
    """Replaces S3IAMRequest.__init__, which fails on a request without a
    usable Authorization header."""
    headers = kwargs["headers"]
    if "Authorization" not in headers:
        raise S3AccessDeniedError()
    if auth_fields(headers["Authorization"]) is None:
        raise S3SignatureDoesNotMatchError()
    _stock_s3_request_init(self, *args, **kwargs)


def check_s3_signature(self):
    """Replaces S3IAMRequest.check_signature."""
    target = getattr(_request, "target", None)
    fields = auth_fields(self._headers.get("Authorization", ""))
    if target is None or fields is None:
        # no raw request to check against: refuse rather than guess
        self._raise_signature_does_not_match()
    secret = self._access_key.create_credentials().secret_key
    want = s3_signature(self._method, target, self._headers, _request.body, secret)
    if want is None or not hmac.compare_digest(want, fields["Signature"]):
        self._raise_signature_does_not_match()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args(argv)
    if "INITIAL_NO_AUTH_ACTION_COUNT" not in os.environ:
        sys.exit("moto_sigv4.py: set INITIAL_NO_AUTH_ACTION_COUNT, or moto checks no signature at all")
    os.environ.setdefault("MOTO_PORT", str(args.port))

    access_control.S3IAMRequest.__init__ = s3_request_init
    access_control.S3IAMRequest.check_signature = check_s3_signature

    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, remember_request(app), threaded=True)


if __name__ == "__main__":
    main()
