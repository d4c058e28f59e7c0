"""Who is calling which AWS operation, in which Region: read off an HTTP request."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.iam.models import get_account_id_from

ACCOUNT_ID_RE = re.compile(r"\d{12}")
DEFAULT_REGION = "us-east-1"
UNKNOWN_SERVICE = "unknown"

# "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/auditmanager/aws4_request, ..."
_CREDENTIAL_RE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")

# The signing name (service of the credential scope) and the WSGI environment give
# the operation name; Audit Manager's REST routes are resolved by the caller.
OperationResolver = Callable[[str, str], str | None]


@dataclass(frozen=True)
class RequestContext:
    """What the emulator needs to know about one AWS request."""

    service: str
    region: str
    access_key: str
    account: str
    operation: str
    method: str
    path: str
    source_ip: str = ""
    user_agent: str = ""


@dataclass(frozen=True)
class _Credential:
    access_key: str
    region: str
    service: str


def describe_request(
    environ: Mapping[str, Any], body: bytes, rest_operation: OperationResolver
) -> RequestContext:
    """Build the context of a request whose body has already been read."""
    credential = _credential(environ)
    method = str(environ.get("REQUEST_METHOD", "GET"))
    path = str(environ.get("PATH_INFO", "/"))
    service = credential.service if credential else UNKNOWN_SERVICE
    access_key = credential.access_key if credential else ""
    operation = (
        rest_operation(method, path) if service == "auditmanager" else None
    ) or _rpc_operation(environ, body)
    return RequestContext(
        service=service,
        region=credential.region if credential else DEFAULT_REGION,
        access_key=access_key,
        account=resolve_account(access_key, environ),
        operation=operation or f"{method} {path}",
        method=method,
        path=path,
        source_ip=str(environ.get("REMOTE_ADDR", "")),
        user_agent=str(environ.get("HTTP_USER_AGENT", "")),
    )


# moto's get_account_id_from scans every account's keys: milliseconds per call once a
# thousand organizations are set up. A key never moves to another account, so the accounts
# it found are remembered until moto's state is reset (`forget_keys`).
_KNOWN_KEYS: dict[str, str] = {}


def forget_keys() -> None:
    _KNOWN_KEYS.clear()


def resolve_account(access_key: str, environ: Mapping[str, Any]) -> str:
    """The calling account, decided the way moto decides it, plus one extension.

    Order: an explicit ``x-moto-account-id`` header (moto honours it too); an access
    key id of exactly 12 digits is taken as that account id (an emulator extension,
    handy for "call as member account X" in tests); otherwise moto's own
    ``get_account_id_from``, which maps STS AssumeRole and IAM user keys to their
    account and everything else to moto's default account 123456789012.
    """
    override = environ.get("HTTP_X_MOTO_ACCOUNT_ID")
    if override:
        return str(override)
    if ACCOUNT_ID_RE.fullmatch(access_key):
        return access_key
    if not access_key:
        return DEFAULT_ACCOUNT_ID
    known = _KNOWN_KEYS.get(access_key)
    if known is None:
        known = str(get_account_id_from(access_key))
        if known != DEFAULT_ACCOUNT_ID:  # an unknown key may be created later
            _KNOWN_KEYS[access_key] = known
    return known


def _credential(environ: Mapping[str, Any]) -> _Credential | None:
    source = str(environ.get("HTTP_AUTHORIZATION", ""))
    if not source:
        query = parse_qs(str(environ.get("QUERY_STRING", "")))
        source = "Credential=" + query.get("X-Amz-Credential", [""])[0]
    match = _CREDENTIAL_RE.search(source)
    if match is None:
        return None
    access_key, region, service = match.groups()
    return _Credential(access_key=access_key, region=region, service=service.lower())


def _rpc_operation(environ: Mapping[str, Any], body: bytes) -> str | None:
    """Operation of a JSON-RPC (X-Amz-Target) or query-protocol (Action) request."""
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    if target:
        return target.rsplit(".", 1)[-1]
    actions = parse_qs(str(environ.get("QUERY_STRING", ""))).get("Action")
    content_type = str(environ.get("CONTENT_TYPE", ""))
    if not actions and content_type.startswith("application/x-www-form-urlencoded"):
        actions = parse_qs(body.decode("utf-8", errors="replace")).get("Action")
    return actions[0] if actions else None
