"""Whole reconciles against moto (Organizations, STS) and our Audit Manager emulator."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from awsorg_emulator import EmulatorControl
from awsorg_emulator.client import FaultKindName
from awsorg_emulator.schema import AuditManagerRegionView
from awsorg_operator.failures import Retry
from tests.integration.conftest import AUDIT, MGMT, REGIONS, WORKLOADS, Harness

pytestmark = pytest.mark.integration

# An approval names the administrator it lets go (the seed's AUDIT).
ALLOW = {"awsorg.io/allow-admin-change": AUDIT}


def adopt(org: Harness, **extra: Any) -> Harness:
    """The seeded organization's own setup, with `extra` changing or adding to it."""
    spec = {"trustedAccess": "Enabled", "delegatedAdminAccountID": AUDIT, "regions": REGIONS}
    return org.apply(**(spec | extra))


def newer_than(org: Harness) -> Harness:
    """A second resource, created an hour after `org`, that sees `org`'s claim."""
    return Harness(
        org.reconciler,
        org.control,
        name="newer",
        uid="uid-newer",
        created="2026-11-29T11:00:00Z",
        others=[org.claim()],
    )


def am_state(control: EmulatorControl, region: str) -> AuditManagerRegionView:
    return control.state()["auditManager"][region]


def trusted(control: EmulatorControl) -> bool:
    return "auditmanager.amazonaws.com" in control.state()["trustedAccess"]


def as_management(endpoint: str, service: str, region: str = "us-east-1") -> Any:
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint,  # type: ignore[call-overload]
        aws_access_key_id=MGMT,
        aws_secret_access_key="x",
    )


def test_adopts_an_existing_setup_with_no_writes(org: Harness, control: EmulatorControl) -> None:
    out = adopt(org).reconcile()
    assert org.condition("Ready") == (
        "True",
        "Reconciled",
        "AWS matches the spec in us-east-1, eu-west-1",
    )
    assert org.condition("Synced")[0] == "True"
    s = out.status
    organization = control.state()["organization"]
    assert organization is not None
    assert (s.organization_id, s.management_account_id) == (
        organization["id"],
        MGMT,
    )
    assert (s.trusted_access, s.delegated_admin_account_id) == ("Enabled", AUDIT)
    assert [
        (r.region, r.account_status, r.delegated_admin_account_id, r.kms_key) for r in s.regions
    ] == [(r, "ACTIVE", AUDIT, "DEFAULT") for r in REGIONS]
    assert org.writes() == []
    # One Event: the organization is claimed for this resource; nothing about AWS changed.
    assert out.retry is None and [e.reason for e in out.events] == ["Claimed"]


def test_a_second_reconcile_when_aws_matches_makes_zero_writes(
    org: Harness, control: EmulatorControl
) -> None:
    adopt(org).reconcile()
    control.clear_calls()
    org.reconcile()
    assert org.writes() == []
    assert control.calls(), "it did observe"


def test_creates_from_scratch_with_maintenance_mode_off(
    org: Harness, control: EmulatorControl
) -> None:
    control.reset(seed="empty", maintenance_mode=False)
    out = adopt(org).reconcile()
    assert org.condition("Ready")[0:2] == ("True", "Reconciled"), org.condition("Ready")
    assert trusted(control)
    assert AUDIT in control.state()["delegatedAdministrators"]["auditmanager.amazonaws.com"]
    for region in REGIONS:
        assert am_state(control, region)["adminAccountID"] == AUDIT
    # Audit Manager's own register call enabled trusted access: no Organizations fallback.
    assert ("EnableAWSServiceAccess", "us-east-1") not in org.writes()
    assert {e.reason for e in out.events} == {"Claimed", "RegisterAccount"}


def test_maintenance_mode_refuses_a_new_region_and_keeps_the_others(
    org: Harness, control: EmulatorControl
) -> None:
    out = org.apply(
        trustedAccess="Enabled", delegatedAdminAccountID=AUDIT, regions=[*REGIONS, "ap-southeast-2"]
    ).reconcile()
    status, reason, message = org.condition("Ready")
    assert (status, reason) == ("False", "MaintenanceMode")
    assert "ValidationException" in message and "ap-southeast-2" in message
    by_region = {r.region: r for r in out.status.regions}
    assert by_region["us-east-1"].delegated_admin_account_id == AUDIT
    assert (
        by_region["ap-southeast-2"].message
        and "maintenance mode" in by_region["ap-southeast-2"].message
    )
    assert out.retry is None, "terminal: no retry until the spec changes or the re-check"


def test_admin_change_is_blocked_without_the_annotation(
    org: Harness, control: EmulatorControl
) -> None:
    out = adopt(org, delegatedAdminAccountID=WORKLOADS).reconcile()
    status, reason, message = org.condition("Ready")
    assert (status, reason) == ("False", "AdminChangeBlocked")
    assert "evidence finder" in message and "awsorg.io/allow-admin-change" in message
    assert org.writes() == []
    assert am_state(control, "us-east-1")["adminAccountID"] == AUDIT
    assert out.retry is None


def test_admin_change_with_the_annotation(org: Harness, control: EmulatorControl) -> None:
    control.configure(maintenance_mode=False)
    org.annotations.update(ALLOW)
    out = adopt(org, delegatedAdminAccountID=WORKLOADS).reconcile()
    assert org.condition("Ready")[0:2] == ("True", "Reconciled"), org.condition("Ready")
    for region in REGIONS:
        assert am_state(control, region)["adminAccountID"] == WORKLOADS
    # Each Region in AWS's order (deregister first); the Regions side by side
    # (tests/integration/test_concurrent_order.py reads the order off the timestamps).
    for region in REGIONS:
        ops = [op for op, r in org.writes() if r == region]
        assert ops == ["DeregisterOrganizationAdminAccount", "RegisterOrganizationAdminAccount"]
    assert [e.reason for e in out.events].count("DeregisterOrganizationAdminAccount") == 2


def test_disable_deregisters_then_disables_and_leaves_other_services(
    org: Harness, control: EmulatorControl
) -> None:
    org.annotations.update(ALLOW)
    org.apply(trustedAccess="Disabled", regions=REGIONS).reconcile()
    assert org.condition("Ready")[0:2] == ("True", "Reconciled"), org.condition("Ready")
    assert not trusted(control)
    assert "config.amazonaws.com" in control.state()["trustedAccess"]
    assert [op for op, _ in org.writes()][-1] == "DisableAWSServiceAccess"


def test_disable_without_the_annotation_changes_nothing(
    org: Harness, control: EmulatorControl
) -> None:
    org.apply(trustedAccess="Disabled", regions=REGIONS).reconcile()
    assert org.condition("Ready")[0:2] == ("False", "AdminChangeBlocked")
    assert trusted(control) and org.writes() == []


@pytest.mark.parametrize(
    ("policy", "ready", "corrected"),
    [("Manage", ("True", "Reconciled"), True), ("Observe", ("False", "Drifted"), False)],
)
def test_drift_is_corrected_or_reported(
    org: Harness, control: EmulatorControl, policy: str, ready: tuple[str, str], corrected: bool
) -> None:
    adopt(org, managementPolicy=policy, kmsKey="DEFAULT").reconcile()
    assert org.condition("Ready")[0] == "True"
    key = "arn:aws:kms:us-east-1:123456789012:key/behind-your-back"
    as_management(control.endpoint_url, "auditmanager").update_settings(kmsKey=key)
    control.clear_calls()
    out = org.reconcile()
    assert org.condition("Ready")[0:2] == ready
    assert (am_state(control, "us-east-1")["kmsKey"] == "DEFAULT") is corrected
    assert any(e.reason == "Drifted" and key in e.message for e in out.events)
    if not corrected:
        assert org.writes() == []


def test_the_first_resource_to_claim_owns_the_organization(
    org: Harness, control: EmulatorControl
) -> None:
    out = adopt(org).reconcile()
    assert [e.reason for e in out.events] == ["Claimed"]
    newer = newer_than(org)
    # A spec that, on its own, would deregister everything and disable trusted access.
    newer.annotations.update(ALLOW)
    newer.apply(trustedAccess="Disabled", regions=REGIONS).reconcile()
    status, reason, message = newer.condition("Ready")
    assert (status, reason) == ("False", "Conflict") and "'org'" in message
    assert "delete 'org'" in message and "deletionPolicy Retain" in message
    assert newer.writes() == [] and trusted(control)
    assert newer.last is not None and newer.last.retry is None
    # Deleting the loser with deletionPolicy Delete must not touch the owner's organization.
    newer.apply(
        trustedAccess="Enabled",
        delegatedAdminAccountID=AUDIT,
        regions=REGIONS,
        deletionPolicy="Delete",
    ).delete()
    assert newer.last.retry is None, "the finalizer may go"
    assert newer.writes() == [] and trusted(control)
    assert am_state(control, "us-east-1")["adminAccountID"] == AUDIT
    adopt(org).reconcile()
    assert org.condition("Ready")[0:2] == ("True", "Reconciled"), "the owner kept it"


def test_creation_time_does_not_decide_an_older_resource_that_claimed_later_conflicts(
    org: Harness, control: EmulatorControl
) -> None:
    newer = newer_than(org)
    newer.others = []
    adopt(newer).reconcile()  # the newer resource reconciled first: it claimed
    org.others = [newer.claim()]
    adopt(org).reconcile()
    status, reason, message = org.condition("Ready")
    assert (status, reason) == ("False", "Conflict") and "'newer'" in message


def test_a_holder_deleted_with_retain_hands_over_to_the_next_resource(
    org: Harness, control: EmulatorControl
) -> None:
    adopt(org).reconcile()
    newer = newer_than(org)
    adopt(newer).reconcile()
    assert newer.condition("Ready")[1] == "Conflict"
    gone = org.delete()
    assert gone.retry is None and "Released" in [e.reason for e in gone.events]
    newer.others = []  # org is gone from the API server
    out = newer.reconcile()
    assert newer.condition("Ready")[0:2] == ("True", "Reconciled")
    (claimed,) = [e for e in out.events if e.reason == "Claimed"]
    assert "'org' released it" in claimed.message
    assert newer.writes() == []


@pytest.mark.parametrize(("policy", "deregistered"), [("Retain", False), ("Delete", True)])
def test_deletion_honours_the_policy(
    org: Harness, control: EmulatorControl, policy: str, deregistered: bool
) -> None:
    adopt(org, deletionPolicy=policy).reconcile()
    out = org.delete()
    assert out.retry is None, "the finalizer may go"
    assert (am_state(control, "us-east-1")["adminAccountID"] is None) is deregistered
    assert trusted(control) is not deregistered
    assert "config.amazonaws.com" in control.state()["trustedAccess"]


def test_deletion_leaves_an_administrator_it_does_not_manage(
    org: Harness, control: EmulatorControl
) -> None:
    adopt(
        org, delegatedAdminAccountID=WORKLOADS, deletionPolicy="Delete"
    ).reconcile()  # blocked: AWS has AUDIT
    out = org.delete()
    assert out.retry is None and am_state(control, "us-east-1")["adminAccountID"] == AUDIT
    assert trusted(control)
    assert any(e.reason == "Retained" for e in out.events)


@pytest.mark.parametrize(
    ("service", "operation", "kind", "reason"),
    [
        ("auditmanager", "GetAccountStatus", "throttle", "Throttled"),
        ("organizations", "ListAWSServiceAccessForOrganization", "throttle", "Throttled"),
        ("organizations", "DescribeOrganization", "internal", "AwsError"),
    ],
)
def test_temporary_failures_retry_soon_then_converge(
    org: Harness,
    control: EmulatorControl,
    service: str,
    operation: str,
    kind: FaultKindName,
    reason: str,
) -> None:
    # More faults than botocore's attempts (2 here), so the failure reaches the reconciler;
    # in one Region, since the Regions are read at once and would share the faults.
    control.add_fault(service=service, operation=operation, kind=kind, count=2, region="us-east-1")
    out = adopt(org).reconcile()
    assert org.condition("Synced")[0:2] == ("False", reason), org.condition("Synced")
    assert out.retry is Retry.SOON
    org.reconcile()
    assert org.condition("Ready")[0:2] == ("True", "Reconciled"), org.condition("Ready")


def test_throttling_within_botocore_attempts_is_absorbed(
    org: Harness, control: EmulatorControl
) -> None:
    control.add_fault(
        service="auditmanager", operation="GetAccountStatus", kind="throttle", count=1
    )
    adopt(org).reconcile()
    assert org.condition("Ready")[0:2] == ("True", "Reconciled"), org.condition("Ready")


def test_concurrent_modification_is_retried_and_other_progress_kept(
    org: Harness, control: EmulatorControl
) -> None:
    control.reset(seed="empty", maintenance_mode=False)
    # botocore retries no ConcurrentModificationException: one is enough to reach us.
    control.add_fault(
        service="organizations",
        operation="EnableAWSServiceAccess",
        kind="concurrentModification",
        count=1,
    )
    out = org.apply(trustedAccess="Enabled", regions=REGIONS).reconcile()
    assert org.condition("Synced")[0:2] == ("False", "ConcurrentModification")
    assert out.retry is Retry.SOON
    assert [r.account_status for r in out.status.regions] == ["ACTIVE", "ACTIVE"]
    org.reconcile()
    assert org.condition("Ready")[0:2] == ("True", "Reconciled"), org.condition("Ready")
    assert trusted(control)


def test_access_denied_names_the_action_and_retries_slowly(
    org: Harness, control: EmulatorControl
) -> None:
    control.add_fault(
        service="organizations",
        operation="ListDelegatedAdministrators",
        kind="accessDenied",
        count=1,
    )
    out = adopt(org).reconcile()
    status, reason, message = org.condition("Synced")
    assert (status, reason) == ("False", "AccessDenied")
    assert "ListDelegatedAdministrators" in message
    # AWS could not be read, so whether it matches the spec is unknown, not "no".
    assert org.condition("Ready")[0:2] == ("Unknown", "AccessDenied")
    assert out.retry is Retry.SLOWLY


def test_a_member_account_caller_is_refused_before_any_write(
    org: Harness, control: EmulatorControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AUDIT)
    out = org.apply(trustedAccess="Disabled").reconcile()
    status, reason, message = org.condition("Ready")
    assert (status, reason) == ("False", "NotManagementAccount") and AUDIT in message
    assert org.writes() == [] and out.retry is None


@pytest.mark.parametrize(
    ("admin", "words"), [(MGMT, "management account"), ("999999999999", "not a member")]
)
def test_an_invalid_delegated_admin_is_refused_before_any_write(
    org: Harness, control: EmulatorControl, admin: str, words: str
) -> None:
    org.apply(trustedAccess="Enabled", delegatedAdminAccountID=admin).reconcile()
    status, reason, message = org.condition("Ready")
    assert (status, reason) == ("False", "InvalidDelegatedAdmin") and words in message
    assert org.writes() == []


def test_credentials_reaching_another_organization_are_refused(
    org: Harness, control: EmulatorControl
) -> None:
    # As if this resource had managed another organization before its credentials changed.
    org.status = org.status.model_copy(update={"organization_id": "o-somewhereelse"})
    org.annotations.update(ALLOW)
    org.apply(trustedAccess="Disabled", regions=REGIONS, deletionPolicy="Delete")
    for _ in range(2):  # the refusal must not erase the organization it compares with
        org.reconcile()
        assert org.condition("Ready")[0:2] == ("False", "OrganizationMismatch")
        assert org.status.organization_id == "o-somewhereelse"
    for _ in range(2):
        out = org.delete()
        assert out.retry is Retry.SLOWLY, "the deletion waits for a person"
    assert org.writes() == [] and trusted(control)


def test_lasttransitiontime_moves_only_when_status_does(
    org: Harness, control: EmulatorControl
) -> None:
    adopt(org).reconcile()
    first = org.status.condition("Ready")
    org.reconcile()
    again = org.status.condition("Ready")
    assert first and again and first.last_transition_time == again.last_transition_time
    adopt(org, delegatedAdminAccountID=WORKLOADS)
    org.reconcile()
    blocked = org.status.condition("Ready")
    assert blocked and blocked.status == "False"
    assert blocked.last_transition_time != first.last_transition_time


def test_credentials_role_arn_is_assumed_instead_of_the_own_identity(
    org: Harness, control: EmulatorControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    role = as_management(control.endpoint_url, "iam").create_role(
        RoleName="awsorg-operator",
        AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[]}',
    )["Role"]["Arn"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", WORKLOADS)  # the operator's own identity: a member
    adopt(org, credentials={"roleARN": role, "externalID": "ext-1234"}).reconcile()
    assert org.condition("Ready")[0:2] == ("True", "Reconciled"), org.condition("Ready")
    calls = control.calls()
    assume = [c for c in calls if c["operation"] == "AssumeRole"]
    assert len(assume) == 1 and assume[0]["account"] == WORKLOADS
    assert {c["account"] for c in calls if c["service"] == "auditmanager"} == {MGMT}


def test_disabling_deregisters_nothing_while_an_unlisted_region_has_an_administrator(
    org: Harness, control: EmulatorControl
) -> None:
    org.annotations.update(ALLOW)
    org.apply(trustedAccess="Disabled", regions=["us-east-1"]).reconcile()
    status, reason, message = org.condition("Ready")
    assert (status, reason) == ("False", "DelegatedAdminElsewhere") and "eu-west-1" in message
    assert org.writes() == [] and am_state(control, "us-east-1")["adminAccountID"] == AUDIT


def test_under_observe_a_blocked_change_is_reported_as_drift(
    org: Harness, control: EmulatorControl
) -> None:
    adopt(org, delegatedAdminAccountID=WORKLOADS, managementPolicy="Observe").reconcile()
    assert org.condition("Ready")[0:2] == ("False", "Drifted")
    assert org.writes() == []


def test_trusted_access_falls_back_to_organizations_when_audit_manager_refuses(
    org: Harness, control: EmulatorControl
) -> None:
    control.reset(seed="empty", maintenance_mode=True)  # RegisterAccount will be refused
    org.apply(trustedAccess="Enabled", delegatedAdminAccountID=AUDIT, regions=["us-east-1"])
    org.reconcile()
    assert org.condition("Ready")[0:2] == ("False", "MaintenanceMode")
    assert trusted(control), "Organizations enabled trusted access after Audit Manager refused"
    assert [op for op, _ in org.writes()] == ["RegisterAccount", "EnableAWSServiceAccess"]
