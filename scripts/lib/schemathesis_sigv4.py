"""Schemathesis hooks for the Rill API: sign every generated request with AWS Signature Version 4.

The API uses IAM authorization (`execute-api`), so an unsigned request never reaches a function. A
SigV4 signature covers the method, the path, the query string, the signed headers and a hash of the
body, so it can only be computed once the request is final. Schemathesis builds each request with
`requests`, and a `requests` auth object runs exactly then: after the body is serialized and the
headers are set, just before the bytes are sent. `schemathesis.auth.set_from_requests` registers such
an object as the run's explicit authentication, which also lets the `ignored_auth` check probe the
API with the signature removed (it must get a 403).

The signing itself is botocore's `SigV4Auth`, the signer of the AWS SDK for Python, so the local
gateway's verifier is exercised against the reference implementation rather than a copy of its own.

Load it with `SCHEMATHESIS_HOOKS=schemathesis_sigv4` and this directory on `PYTHONPATH` (or through
`schemathesis_state`, which imports it). Credentials
come from `RILL_SIGV4_ACCESS_KEY_ID`, `RILL_SIGV4_SECRET_ACCESS_KEY` and `RILL_SIGV4_REGION`, defaulting
to the local gateway's documented credentials.
"""

from __future__ import annotations

import os
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit

import requests
import schemathesis
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

# The local gateway's documented credentials (README, `rill-gateway` banner). Not a secret: they only
# open the local gateway.
LOCAL_ACCESS_KEY_ID = "AKIDLOCALRILL0000000"
LOCAL_SECRET_ACCESS_KEY = "rill-local-secret-key-do-not-use-in-aws"
LOCAL_REGION = "us-east-1"
SERVICE = "execute-api"

# Headers the signer sets; stale values from an earlier signing of the same request are dropped first.
_SIGNING_HEADERS = ("authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256")


class SigV4RequestsAuth(requests.auth.AuthBase):
    """Signs a prepared `requests` request for `execute-api` with botocore's SigV4 signer."""

    def __init__(self, access_key_id: str, secret_access_key: str, region: str) -> None:
        self._credentials = Credentials(access_key_id, secret_access_key)
        self._region = region

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.url = _canonical_query_url(request.url)
        body = request.body
        if body is None:
            body = b""
        elif isinstance(body, str):
            body = body.encode("utf-8")
        elif not isinstance(body, (bytes, bytearray)):
            # A streamed body (a generator or a file) cannot be hashed without consuming it. The API
            # takes JSON bodies only, which requests always prepares as bytes.
            raise TypeError(f"cannot sign a streamed request body ({type(body).__name__})")
        headers = {
            name: value for name, value in request.headers.items() if name.lower() not in _SIGNING_HEADERS
        }
        signable = AWSRequest(method=request.method, url=request.url, data=bytes(body), headers=headers)
        SigV4Auth(self._credentials, SERVICE, self._region).add_auth(signable)
        for name in list(request.headers):
            if name.lower() in _SIGNING_HEADERS:
                del request.headers[name]
        for name, value in signable.headers.items():
            request.headers[name] = value
        return request


def _canonical_query_url(url: str) -> str:
    """The URL with its query encoded as SigV4 canonicalises it: each name and value percent-encoded
    except for unreserved characters, spaces as `%20`.

    botocore signs the query exactly as it appears in the URL, while API Gateway (and the local
    gateway) decode and re-encode it. `requests` writes spaces as `+` and some generated queries carry
    characters such as `*` or `'` unencoded, so the two would disagree. Sending the canonical form
    makes them agree without changing what the query means (`+` in a query `requests` built is always
    a space; a literal plus arrives as `%2B`).
    """
    parts = urlsplit(url)
    if not parts.query:
        return url
    pieces = []
    for piece in parts.query.split("&"):
        name, separator, value = piece.partition("=")
        encoded = quote(unquote_plus(name), safe="-_.~")
        if separator:
            encoded += "=" + quote(unquote_plus(value), safe="-_.~")
        pieces.append(encoded)
    return urlunsplit(parts._replace(query="&".join(pieces)))


#: The signer for the run's credentials; other hooks use it for requests of their own.
AUTH = SigV4RequestsAuth(
    os.environ.get("RILL_SIGV4_ACCESS_KEY_ID", LOCAL_ACCESS_KEY_ID),
    os.environ.get("RILL_SIGV4_SECRET_ACCESS_KEY", LOCAL_SECRET_ACCESS_KEY),
    os.environ.get("RILL_SIGV4_REGION", LOCAL_REGION),
)

schemathesis.auth.set_from_requests(AUTH)
