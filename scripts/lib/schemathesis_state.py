"""Schemathesis hooks for the Rill API: SigV4 signing, and valid data where validity is server state.

A request can match every schema in the API definition and still be one the API must refuse, because
what makes it valid is not its shape but the state of the server:

- a pagination `cursor` is valid only if the API issued it, for the same listing and filters (it is
  signed; the definition can give its alphabet and length, never its signature);
- `POST /orders` needs a `userId` that names an existing user;
- `If-Match` must name the resource's current version;
- an `Idempotency-Key` already used with another body is refused (`422`), by design.

Schemathesis generates such values at random, so its `positive_data_acceptance` check would see
documented `400`/`412`/`422` answers to requests it believes valid. Rather than widen what that check
accepts, the `before_call` hook below makes every *positive* case valid in those respects just before
it is sent, by asking the API: it puts a cursor the listing really issued (or none), the id of a user
that exists, the resource's current `ETag`, and a fresh idempotency key. Negative cases are sent as
generated, so every way of getting these values wrong is still tested (and answered `4xx`).

On `GET /exports/orders`, `to` must also be later than `from` (two parameters related to each other,
which JSON Schema cannot say); a positive case with the two in the wrong order has them swapped.

Load it with `SCHEMATHESIS_HOOKS=schemathesis_state` and this directory on `PYTHONPATH`; it registers
the SigV4 signing of `schemathesis_sigv4` too.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import requests
import schemathesis

import schemathesis_sigv4

# Seconds for each request the hooks send themselves; the gateway answers in milliseconds.
_TIMEOUT = 30
_RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$"
)

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

_session = requests.Session()
_session.auth = schemathesis_sigv4.AUTH
# The user that generated orders belong to when their own `userId` names nobody.
_owner_id: str | None = None
_if_match: re.Pattern[str] | None = None


def _api(case: Any, method: str, path: str, **kwargs: Any) -> requests.Response:
    base_url = case.operation.schema.get_base_url()
    return _session.request(method, base_url + path, timeout=_TIMEOUT, **kwargs)


def _is_positive(case: Any) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


def _user_exists(case: Any, user_id: Any) -> bool:
    return isinstance(user_id, str) and _api(case, "GET", f"/users/{user_id}").status_code == 200


def _owner(case: Any) -> str:
    """The id of a user that exists: the one created earlier, or a new one if it was deleted."""
    global _owner_id
    if _owner_id is None or not _user_exists(case, _owner_id):
        answer = _api(
            case,
            "POST",
            "/users",
            json={"email": f"owner-{uuid.uuid4().hex}@example.com", "name": "Order Owner"},
        )
        answer.raise_for_status()
        _owner_id = answer.json()["id"]
    return _owner_id


def _path(case: Any) -> str:
    """The request path with its parameters filled in."""
    return case.operation.path.format(**(case.path_parameters or {}))


def _issued_cursor(case: Any) -> None:
    """Replaces a generated `cursor` with the one the listing returns for the same query, or drops it
    when the listing has no next page."""
    query = case.query or {}
    if "cursor" not in query:
        return
    rest = {name: value for name, value in query.items() if name != "cursor"}
    answer = _api(case, "GET", _path(case), params=rest)
    issued = answer.json().get("nextCursor") if answer.status_code == 200 else None
    if issued:
        query["cursor"] = issued
    else:
        del query["cursor"]


def _export_query(case: Any) -> None:
    """Drops a generated export `cursor` (only an export that stopped early issues one) and puts
    `from` before `to`."""
    query = case.query or {}
    query.pop("cursor", None)
    start, end = _millis(query.get("from")), _millis(query.get("to"))
    if start is not None and end is not None and start >= end:
        if start == end:
            del query["to"]
        else:
            query["from"], query["to"] = query["to"], query["from"]


def _millis(value: Any) -> int | None:
    """An RFC 3339 date-time as Unix milliseconds (the precision the API compares at), or `None`."""
    if not isinstance(value, str):
        return None
    match = _RFC3339.match(value)
    if match is None:
        return None
    date, time, fraction, offset = match.groups()
    offset = "+00:00" if offset in ("Z", "z") else offset
    micros = (fraction or "").ljust(6, "0")[:6]
    try:
        instant = datetime.fromisoformat(f"{date}T{time}.{micros}{offset}")
    except ValueError:
        return None
    return (instant - _EPOCH) // timedelta(milliseconds=1)


def _existing_user(case: Any) -> None:
    """Points a new order at a user that exists."""
    body = case.body
    if isinstance(body, dict) and "userId" in body and not _user_exists(case, body["userId"]):
        body["userId"] = _owner(case)


def _fresh_idempotency_key(case: Any) -> None:
    """A key never used before, so the order is new rather than a replay of another body."""
    if case.headers is not None and "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = str(uuid.uuid4())


def _current_etag(case: Any) -> None:
    """Sets `If-Match` to the resource's current `ETag`. For a resource that does not exist (the
    answer is a `404` whatever the header says) a value outside the definition's pattern becomes `*`."""
    headers = case.headers
    if headers is None or "If-Match" not in headers:
        return
    answer = _api(case, "GET", _path(case))
    if answer.status_code == 200 and answer.headers.get("ETag"):
        headers["If-Match"] = answer.headers["ETag"]
    elif not (
        isinstance(headers["If-Match"], str) and _if_match_pattern(case).search(headers["If-Match"])
    ):
        headers["If-Match"] = "*"


def _if_match_pattern(case: Any) -> re.Pattern[str]:
    """The `If-Match` values the definition accepts (`components.parameters.IfMatch`)."""
    global _if_match
    if _if_match is None:
        parameter = case.operation.schema.raw_schema["components"]["parameters"]["IfMatch"]
        _if_match = re.compile(parameter["schema"]["pattern"])
    return _if_match


def _create_order(case: Any) -> None:
    _existing_user(case)
    _fresh_idempotency_key(case)


_FIXES: dict[tuple[str, str], Callable[[Any], None]] = {
    ("GET", "/users"): _issued_cursor,
    ("GET", "/orders"): _issued_cursor,
    ("GET", "/users/{userId}/orders"): _issued_cursor,
    ("GET", "/exports/orders"): _export_query,
    ("GET", "/exports/users"): _export_query,
    ("POST", "/orders"): _create_order,
    ("PATCH", "/users/{userId}"): _current_etag,
    ("DELETE", "/users/{userId}"): _current_etag,
    ("PATCH", "/orders/{orderId}"): _current_etag,
}


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Makes a positive case valid where validity is server state (see the module docs)."""
    if not _is_positive(case):
        return
    fix = _FIXES.get((case.operation.method.upper(), case.operation.path))
    if fix is not None:
        fix(case)
