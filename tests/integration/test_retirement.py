"""The guarded retirement (spec.retirement) over HTTP against the emulator, from the adopted
organization of the `existing-customer` seed: it waits for an approval naming the organization;
then, Region by Region, evidence finder off in the administrator's account, the administrator
deregistered, the management account's deregistration policy set and the account deregistered,
and only then trusted access disabled. A step AWS refuses stops its Region there, and the next
reconcile sends only what is left (the emulator's call log says what was sent)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from awsorg_emulator import EmulatorControl, EmulatorProcess
from awsorg_operator.auditsettings import ALLOW_IRREVERSIBLE_ANNOTATION
from tests.integration.conftest import (
    ADMIN_EXTERNAL_ID,
    AUDIT,
    MGMT,
    MUTATING,
    REGIONS,
    Harness,
    make_reconciler,
)
from tests.integration.test_plan_command import parsed, run_plan

pytestmark = pytest.mark.integration

ORG = "o-awsorgemu01"
EAST, WEST = REGIONS


@pytest.fixture
def org(aws_env: None, control: EmulatorControl) -> Harness:
    # One attempt per call: a refused step is refused, not retried past the fault a test sets.
    return Harness(make_reconciler(max_attempts=1, region=EAST), control)


def retire(role: str | None = None, **retirement: str) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "trustedAccess": "Disabled",
        "regions": REGIONS,
        "retirement": {"deleteResources": "Default", **retirement},
    }
    if role:
        spec["adminCredentials"] = {"roleARN": role, "externalID": ADMIN_EXTERNAL_ID}
    return spec


def approve(org: Harness) -> None:
    org.annotations[ALLOW_IRREVERSIBLE_ANNOTATION] = f"{ORG}:retirement@{org.generation}"


def writes(org: Harness) -> list[tuple[str, str, str]]:
    """Every write AWS received since the log was cleared: operation, Region, calling account."""
    return [
        (c["operation"], c["region"], c["account"])
        for c in org.control.calls()
        if c["operation"].startswith(MUTATING)
    ]


def in_steps(sent: list[tuple[str, str, str]]) -> list[tuple[str, set[str], str]]:
    """The writes as steps: the Regions of one step are sent side by side, in any order."""
    out: list[tuple[str, set[str], str]] = []
    for op, region, account in sent:
        if out and out[-1][0] == op and out[-1][2] == account:
            out[-1][1].add(region)
        else:
            out.append((op, {region}, account))
    return out


def ready(org: Harness) -> tuple[str, str]:
    return org.condition("Ready")[0:2]


def test_the_retirement_waits_for_an_approval_naming_the_organization(org: Harness) -> None:
    org.apply(**retire(deleteResources="All")).reconcile()
    status, reason, message = org.condition("Ready")
    assert (status, reason) == ("False", "IrreversibleSettingBlocked"), message
    assert f'"{ORG}:retirement@{org.generation}"' in message and "within 7 days" in message
    waiting = [(p.operation, p.region, p.state.value) for p in org.status.planned_actions]
    per_region = [
        "DeregisterOrganizationAdminAccount",
        "UpdateSettings",
        "DeregisterAccount",
    ]
    assert waiting == [
        *[(op, region, "AwaitingApproval") for region in REGIONS for op in per_region],
        ("DisableAWSServiceAccess", None, "AwaitingApproval"),
    ]
    org.control.clear_calls()
    # An approval of another organization, or of an earlier generation, approves nothing.
    for wrong in (f"o-other:retirement@{org.generation}", f"{ORG}:retirement@0", "true"):
        org.annotations[ALLOW_IRREVERSIBLE_ANNOTATION] = wrong
        org.reconcile()
        assert ready(org) == ("False", "IrreversibleSettingBlocked"), wrong
    assert writes(org) == []


def test_the_steps_go_in_order_and_a_later_reconcile_repeats_no_write(
    org: Harness, control: EmulatorControl, admin_role: str
) -> None:
    org.apply(**retire(admin_role, evidenceFinder="Disabled", deleteResources="All"))
    approve(org)
    control.configure(evidence_finder_seconds=None)  # a step ends on settle_evidence_finder
    control.clear_calls()
    org.reconcile()
    # First evidence finder off in the administrator's account; the rest waits until AWS
    # shows it DISABLED.
    assert writes(org) == [("UpdateSettings", region, AUDIT) for region in REGIONS]
    assert ready(org) == ("False", "Pending"), org.condition("Ready")
    control.clear_calls()
    org.reconcile()
    assert writes(org) == []  # DISABLE_IN_PROGRESS: still waiting, nothing sent again
    control.settle_evidence_finder()
    org.reconcile()
    steps = ["DeregisterOrganizationAdminAccount", "UpdateSettings", "DeregisterAccount"]
    assert in_steps(writes(org)) == [
        *[(op, set(REGIONS), MGMT) for op in steps],
        ("DisableAWSServiceAccess", {EAST}, MGMT),
    ]
    assert ready(org) == ("True", "Reconciled"), org.condition("Ready")
    assert org.status.trusted_access is not None and org.status.trusted_access.value == "Disabled"
    assert {r.account_status for r in org.status.regions} == {"INACTIVE"}
    control.clear_calls()
    org.reconcile()
    assert writes(org) == []


def test_a_refused_step_stops_its_region_there_and_the_next_reconcile_sends_only_the_rest(
    org: Harness, control: EmulatorControl
) -> None:
    org.apply(**retire())
    approve(org)
    control.clear_calls()
    control.add_fault("accessDenied", operation="DeregisterAccount", region=WEST, count=1)
    org.reconcile()
    assert in_steps(writes(org)) == [
        ("DeregisterOrganizationAdminAccount", set(REGIONS), MGMT),
        ("DeregisterAccount", set(REGIONS), MGMT),  # refused in WEST: no disabling after it
    ]
    status, reason, message = org.condition("Ready")
    assert (status, reason) == ("False", "AccessDenied"), message
    assert org.status.trusted_access is not None and org.status.trusted_access.value == "Enabled"
    control.clear_calls()
    org.reconcile()
    assert writes(org) == [
        ("DeregisterAccount", WEST, MGMT),
        ("DisableAWSServiceAccess", "us-east-1", MGMT),
    ]
    assert ready(org) == ("True", "Reconciled"), org.condition("Ready")


def test_the_plan_command_lists_every_step_of_the_retirement(
    tmp_path: Path, emulator: EmulatorProcess, control: EmulatorControl
) -> None:
    resource = {
        "apiVersion": "awsorg.io/v1alpha1",
        "kind": "AuditManagerOrgConfig",
        "metadata": {"name": "retire"},
        "spec": retire(deleteResources="All"),
    }
    control.clear_calls()
    done = run_plan(tmp_path, emulator.endpoint_url, resource)
    assert done.returncode == 2, done
    (res,) = parsed(done)["resources"]
    (blocked,) = res["blocked"]
    assert blocked["reason"] == "IrreversibleSettingBlocked"
    shown = [(a["operation"], a["region"], a.get("settings")) for a in blocked["actions"]]
    assert shown[:3] == [
        ("DeregisterOrganizationAdminAccount", EAST, None),
        ("UpdateSettings", EAST, "deregistrationPolicy=ALL"),
        ("DeregisterAccount", EAST, None),
    ]
    assert shown[-1] == ("DisableAWSServiceAccess", None, None)
    text = run_plan(tmp_path, emulator.endpoint_url, resource, output="text").stdout
    assert "approving would:" in text and "DeregisterAccount in us-east-1" in text
    assert not [c for c in control.calls() if c["operation"].startswith(MUTATING)]


def test_under_observe_an_approved_retirement_is_listed_and_nothing_is_sent(org: Harness) -> None:
    org.apply(**retire(), managementPolicy="Observe")
    approve(org)
    org.control.clear_calls()
    org.reconcile()
    assert ready(org) == ("False", "Drifted"), org.condition("Ready")
    planned = org.status.planned_actions
    assert {p.state.value for p in planned} == {"NotApplied"}
    assert [p.operation for p in planned][-1] == "DisableAWSServiceAccess"
    assert writes(org) == []
