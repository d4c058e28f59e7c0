"""The guarded retirement through a real API server and the operator as a process, from the
adopted organization of the emulator's `existing-customer` seed to trusted access off, with the
operator killed while a step is on its way to AWS: it resumes and sends no write twice."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from awsorg_devstack import REPO, Operator
from awsorg_emulator import EmulatorControl
from tests.e2e.conftest import Kube, wait_for

pytestmark = pytest.mark.e2e

NAME = "retirement"
REGIONS = ["us-east-1", "eu-west-1"]
MUTATING = ("Register", "Deregister", "Enable", "Disable", "Update")
APPROVAL = "awsorg.io/allow-irreversible-settings"


def retiring() -> dict[str, Any]:
    return {
        "apiVersion": "awsorg.io/v1alpha1",
        "kind": "AuditManagerOrgConfig",
        "metadata": {"name": NAME},
        "spec": {
            "trustedAccess": "Disabled",
            "regions": REGIONS,
            "retirement": {"deleteResources": "All"},
        },
    }


REFUSED = [
    (
        "with trusted access enabled",
        {"trustedAccess": "Enabled", "retirement": {"deleteResources": "Default"}},
        "retirement requires trustedAccess: Disabled",
    ),
    (
        "evidence finder without adminCredentials",
        {
            "trustedAccess": "Disabled",
            "retirement": {"deleteResources": "Default", "evidenceFinder": "Disabled"},
        },
        "retirement.evidenceFinder requires adminCredentials",
    ),
    (
        "no deregistration policy",
        {"trustedAccess": "Disabled", "retirement": {}},
        "spec.retirement.deleteResources: Required value",
    ),
]


@pytest.mark.parametrize(("case", "spec", "message"), REFUSED, ids=[c[0] for c in REFUSED])
def test_the_api_server_refuses_a_malformed_retirement_with_a_clear_message(
    kube: Kube, operator_kubeconfig: Path, case: str, spec: dict[str, Any], message: str
) -> None:
    bad = {**retiring(), "metadata": {"name": "bad"}, "spec": spec}
    done = kube("apply", "-f", "-", input=json.dumps(bad), check=False)
    assert done.returncode != 0, case
    assert message in done.stderr, done.stderr


def test_the_example_is_admitted(kube: Kube, operator_kubeconfig: Path) -> None:
    example = yaml.safe_load((REPO / "examples" / "retirement.yaml").read_text())
    kube("apply", "--dry-run=server", "-f", "-", input=json.dumps(example))


def writes(control: EmulatorControl) -> list[tuple[str, str]]:
    return [
        (c["operation"], c["region"])
        for c in control.calls()
        if c["operation"].startswith(MUTATING)
    ]


def test_a_retirement_killed_mid_way_resumes_and_repeats_no_write(
    kube: Kube, operator: Operator, control: EmulatorControl
) -> None:
    kube.apply(retiring())
    blocked = kube.wait_reason(NAME, "IrreversibleSettingBlocked")
    status = kube.get(NAME)["status"]
    steps = [(p["operation"], p.get("region")) for p in status["plannedActions"]]
    assert steps[-1] == ("DisableAWSServiceAccess", None), steps
    assert {p["state"] for p in status["plannedActions"]} == {"AwaitingApproval"}
    assert writes(control) == []
    # eu-west-1's DeregisterAccount answers slowly. Its fault is consumed when the request
    # reaches the emulator, so once it is gone the write is sent and not yet answered: the
    # kill lands there, whatever the machine's speed.
    control.add_fault(
        "latency",
        service="auditmanager",
        operation="DeregisterAccount",
        region="eu-west-1",
        latency_seconds=4.0,
    )
    org = status["organizationID"]
    generation = kube.get(NAME)["metadata"]["generation"]
    assert f"{org}:retirement@{generation}" in blocked["message"]
    kube("annotate", f"amoc/{NAME}", f"{APPROVAL}={org}:retirement@{generation}")
    wait_for("eu-west-1's DeregisterAccount sent", lambda: not control.faults(), timeout=60)
    operator.kill()
    operator.start()
    kube.wait_reason(NAME, "Reconciled", timeout=120)
    expected = [
        (op, region)
        for region in REGIONS
        for op in ("DeregisterOrganizationAdminAccount", "UpdateSettings", "DeregisterAccount")
    ]
    sent = writes(control)
    assert sorted(sent) == sorted([*expected, ("DisableAWSServiceAccess", "us-east-1")]), sent
    assert sent[-1][0] == "DisableAWSServiceAccess"
    state = control.state()
    assert "auditmanager.amazonaws.com" not in state["trustedAccess"]
    for region in REGIONS:
        assert state["auditManager"][region]["accounts"]["123456789012"] == "INACTIVE"
