"""The health check as Argo CD itself evaluates it.

`argocd-health-test` (hack/tools/argocd, built by hack/build-tools.sh) loads
argocd-cm-patch.yaml through Argo CD's settings manager and judges each object with the
function the application-controller calls (util/lua), in gopher-lua (Lua 5.1) with Argo CD's
sandbox: no string or math library unless `useOpenLibs` is set. `health_test.yaml` is in Argo
CD's own resource_customizations format, so the folder could be contributed as it is.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from awsorg_localcluster import tool_path

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CHECK_DIR = REPO / "argocd" / "health" / "awsorg.io" / "AuditManagerOrgConfig"
CM_PATCH = REPO / "argocd" / "argocd-cm-patch.yaml"
HEALTH_KEY = "resource.customizations.health.awsorg.io_AuditManagerOrgConfig"

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


def run_cases(cm_patch: Path, check_dir: Path) -> tuple[int, list[dict[str, Any]]]:
    done = subprocess.run(
        [str(tool_path("argocd-health-test")), "cases", str(cm_patch), str(check_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines()]


def evaluate(objects: list[dict[str, Any]], cm_patch: Path = CM_PATCH) -> list[dict[str, str]]:
    done = subprocess.run(
        [str(tool_path("argocd-health-test")), "eval", str(cm_patch)],
        input=json.dumps(objects),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    results: list[dict[str, str]] = json.loads(done.stdout)
    return results


def _cases() -> list[dict[str, Any]]:
    loaded: dict[str, list[dict[str, Any]]] = yaml.safe_load(
        (CHECK_DIR / "health_test.yaml").read_text()
    )
    return loaded["tests"]


def _load(input_path: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((CHECK_DIR / input_path).read_text())
    return loaded


@pytest.fixture(scope="module")
def shipped_results() -> tuple[int, list[dict[str, Any]]]:
    return run_cases(CM_PATCH, CHECK_DIR)


@pytest.mark.parametrize("source", ["health.lua", "argocd-cm"])
@pytest.mark.parametrize("case", _cases(), ids=lambda c: Path(c["inputPath"]).stem)
def test_argocd_gives_the_health_of_each_case(
    shipped_results: tuple[int, list[dict[str, Any]]], case: dict[str, Any], source: str
) -> None:
    _, results = shipped_results
    (result,) = [
        r for r in results if r["inputPath"] == case["inputPath"] and r["source"] == source
    ]
    assert result.get("error") is None, result["error"]
    assert result["got"] == case["healthStatus"], result


def test_every_case_passes(shipped_results: tuple[int, list[dict[str, Any]]]) -> None:
    code, results = shipped_results
    assert len(results) == 2 * len(_cases())
    assert code == 0, [r for r in results if not r["ok"]]


def test_every_testdata_file_is_a_case() -> None:
    used = {Path(c["inputPath"]).name for c in _cases()}
    assert used == {p.name for p in (CHECK_DIR / "testdata").glob("*.yaml")}
    assert {c["healthStatus"]["status"] for c in _cases()} == {"Healthy", "Progressing", "Degraded"}


def test_a_broken_script_fails_its_cases(tmp_path: Path) -> None:
    """A health check that stops telling Degraded from Progressing fails the run, through the
    health.lua file and through argocd-cm alike."""
    broken_dir = tmp_path / "AuditManagerOrgConfig"
    subprocess.run(["cp", "-r", str(CHECK_DIR), str(broken_dir)], check=True)
    script = (CHECK_DIR / "health.lua").read_text()
    broken = script.replace('hs.status = "Degraded"', 'hs.status = "Progressing"')
    assert broken != script
    (broken_dir / "health.lua").write_text(broken)
    patch = yaml.safe_load(CM_PATCH.read_text())
    patch["data"][HEALTH_KEY] = broken
    broken_patch = tmp_path / "argocd-cm-patch.yaml"
    broken_patch.write_text(yaml.safe_dump(patch))

    code, results = run_cases(broken_patch, broken_dir)
    assert code == 1
    failed = {(r["source"], Path(r["inputPath"]).stem) for r in results if not r["ok"]}
    assert ("health.lua", "maintenance-mode") in failed
    assert ("argocd-cm", "admin-change-blocked") in failed


def test_argocd_cm_patch_carries_the_same_script() -> None:
    patch = yaml.safe_load(CM_PATCH.read_text())
    assert (patch["kind"], patch["metadata"]["name"]) == ("ConfigMap", "argocd-cm")
    assert patch["data"][HEALTH_KEY] == (CHECK_DIR / "health.lua").read_text()


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


def test_every_operator_reason_maps_to_its_health() -> None:
    table = [
        *[("False", r, "Progressing") for r in TEMPORARY_REASONS],
        *[("Unknown", r, "Progressing") for r in TEMPORARY_REASONS],
        *[("False", r, "Degraded") for r in PERSON_REASONS],
        ("True", "Reconciled", "Healthy"),
    ]
    results = evaluate([_with_ready(ready, reason) for ready, reason, _ in table])
    got = [(r.get("status"), r.get("message"), r.get("error")) for r in results]
    assert got == [(h, f"{reason}: the operator says {reason}", None) for _, reason, h in table]


def test_condition_without_observed_generation_counts_as_current() -> None:
    obj = _with_ready("True", "Reconciled")
    del obj["status"]["conditions"][0]["observedGeneration"]
    assert evaluate([obj])[0]["status"] == "Healthy"


def test_argocds_sandbox_has_no_string_library(tmp_path: Path) -> None:
    """Why the script sticks to Lua's base library: through argocd-cm, without useOpenLibs,
    Argo CD's VM has no `string` table and no string methods."""
    patch = yaml.safe_load(CM_PATCH.read_text())
    patch["data"][HEALTH_KEY] = "return {status = string.upper('healthy')}"
    sandboxed = tmp_path / "argocd-cm-patch.yaml"
    sandboxed.write_text(yaml.safe_dump(patch))
    (result,) = evaluate([_with_ready("True", "Reconciled")], sandboxed)
    assert "string" in result["error"]


def test_application_health_check_in_patch_reports_child_health() -> None:
    """The app of apps waits on its children's health only if Argo CD computes it."""
    child = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "x"},
        "status": {"health": {"status": "Degraded", "message": "x"}},
    }
    bare = {**child, "status": {}}
    assert evaluate([child, bare]) == [
        {"status": "Degraded", "message": "x"},
        {"status": "Progressing"},
    ]


@pytest.mark.parametrize(
    ("status", "health"),
    [
        ({"sync": {"status": "Synced"}}, "Healthy"),
        ({"sync": {"status": "Synced"}, "operationState": {"phase": "Succeeded"}}, "Healthy"),
        # Judged Healthy for a moment while its own sync still creates its resources: the app
        # of apps must not move on to the next wave yet.
        ({"sync": {"status": "Synced"}, "operationState": {"phase": "Running"}}, "Progressing"),
        ({"sync": {"status": "OutOfSync"}}, "Progressing"),
        ({}, "Progressing"),
    ],
    ids=["synced", "sync-finished", "sync-running", "out-of-sync", "sync-unknown"],
)
def test_a_child_application_is_healthy_only_once_synced(
    status: dict[str, Any], health: str
) -> None:
    child = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "x"},
        "status": {"health": {"status": "Healthy"}, **status},
    }
    assert evaluate([child])[0]["status"] == health
