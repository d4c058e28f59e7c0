"""Audit Manager's REST-JSON face: routes from botocore's service model to the model.

Every Audit Manager operation in botocore's ``auditmanager`` model is routed (so the
call log names it); the ones the emulator does not implement answer
ValidationException with reason ``unknownOperation``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import botocore.session

from .auditmanager import AuditManager, Caller, validation_error
from .errors import AwsError

Params = Mapping[str, Any]
Handler = Callable[[AuditManager, Caller, Params], dict[str, Any]]


@dataclass(frozen=True)
class Route:
    operation: str
    method: str
    pattern: re.Pattern[str]
    literal_length: int


def _segment_regex(segment: str) -> str:
    if segment.startswith("{") and segment.endswith("+}"):
        return f"(?P<{segment[1:-2]}>.+)"
    if segment.startswith("{") and segment.endswith("}"):
        return f"(?P<{segment[1:-1]}>[^/]+)"
    return re.escape(segment)


def _template_to_regex(uri: str) -> tuple[re.Pattern[str], int]:
    """'/settings/{attribute}' -> ^/settings/(?P<attribute>[^/]+)$ and its literal length."""
    segments = uri.split("?", 1)[0].split("/")
    regex = "/".join(_segment_regex(segment) for segment in segments)
    literal_length = sum(len(s) for s in segments if not s.startswith("{"))
    return re.compile(f"^{regex}$"), literal_length


@cache
def routes() -> tuple[Route, ...]:
    model = botocore.session.get_session().get_service_model("auditmanager")
    found = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        pattern, literal_length = _template_to_regex(str(http["requestUri"]))
        found.append(Route(name, str(http["method"]), pattern, literal_length))
    return tuple(sorted(found, key=lambda r: -r.literal_length))


def match_route(method: str, path: str) -> tuple[str, dict[str, str]] | None:
    for route in routes():
        if route.method != method:
            continue
        match = route.pattern.match(path)
        if match:
            return route.operation, match.groupdict()
    return None


def operation_name(method: str, path: str) -> str | None:
    found = match_route(method, path)
    return found[0] if found else None


def _opt_str(params: Params, name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise validation_error(f"{name} must be a string", name)
    return value


def _required_str(params: Params, name: str) -> str:
    value = _opt_str(params, name)
    if value is None:
        raise validation_error(f"{name} is required", name)
    return value


HANDLERS: Mapping[str, Handler] = {
    "RegisterAccount": lambda am, c, p: am.register_account(
        c, _opt_str(p, "kmsKey"), _opt_str(p, "delegatedAdminAccount")
    ),
    "DeregisterAccount": lambda am, c, p: am.deregister_account(c),
    "GetAccountStatus": lambda am, c, p: am.get_account_status(c),
    "RegisterOrganizationAdminAccount": lambda am, c, p: am.register_organization_admin_account(
        c, _required_str(p, "adminAccountId")
    ),
    "DeregisterOrganizationAdminAccount": lambda am, c, p: am.deregister_organization_admin_account(
        c, _opt_str(p, "adminAccountId")
    ),
    "GetOrganizationAdminAccount": lambda am, c, p: am.get_organization_admin_account(c),
    "GetSettings": lambda am, c, p: am.get_settings(c, _required_str(p, "attribute")),
    "UpdateSettings": lambda am, c, p: am.update_settings(c, p),
}


def handle(am: AuditManager, caller: Caller, method: str, path: str, body: bytes) -> dict[str, Any]:
    """Run one Audit Manager request; raises AwsError the way Audit Manager answers."""
    found = match_route(method, path)
    if found is None:
        raise AwsError("UnknownOperationException", f"No operation at {method} {path}", 404)
    operation, uri_params = found
    handler = HANDLERS.get(operation)
    if handler is None:
        raise AwsError(
            "ValidationException",
            f"{operation} is not implemented by awsorg-emulator",
            400,
            {"reason": "unknownOperation"},
        )
    return handler(am, caller, {**_json_body(body), **uri_params})


def _json_body(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        parsed = json.loads(body)
    except ValueError as exc:
        raise AwsError(
            "ValidationException",
            f"Cannot parse request body: {exc}",
            400,
            {"reason": "cannotParse"},
        ) from exc
    if not isinstance(parsed, dict):
        raise AwsError(
            "ValidationException",
            "Request body must be a JSON object",
            400,
            {"reason": "cannotParse"},
        )
    return parsed
