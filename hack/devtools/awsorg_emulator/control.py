"""The control API under /_emulator/: reset, configure, inspect, inject faults. No auth."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from werkzeug.wrappers import Request, Response

from .auditmanager import AccountStatus, EvidenceFinderConfig
from .emulator import Emulator
from .faults import parse_fault
from .rendezvous import parse_rendezvous
from .seeds import Seed

PREFIX = "/_emulator/"

ControlHandler = Callable[[Emulator, dict[str, Any]], Any]
T = TypeVar("T")


class ControlError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _json(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, content_type="application/json")


def _optional_bool(body: Mapping[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is None or isinstance(value, bool):
        return value
    raise ControlError(f"{name} must be true or false")


def _seed(body: Mapping[str, Any]) -> Seed | None:
    value = body.get("seed")
    if value is None:
        return None
    try:
        return Seed(str(value))
    except ValueError as exc:
        raise ControlError(f"seed must be one of {[s.value for s in Seed]}") from exc


def _reset(emulator: Emulator, body: dict[str, Any]) -> Any:
    emulator.reset(_seed(body), _optional_bool(body, "maintenanceMode"))
    return emulator.config_view()


def _configure(emulator: Emulator, body: dict[str, Any]) -> Any:
    stale = body.get("staleReadSeconds")
    if stale is not None and (not isinstance(stale, int | float) or not 0 <= stale <= 600):
        raise ControlError("staleReadSeconds must be a number within 0..600")
    lifetime = body.get("credentialLifetimeSeconds")
    if lifetime is not None and (
        not isinstance(lifetime, int | float) or not 0 <= lifetime <= 43200
    ):
        raise ControlError("credentialLifetimeSeconds must be a number within 0..43200")
    latency = body.get("latencySeconds")
    if latency is not None and (not isinstance(latency, int | float) or not 0 <= latency <= 10):
        raise ControlError("latencySeconds must be a number within 0..10")
    return emulator.configure(
        _optional_bool(body, "maintenanceMode"),
        _optional_bool(body, "reregisterPreCutoff"),
        None if stale is None else float(stale),
        None if lifetime is None else float(lifetime),
        _optional_bool(body, "enforceIam"),
        None if latency is None else float(latency),
        _evidence_finder(body),
    )


def _evidence_finder(body: Mapping[str, Any]) -> EvidenceFinderConfig | None:
    """``evidenceFinderSeconds``: each evidence finder step takes that long (0..3600), or
    null: steps finish only on POST settle-evidence-finder. ``cloudTrailLakeOpen``."""
    lake_open = _optional_bool(body, "cloudTrailLakeOpen")
    if "evidenceFinderSeconds" not in body:
        return None if lake_open is None else ("keep", lake_open)
    seconds = body["evidenceFinderSeconds"]
    if seconds is not None and (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not 0 <= seconds <= 3600
    ):
        raise ControlError("evidenceFinderSeconds must be null or a number within 0..3600")
    return (None if seconds is None else float(seconds), lake_open)


def _evidence_finder_error(emulator: Emulator, body: dict[str, Any]) -> Any:
    error = body.get("error")
    try:
        account, region = str(body["accountID"]), str(body["region"])
    except KeyError as exc:
        raise ControlError("need accountID, region and error (a string, or null)") from exc
    if error is not None and (not isinstance(error, str) or len(error) > 300):
        raise ControlError("error must be null or a string of at most 300 characters")
    emulator.audit_manager.set_evidence_finder_error(account, region, error)
    return emulator.snapshot()["auditManager"][region]


def _settle_evidence_finder(emulator: Emulator, body: dict[str, Any]) -> Any:
    emulator.audit_manager.settle()
    return emulator.snapshot()["auditManager"]


def _add_organizations(emulator: Emulator, body: dict[str, Any]) -> Any:
    count, regions = body.get("count"), body.get("regions", ["us-east-1"])
    if not isinstance(count, int) or not 1 <= count <= 5000:
        raise ControlError("count must be an integer within 1..5000")
    if not isinstance(regions, list) or not all(isinstance(r, str) for r in regions):
        raise ControlError("regions must be a list of Region names")
    adopted = _optional_bool(body, "adopted")
    return emulator.add_organizations(count, regions, bool(adopted))


def _parsed(parse: Callable[[dict[str, Any]], T], body: dict[str, Any], what: str) -> T:
    """``parse(body)``; a malformed body is the caller's error (400), named ``bad <what>``."""
    try:
        return parse(body)
    except (TypeError, ValueError) as exc:
        raise ControlError(f"bad {what}: {exc}") from exc


def _add_fault(emulator: Emulator, body: dict[str, Any]) -> Any:
    emulator.faults.add(_parsed(parse_fault, body, "fault"))
    return emulator.faults.pending()


def _add_rendezvous(emulator: Emulator, body: dict[str, Any]) -> Any:
    emulator.rendezvous.add(_parsed(parse_rendezvous, body, "rendezvous"))
    return emulator.rendezvous.view()


def _set_account_status(emulator: Emulator, body: dict[str, Any]) -> Any:
    """Force an Audit Manager status, e.g. PENDING_ACTIVATION, which no API call produces."""
    try:
        status = AccountStatus(str(body.get("status")))
        account, region = str(body["accountID"]), str(body["region"])
    except (KeyError, ValueError) as exc:
        raise ControlError(
            "need accountID, region and status (ACTIVE|INACTIVE|PENDING_ACTIVATION)"
        ) from exc
    emulator.audit_manager.set_account_status(account, region, status)
    return emulator.snapshot()["auditManager"][region]


def _clear_calls(emulator: Emulator, body: dict[str, Any]) -> Any:
    emulator.calls.clear()
    return []


def _clear_faults(emulator: Emulator, body: dict[str, Any]) -> Any:
    emulator.clear_faults()
    return []


ROUTES: Mapping[tuple[str, str], ControlHandler] = {
    ("GET", "health"): lambda emulator, body: {"ok": True},
    ("POST", "reset"): _reset,
    ("GET", "config"): lambda emulator, body: emulator.config_view(),
    ("POST", "config"): _configure,
    ("GET", "state"): lambda emulator, body: emulator.snapshot(),
    ("GET", "calls"): lambda emulator, body: emulator.calls.entries(),
    ("GET", "issued-credentials"): lambda emulator, body: emulator.credentials.issued_credentials(),
    ("DELETE", "calls"): _clear_calls,
    ("GET", "faults"): lambda emulator, body: emulator.faults.pending(),
    ("POST", "faults"): _add_fault,
    ("DELETE", "faults"): _clear_faults,
    ("GET", "rendezvous"): lambda emulator, body: emulator.rendezvous.view(),
    ("POST", "rendezvous"): _add_rendezvous,
    ("POST", "account-status"): _set_account_status,
    ("POST", "organizations"): _add_organizations,
    ("POST", "settle-evidence-finder"): _settle_evidence_finder,
    ("POST", "evidence-finder-error"): _evidence_finder_error,
}


class ControlApi:
    def __init__(self, emulator: Emulator) -> None:
        self._emulator = emulator

    def handle(self, request: Request) -> Response:
        name = request.path[len(PREFIX) :].strip("/")
        handler = ROUTES.get((request.method, name))
        if handler is None:
            known = any(path == name for _, path in ROUTES)
            status = 405 if known else 404
            return _json({"error": f"no control route {request.method} {request.path}"}, status)
        try:
            return _json(handler(self._emulator, _body(request)))
        except ControlError as exc:
            return _json({"error": str(exc)}, exc.status)


def _body(request: Request) -> dict[str, Any]:
    raw = request.get_data(as_text=True)
    if not raw.strip():
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise ControlError(f"body is not JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise ControlError("body must be a JSON object")
    return parsed
