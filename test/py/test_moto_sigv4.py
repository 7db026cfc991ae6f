#!/usr/bin/env python3
"""test_moto_sigv4.py - the test S3 server checks signatures as AWS does.

Every other test trusts that the S3 server of the harness (test/moto_sigv4.py)
refuses what AWS would refuse and accepts what AWS would accept.  This one
checks that directly, with requests signed by botocore (an implementation
independent of oq_fdw's):
- correctly signed requests whose key or query needs percent-encoding are
  accepted (stock moto refuses them);
- a request changed after signing (path, query, a signed header, the body)
  is refused, and so are a wrong secret, an unknown key, a missing
  x-amz-content-sha256, a scope whose date is not X-Amz-Date's, an unsigned
  request and a SigV2 one (403, not moto's 500).
"""
import hashlib
import os
import urllib.error
import urllib.request
from urllib.parse import quote

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from oqtest import Checks, s3

ENDPOINT = os.environ["OQ_TEST_ENDPOINT"]
REGION = os.environ.get("OQ_TEST_REGION", "us-east-1")
KEY_ID = os.environ["OQ_TEST_ACCESS_KEY_ID"]
SECRET = os.environ["OQ_TEST_SECRET_ACCESS_KEY"]
BUCKET = "oq-regress"
PREFIX = "moto-sigv4/"

c = Checks()
c.check(os.environ.get("OQ_TEST_SIGV4_VERIFY") == "1", "the harness says signatures are verified")


def signed(method, path, query="", body=b"", key_id=KEY_ID, secret=SECRET, headers=None):
    """A request signed by botocore: (url, headers)."""
    url = ENDPOINT + path + ("?" + query if query else "")
    req = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    req.headers["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
    S3SigV4Auth(Credentials(key_id, secret), "s3", REGION).add_auth(req)
    return url, dict(req.headers.items())


def send(method, url, headers, body=None):
    """The HTTP status of a request sent exactly as given."""
    r = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(r, timeout=30) as resp:
            resp.read()
            return resp.status
    except urllib.error.HTTPError as e:
        e.read()
        return e.code


def key_path(key):
    return "/%s/%s" % (BUCKET, quote(key, safe="/~"))


client = s3()
# keys that need encoding, through boto3 (the reference client)
keys = [PREFIX + "plain.json", PREFIX + "sp ace/+plus=eq&amp", PREFIX + "caf\u00e9/\u6771\u4eac%25~*'()!$,;:@"]
for k in keys:
    client.put_object(Bucket=BUCKET, Key=k, Body=b"x")
    c.check(client.get_object(Bucket=BUCKET, Key=k)["Body"].read() == b"x", "boto3 put and get %r" % k)
listed = [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX + "caf\u00e9/").get("Contents", [])]
c.check(listed == [keys[2]], "boto3 lists with a prefix that needs encoding: %r" % listed)
listed = [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX,
                                                    StartAfter=keys[0]).get("Contents", [])]
c.check(listed == sorted(k for k in keys if k > keys[0]), "boto3 lists with start-after: %r" % listed)

# the same requests by hand: accepted as signed, refused when changed
path = key_path(keys[1])
url, h = signed("GET", path)
c.check(send("GET", url, h) == 200, "a signed GET of a key that needs encoding")
c.check(send("GET", ENDPOINT + key_path(keys[0]), h) == 403, "the same signature on another key is refused")

query = "list-type=2&prefix=" + quote(PREFIX + "sp ace/", safe="")
url, h = signed("GET", "/" + BUCKET, query)
c.check(send("GET", url, h) == 200, "a signed listing with an encoded prefix")
c.check(send("GET", url.replace("sp%20ace", "caf%C3%A9"), h) == 403, "a changed query is refused")
c.check(send("GET", url + "&max-keys=1", h) == 403, "an added query parameter is refused")
c.check(send("GET", url.replace("%2F", "/"), h) == 200,
        "the same query with '/' left unencoded is the same canonical query")

url, h = signed("GET", path, headers={"Range": "bytes=0-0"})
h2 = dict(h)
h2["Range"] = "bytes=0-1"
c.check(send("GET", url, h2) == 403, "a changed signed header is refused")

body = b'{"ok": true}'
url, h = signed("PUT", key_path(PREFIX + "put.json"), body=body)
c.check(send("PUT", url, h, b'{"ok": false}') == 403, "a changed body is refused")
c.check(send("PUT", url, h, body) == 200, "the signed body is accepted")

url, h = signed("GET", path, secret=SECRET + "x")
c.check(send("GET", url, h) == 403, "a wrong secret is refused")
url, h = signed("GET", path, key_id="AKIAIOSFODNN7EXAMPLE")
c.check(send("GET", url, h) == 403, "an unknown access key is refused")

url, h = signed("GET", path)
h2 = {k: v for k, v in h.items() if k.lower() != "x-amz-content-sha256"}
c.check(send("GET", url, h2) == 403, "no x-amz-content-sha256 is refused")
h2 = dict(h)
h2["X-Amz-Date"] = "20200101T000000Z"
c.check(send("GET", url, h2) == 403, "an X-Amz-Date other than the scope's day is refused")

c.check(send("GET", ENDPOINT + path, {}) == 403, "an unsigned request is refused with 403")
c.check(send("GET", ENDPOINT + path, {"Authorization": "AWS AKIAIOSFODNN7EXAMPLE:c2lnbmF0dXJl"}) == 403,
        "a SigV2 Authorization header is refused with 403")

for k in keys + [PREFIX + "put.json"]:
    client.delete_object(Bucket=BUCKET, Key=k)
c.done()
