"""The operator through a real API server, driven with kubectl as users drive it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from awsorg_devstack import REPO, Operator
from awsorg_emulator import WORKLOADS_ACCOUNT_ID, EmulatorControl
from awsorg_localcluster import LocalControlPlane
from tests.e2e.conftest import AUDIT, MGMT, RESYNC_SECONDS, Kube, wait_for

pytestmark = pytest.mark.e2e

EXAMPLE = REPO / "examples" / "adopt-existing.yaml"
NAME: str = yaml.safe_load(EXAMPLE.read_text())["metadata"]["name"]
REGIONS = ["us-east-1", "eu-west-1"]
NEW_REGION = "ap-southeast-2"  # never used Audit Manager: maintenance mode refuses it
MUTATING = ("Register", "Deregister", "Enable", "Disable", "Update")


def amoc(
    name: str = NAME, annotations: dict[str, str] | None = None, **spec: Any
) -> dict[str, Any]:
    return {
        "apiVersion": "awsorg.io/v1alpha1",
        "kind": "AuditManagerOrgConfig",
        "metadata": {"name": name, "annotations": annotations or {}},
        "spec": spec,
    }


def adopting(name: str = NAME, **extra: Any) -> dict[str, Any]:
    """The example's organization, as it already is in the emulator's seed."""
    spec = {"trustedAccess": "Enabled", "delegatedAdminAccountID": AUDIT, "regions": REGIONS}
    return amoc(name, **(spec | extra))


def writes(control: EmulatorControl) -> list[tuple[str, str]]:
    return [
        (c["operation"], c["region"])
        for c in control.calls()
        if c["operation"].startswith(MUTATING)
    ]


def admin_in(control: EmulatorControl, region: str) -> str | None:
    return control.state()["auditManager"][region]["adminAccountID"]


def trusted(control: EmulatorControl) -> bool:
    return "auditmanager.amazonaws.com" in control.state()["trustedAccess"]


def aws(control: EmulatorControl, service: str) -> Any:
    return boto3.client(
        service,
        region_name="us-east-1",  # type: ignore[call-overload]
        endpoint_url=control.endpoint_url,
        aws_access_key_id=MGMT,
        aws_secret_access_key="x",
    )


def test_apply_the_example_and_wait_for_ready(
    kube: Kube, operator: Operator, control: EmulatorControl
) -> None:
    kube.apply(EXAMPLE)
    kube("wait", "--for=condition=Ready", f"amoc/{NAME}", "--timeout=60s")
    status = kube.get(NAME)["status"]
    assert status["organizationID"] == control.state()["organization"]["id"]  # type: ignore[index]
    assert status["managementAccountID"] == MGMT
    assert (status["trustedAccess"], status["delegatedAdminAccountID"]) == ("Enabled", AUDIT)
    assert [
        (r["region"], r["accountStatus"], r["delegatedAdminAccountID"]) for r in status["regions"]
    ] == [(r, "ACTIVE", AUDIT) for r in REGIONS]
    assert status["observedGeneration"] == kube.get(NAME)["metadata"]["generation"]
    assert writes(control) == [], "adopting an existing setup changes nothing"
    metrics = operator.metrics()
    assert (
        'awsorg_aws_api_calls_total{operation="GetAccountStatus",outcome="ok",'
        'service="auditmanager"}' in metrics
    )
    assert "awsorg_reconcile_duration_seconds_count" in metrics
    table = kube("get", "amoc", "-o", "wide").stdout
    assert "Enabled" in table and AUDIT in table and "True" in table and "Reconciled" in table


def test_a_new_region_in_maintenance_mode_fails_alone(
    kube: Kube, operator: Operator, control: EmulatorControl
) -> None:
    kube.apply(adopting(regions=[*REGIONS, NEW_REGION]))
    ready = kube.wait_reason(NAME, "MaintenanceMode")
    assert "maintenance mode" in ready["message"]
    regions = {r["region"]: r for r in kube.get(NAME)["status"]["regions"]}
    assert regions["us-east-1"]["delegatedAdminAccountID"] == AUDIT
    assert "maintenance mode" in regions[NEW_REGION]["message"]
    assert any(e["reason"] == "MaintenanceMode" for e in kube.events(NAME))


def test_changing_the_admin_needs_the_annotation(
    kube: Kube, operator: Operator, control: EmulatorControl
) -> None:
    control.configure(maintenance_mode=False)
    kube.apply(
        amoc(trustedAccess="Enabled", delegatedAdminAccountID=WORKLOADS_ACCOUNT_ID, regions=REGIONS)
    )
    blocked = kube.wait_reason(NAME, "AdminChangeBlocked")
    assert "awsorg.io/allow-admin-change" in blocked["message"]
    assert writes(control) == [] and admin_in(control, "us-east-1") == AUDIT
    # What approving would do: deregister then register, in each Region; counted in -o wide.
    planned = kube.get(NAME)["status"]["plannedActions"]
    assert [(p["operation"], p["region"], p["state"]) for p in planned] == [
        (op, r, "AwaitingApproval")
        for r in REGIONS
        for op in ("DeregisterOrganizationAdminAccount", "RegisterOrganizationAdminAccount")
    ]
    header, row = kube("get", "amoc", NAME, "-o", "wide").stdout.splitlines()
    column = header.index("PLANNED")  # kubectl aligns the columns
    assert row[column:].split()[0] == "4", f"{header}\n{row}"
    # The approval names the administrator it lets go: good for this change only.
    kube("annotate", "amoc", NAME, f"awsorg.io/allow-admin-change={AUDIT}")
    # Sooner than the periodic re-check: the annotation itself starts a reconcile.
    kube.wait_reason(NAME, "Reconciled", timeout=RESYNC_SECONDS * 0.6)
    assert all(admin_in(control, r) == WORKLOADS_ACCOUNT_ID for r in REGIONS)
    reasons = [e["reason"] for e in kube.events(NAME)]
    assert "DeregisterOrganizationAdminAccount" in reasons
    assert "RegisterOrganizationAdminAccount" in reasons


def test_switching_to_disabled(kube: Kube, operator: Operator, control: EmulatorControl) -> None:
    kube.apply(EXAMPLE)
    kube.wait_reason(NAME, "Reconciled")
    kube.apply(
        amoc(
            annotations={"awsorg.io/allow-admin-change": AUDIT},
            trustedAccess="Disabled",
            regions=REGIONS,
        )
    )
    wait_for(
        "trusted access disabled and Ready",
        lambda: (
            not trusted(control)
            and kube.condition(NAME).get("status") == "True"
            and kube.get(NAME)["status"]["trustedAccess"] == "Disabled"
        ),
    )
    assert "config.amazonaws.com" in control.state()["trustedAccess"]


@pytest.mark.parametrize(("policy", "corrected"), [("Manage", True), ("Observe", False)])
def test_drift_behind_the_operators_back(
    kube: Kube, operator: Operator, control: EmulatorControl, policy: str, corrected: bool
) -> None:
    kube.apply(adopting(kmsKey="DEFAULT", managementPolicy=policy))
    kube.wait_reason(NAME, "Reconciled")
    key = "arn:aws:kms:us-east-1:123456789012:key/changed-by-hand"
    aws(control, "auditmanager").update_settings(kmsKey=key)
    wait_for(
        "a Drifted event",
        lambda: any(e["reason"] == "Drifted" and key in e["message"] for e in kube.events(NAME)),
    )
    if corrected:
        wait_for(
            "the key set back",
            lambda: control.state()["auditManager"]["us-east-1"]["kmsKey"] == "DEFAULT",
        )
        kube.wait_reason(NAME, "Reconciled")
    else:
        kube.wait_reason(NAME, "Drifted")
        assert control.state()["auditManager"]["us-east-1"]["kmsKey"] == key
        assert writes(control) == [("UpdateSettings", "us-east-1")], "only our own drift"


def test_a_second_resource_for_the_same_organization_conflicts(
    kube: Kube, operator: Operator, control: EmulatorControl
) -> None:
    kube.apply(EXAMPLE)
    kube.wait_reason(NAME, "Reconciled")
    kube.apply(amoc("second", trustedAccess="Disabled"))
    conflict = kube.wait_reason("second", "Conflict")
    assert NAME in conflict["message"]
    assert trusted(control) and writes(control) == []
    assert kube.condition(NAME)["reason"] == "Reconciled"


@pytest.mark.parametrize(("policy", "kept"), [("Retain", True), ("Delete", False)])
def test_deletion_honours_the_policy(
    kube: Kube, operator: Operator, control: EmulatorControl, policy: str, kept: bool
) -> None:
    kube.apply(adopting(deletionPolicy=policy))
    kube.wait_reason(NAME, "Reconciled")
    kube("delete", "amoc", NAME, "--timeout=60s")
    assert kube("get", "amoc", NAME, check=False).returncode != 0
    assert (admin_in(control, "us-east-1") == AUDIT) is kept
    assert trusted(control) is kept


def test_killed_mid_way_the_operator_converges_without_doing_anything_twice(
    kube: Kube, operator: Operator, control: EmulatorControl
) -> None:
    control.reset(seed="empty", maintenance_mode=False)
    # eu-west-1's registration answers slowly. Its fault is consumed when the request reaches
    # the emulator, so once it is gone the write is sent and not yet answered: the kill lands
    # there, whatever the machine's speed. (Killed before sending, the write would be held
    # for writes.IN_FLIGHT_GRACE and then sent: tests/unit/test_reconciler.py covers that.)
    control.add_fault(
        "latency",
        service="auditmanager",
        operation="RegisterAccount",
        region="eu-west-1",
        latency_seconds=4.0,
    )
    kube.apply(adopting())
    wait_for("eu-west-1's registration sent", lambda: not control.faults(), timeout=30)
    operator.kill()
    operator.start()
    kube.wait_reason(NAME, "Reconciled")
    registrations = [w for w in writes(control) if w[0] == "RegisterAccount"]
    assert sorted(registrations) == sorted(("RegisterAccount", r) for r in REGIONS)
    assert all(admin_in(control, r) == AUDIT for r in REGIONS)


def test_the_api_server_restarts_under_the_operator(
    kube: Kube, operator: Operator, control: EmulatorControl, cluster: LocalControlPlane
) -> None:
    kube.apply(EXAMPLE)
    kube.wait_reason(NAME, "Reconciled")
    cluster.restart_apiserver()
    kube.apply(adopting(regions=[*REGIONS, NEW_REGION]))
    kube.wait_reason(NAME, "MaintenanceMode", timeout=120)


KEY_EU = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"

INVALID = [
    (
        "11-digit admin",
        {"trustedAccess": "Enabled", "delegatedAdminAccountID": "12345678901"},
        "spec.delegatedAdminAccountID in body should match '^[0-9]{12}$'",
    ),
    (
        "unknown field",
        {"trustedAccess": "Enabled", "surprise": True},
        'unknown field "spec.surprise"',
    ),
    (
        "5-digit admin",
        {"trustedAccess": "Enabled", "delegatedAdminAccountID": "12345"},
        "spec.delegatedAdminAccountID in body should match '^[0-9]{12}$'",
    ),
    (
        "13-digit admin",
        {"trustedAccess": "Enabled", "delegatedAdminAccountID": "1234567890123"},
        "spec.delegatedAdminAccountID in body should match '^[0-9]{12}$'",
    ),
    (
        "admin with letters",
        {"trustedAccess": "Enabled", "delegatedAdminAccountID": "12345678901a"},
        "spec.delegatedAdminAccountID in body should match '^[0-9]{12}$'",
    ),
    (
        "a Region without Audit Manager",
        {"trustedAccess": "Enabled", "regions": ["us-east-9"]},
        'spec.regions[0]: Unsupported value: "us-east-9"',
    ),
    (
        "trustedAccess Maybe",
        {"trustedAccess": "Maybe"},
        'spec.trustedAccess: Unsupported value: "Maybe": supported values: "Enabled", "Disabled"',
    ),
    (
        "admin with trusted access disabled",
        {"trustedAccess": "Disabled", "delegatedAdminAccountID": "111111111111"},
        "delegatedAdminAccountID requires trustedAccess: Enabled",
    ),
    (
        "duplicated Region",
        {"trustedAccess": "Enabled", "regions": ["us-east-1", "us-east-1"]},
        'spec.regions[1]: Duplicate value: "us-east-1"',
    ),
    (
        "empty Region list",
        {"trustedAccess": "Enabled", "regions": []},
        "spec.regions: Invalid value: 0: spec.regions in body should have at least 1 items",
    ),
    (
        "a key ARN with several Regions",
        {"trustedAccess": "Enabled", "regions": REGIONS, "kmsKey": KEY_EU},
        "a kmsKey ARN works in its own Region only",
    ),
    (
        "a key ARN of another Region",
        {"trustedAccess": "Enabled", "regions": ["us-east-1"], "kmsKey": KEY_EU},
        "a kmsKey ARN works in its own Region only",
    ),
    (
        "kmsKeys with a key of another Region",
        {"trustedAccess": "Enabled", "regions": REGIONS, "kmsKeys": {"us-east-1": KEY_EU}},
        "kmsKeys: a key ARN must be of the Region it is set for",
    ),
    (
        "kmsKeys for an unlisted Region",
        {"trustedAccess": "Enabled", "regions": ["us-east-1"], "kmsKeys": {"eu-west-1": KEY_EU}},
        "kmsKeys: every Region must be listed in regions",
    ),
    (
        "kmsKey and kmsKeys",
        {"trustedAccess": "Enabled", "kmsKey": "DEFAULT", "kmsKeys": {"us-east-1": "DEFAULT"}},
        "set kmsKey or kmsKeys, not both",
    ),
    (
        "a listed Region stated to have no administrator",
        {"trustedAccess": "Disabled", "regions": REGIONS, "assumeNoDelegatedAdminIn": REGIONS[:1]},
        "assumeNoDelegatedAdminIn: a Region in regions is always read",
    ),
    (
        "a Region Audit Manager does not offer stated to have no administrator",
        {"trustedAccess": "Disabled", "assumeNoDelegatedAdminIn": ["eu-north-1"]},
        'spec.assumeNoDelegatedAdminIn[0]: Unsupported value: "eu-north-1"',
    ),
]


@pytest.mark.parametrize(("case", "spec", "message"), INVALID, ids=[c[0] for c in INVALID])
def test_the_api_server_refuses_bad_resources_with_a_clear_message(
    kube: Kube, operator_kubeconfig: Path, case: str, spec: dict[str, Any], message: str
) -> None:
    # operator_kubeconfig: the CRD installed, also when this test runs alone.
    done = kube("apply", "-f", "-", input=json.dumps(amoc("bad", **spec)), check=False)
    assert done.returncode != 0
    assert message in done.stderr, done.stderr
    assert kube("get", "amoc", "bad", check=False).returncode != 0


def test_a_key_per_region_is_accepted_and_set(
    kube: Kube, operator: Operator, control: EmulatorControl
) -> None:
    kube.apply(adopting(kmsKeys={"eu-west-1": KEY_EU}))
    kube.wait_reason(NAME, "Reconciled")
    regions = {r["region"]: r for r in kube.get(NAME)["status"]["regions"]}
    assert (regions["us-east-1"]["kmsKey"], regions["eu-west-1"]["kmsKey"]) == ("DEFAULT", KEY_EU)


def test_liveness_fails_without_the_api_server_and_recovers_by_itself(
    kube: Kube, operator: Operator, cluster: LocalControlPlane
) -> None:
    assert operator.healthz() == 200
    cluster.stop_apiserver()
    try:
        # Within the documented bound: a 3 s request, kopf's 10 s cache.
        wait_for("/healthz to fail", lambda: operator.healthz() == 500, timeout=30)
    finally:
        cluster.start_apiserver()
    wait_for("/healthz to recover", lambda: operator.healthz() == 200, timeout=30)
    kube.apply(EXAMPLE)  # and the operator works again, without a restart
    kube.wait_reason(NAME, "Reconciled")


def test_json_logs_one_object_per_line(
    kube: Kube, operator_kubeconfig: Path, control: EmulatorControl, tmp_path: Path
) -> None:
    op = Operator(
        operator_kubeconfig,
        control.endpoint_url,
        tmp_path / "json.log",
        {"operator.logFormat": "json"},
    )
    op.start()
    try:
        kube.apply(EXAMPLE)
        kube.wait_reason(NAME, "Reconciled")
    finally:
        kube.delete_all()
        op.stop()
    lines = [
        json.loads(line) for line in op.log_path.read_text().splitlines() if line.startswith("{")
    ]
    ready = [r for r in lines if "Ready=True" in r.get("message", "")]
    assert ready and ready[0]["object"]["name"] == NAME, lines[-5:]
