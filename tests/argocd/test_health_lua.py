"""The Argo CD health check, run by a real Lua 5.1 the way Argo CD runs it.

Argo CD (util/lua/lua.go) runs an argocd-cm health script in gopher-lua, a Lua 5.1, with only
the base, package and table libraries and a reduced os library (no string or math library
unless `resource.customizations.useOpenLibs` is set), the resource as the global `obj`, and
reads the returned table's `status` and `message`. `health_test.yaml` has the cases in Argo
CD's own format, so the folder could be contributed to argoproj/argo-cd as it is.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from lupa import lua51

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
CHECK_DIR = REPO / "argocd" / "health" / "awsorg.io" / "AuditManagerOrgConfig"
HEALTH_LUA = CHECK_DIR / "health.lua"
ARGOCD_STATUSES = {"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}

# The operator's condition reasons (its runtime contract), by what they ask of a person.
TEMPORARY_REASONS = ("Throttled", "Pending", "Deleting", "AwsError", "ConcurrentModification")
PERSON_REASONS = (
    "AccessDenied",
    "NotManagementAccount",
    "InvalidDelegatedAdmin",
    "MaintenanceMode",
    "AdminChangeBlocked",
    "Conflict",
    "OrganizationNotFound",
    "AllFeaturesRequired",
    "OrganizationMismatch",
    "InvalidSpec",
    "Drifted",
    "ConstraintViolation",
)

# What Argo CD's sandbox lacks: the libraries it does not open, and the string methods that
# the string library would put on every string.
_SANDBOX = """
string, math, io, debug, coroutine = nil, nil, nil, nil, nil
getmetatable("").__index = nil
local time, date, clock = os.time, os.date, os.clock
os = {time = time, date = date, clock = clock}
"""


@dataclass(frozen=True)
class Health:
    status: str
    message: str


def _plain(value: Any) -> Any:
    """What Argo CD hands Lua: JSON types only (YAML timestamps stay strings)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def run_health_check(obj: Mapping[str, Any], script: str | None = None) -> Health:
    lua = lua51.LuaRuntime(unpack_returned_tuples=False)
    lua.execute(_SANDBOX)
    lua.globals().obj = lua.table_from(_plain(obj), recursive=True)
    result = lua.execute(script if script is not None else HEALTH_LUA.read_text())
    assert lua.eval("type")(result) == "table", "the health script must return a table"
    status, message = result["status"], result["message"]
    assert isinstance(status, str), f"status must be a string, got {status!r}"
    assert message is None or isinstance(message, str), f"message must be a string: {message!r}"
    return Health(status, message or "")


def _test_cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = yaml.safe_load((CHECK_DIR / "health_test.yaml").read_text())[
        "tests"
    ]
    return cases


def _load(input_path: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((CHECK_DIR / input_path).read_text())
    return loaded


@pytest.mark.parametrize(
    "case", _test_cases(), ids=lambda c: Path(c["inputPath"]).stem if isinstance(c, dict) else ""
)
def test_health_matches_argocd_test_case(case: dict[str, Any]) -> None:
    health = run_health_check(_load(case["inputPath"]))
    expected = case["healthStatus"]
    assert health == Health(expected["status"], expected["message"])


def test_every_testdata_file_is_a_case() -> None:
    used = {Path(c["inputPath"]).name for c in _test_cases()}
    present = {p.name for p in (CHECK_DIR / "testdata").glob("*.yaml")}
    assert present == used


def test_cases_cover_every_status_the_check_returns() -> None:
    expected = {c["healthStatus"]["status"] for c in _test_cases()}
    assert expected == {"Healthy", "Progressing", "Degraded"}
    assert expected <= ARGOCD_STATUSES


def _with_ready(status: str, reason: str, *, generation: int = 4) -> dict[str, Any]:
    base = _load("testdata/healthy.yaml")
    base["metadata"]["generation"] = generation
    base["status"]["observedGeneration"] = generation
    base["status"]["conditions"] = [
        {
            "type": "Ready",
            "status": status,
            "reason": reason,
            "message": f"the operator says {reason}",
            "observedGeneration": generation,
            "lastTransitionTime": "2026-05-04T09:15:30Z",
        }
    ]
    return base


@pytest.mark.parametrize(
    ("ready", "reason", "expected"),
    [
        *[("False", r, "Progressing") for r in TEMPORARY_REASONS],
        *[("Unknown", r, "Progressing") for r in TEMPORARY_REASONS],
        *[("False", r, "Degraded") for r in PERSON_REASONS],
        ("True", "Reconciled", "Healthy"),
    ],
)
def test_every_operator_reason_maps_to_its_health(ready: str, reason: str, expected: str) -> None:
    health = run_health_check(_with_ready(ready, reason))
    assert health == Health(expected, f"{reason}: the operator says {reason}")


def test_condition_without_observed_generation_counts_as_current() -> None:
    obj = _with_ready("True", "Reconciled")
    del obj["status"]["conditions"][0]["observedGeneration"]
    assert run_health_check(obj).status == "Healthy"


def test_script_uses_nothing_outside_argocds_sandbox() -> None:
    """A script that calls the string library fails here as it would in Argo CD."""
    with pytest.raises(lua51.LuaError, match="global 'string'"):
        run_health_check({"metadata": {}}, "return {status = string.upper('x')}")
    with pytest.raises(lua51.LuaError, match="attempt to index local 's'"):
        run_health_check({"metadata": {}}, "local s = 'x'; return {status = s:lower()}")


def test_argocd_cm_patch_carries_the_same_script() -> None:
    patch = yaml.safe_load((REPO / "argocd" / "argocd-cm-patch.yaml").read_text())
    assert patch["kind"] == "ConfigMap"
    assert patch["metadata"]["name"] == "argocd-cm"
    key = "resource.customizations.health.awsorg.io_AuditManagerOrgConfig"
    assert patch["data"][key] == HEALTH_LUA.read_text()


def test_application_health_check_in_patch_reports_child_health() -> None:
    """The app of apps waits on its children's health only if Argo CD computes it."""
    patch = yaml.safe_load((REPO / "argocd" / "argocd-cm-patch.yaml").read_text())
    script = patch["data"]["resource.customizations.health.argoproj.io_Application"]
    child = {"metadata": {}, "status": {"health": {"status": "Degraded", "message": "x"}}}
    assert run_health_check(child, script) == Health("Degraded", "x")
    assert run_health_check({"metadata": {}}, script).status == "Progressing"
