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
from awsorg_operator.meanings import meaning
from awsorg_operator.reasons import Reason
from tests.unit.test_states_reported import reported_statuses

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CHECK_DIR = REPO / "argocd" / "health" / "awsorg.io" / "AuditManagerOrgConfig"
CM_PATCH = REPO / "argocd" / "argocd-cm-patch.yaml"
HEALTH_KEY = "resource.customizations.health.awsorg.io_AuditManagerOrgConfig"

RECONCILED = "testdata/states/reconciled-ready-true-synced-true.yaml"


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
    used = {c["inputPath"] for c in _cases()}
    found = (CHECK_DIR / "testdata").rglob("*.yaml")
    assert used == {str(p.relative_to(CHECK_DIR)) for p in found}
    assert {c["healthStatus"]["status"] for c in _cases()} == {"Healthy", "Progressing", "Degraded"}


def test_a_broken_script_fails_its_cases(tmp_path: Path) -> None:
    """A health check that stops telling Degraded from Progressing fails the run, through the
    health.lua file and through argocd-cm alike."""
    broken_dir = tmp_path / "AuditManagerOrgConfig"
    subprocess.run(["cp", "-r", str(CHECK_DIR), str(broken_dir)], check=True)
    script = (CHECK_DIR / "health.lua").read_text()
    broken = script.replace('= "Degraded",', '= "Progressing",')
    assert broken != script
    (broken_dir / "health.lua").write_text(broken)
    patch = yaml.safe_load(CM_PATCH.read_text())
    patch["data"][HEALTH_KEY] = broken
    broken_patch = tmp_path / "argocd-cm-patch.yaml"
    broken_patch.write_text(yaml.safe_dump(patch))

    code, results = run_cases(broken_patch, broken_dir)
    assert code == 1
    failed = {(r["source"], Path(r["inputPath"]).stem) for r in results if not r["ok"]}
    assert ("health.lua", "maintenance-mode-ready-false-synced-true") in failed
    assert ("argocd-cm", "access-denied-ready-unknown-synced-false") in failed


def test_argocd_cm_patch_carries_the_same_script() -> None:
    patch = yaml.safe_load(CM_PATCH.read_text())
    assert (patch["kind"], patch["metadata"]["name"]) == ("ConfigMap", "argocd-cm")
    assert patch["data"][HEALTH_KEY] == (CHECK_DIR / "health.lua").read_text()


def _with_ready(status: str, reason: str, *, generation: int = 4) -> dict[str, Any]:
    base = _load(RECONCILED)
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


def test_each_state_the_report_writes_gets_the_health_its_meaning_gives() -> None:
    """Not the table's word for it: the statuses the real reconcile and report write, from
    every case of tests/unit/test_states_reported.py, judged by Argo CD's engine."""
    written = reported_statuses()
    objects = []
    for status in written:
        obj = _load(RECONCILED)
        obj["status"] = status.model_dump(by_alias=True, exclude_none=True, mode="json")
        obj["status"]["observedGeneration"] = obj["metadata"]["generation"]
        for condition in obj["status"]["conditions"]:
            condition["observedGeneration"] = obj["metadata"]["generation"]
        objects.append(obj)
    got = [(r.get("status"), r.get("message"), r.get("error")) for r in evaluate(objects)]
    wanted = []
    for status in written:
        ready = status.condition("Ready")
        assert ready is not None
        health = meaning(Reason(ready.reason)).health if ready.status != "True" else "Healthy"
        wanted.append((health, f"{ready.reason}: {ready.message}", None))
    assert got == wanted


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
