"""Reliability rows 7 and 8 through the real path: the reconciler, `aws/`'s boto3 code and the
emulator over HTTP, with the emulator's faults and callers. Each case would write if the
behaviour under test broke, so "no write" is a check that can fail."""

from __future__ import annotations

import pytest

from awsorg_emulator import EmulatorControl
from awsorg_emulator.client import FaultKindName
from tests.integration.conftest import AUDIT, MGMT, REGIONS, Harness
from tests.integration.test_reconcile import adopt, am_state

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("kind", "synced"), [("accessDenied", "AccessDenied"), ("internal", "AwsError")]
)
def test_an_admin_read_denied_or_failing_while_active_is_never_no_administrator(
    org: Harness, control: EmulatorControl, kind: FaultKindName, synced: str
) -> None:
    """Row 8. Read as "no administrator", the answer would make the operator register the
    administrator again: the write is what a broken reading of the error sends."""
    control.configure(maintenance_mode=False)  # a re-registration would be accepted
    assert am_state(control, "eu-west-1")["accounts"][MGMT] == "ACTIVE"
    control.add_fault(
        kind,
        service="auditmanager",
        operation="GetOrganizationAdminAccount",
        region="eu-west-1",
        count=100,
    )
    control.clear_calls()
    adopt(org).reconcile()
    failed = [c for c in control.calls() if c["operation"] == "GetOrganizationAdminAccount"]
    assert any(c["fault"] and c["region"] == "eu-west-1" for c in failed), failed
    assert org.condition("Ready")[0] == "Unknown", org.condition("Ready")
    assert org.condition("Synced")[0:2] == ("False", synced), org.condition("Synced")
    assert org.writes() == []
    assert am_state(control, "eu-west-1")["adminAccountID"] == AUDIT
    control.clear_faults()
    adopt(org).reconcile()
    assert org.condition("Ready")[0:2] == ("True", "Reconciled") and org.writes() == []


@pytest.mark.parametrize(("caller", "refused"), [(MGMT, False), (AUDIT, True)])
def test_a_member_account_caller_is_refused_a_spec_that_writes(
    org: Harness,
    control: EmulatorControl,
    monkeypatch: pytest.MonkeyPatch,
    caller: str,
    refused: bool,
) -> None:
    """Row 7. An empty organization and a spec that needs writes in every Region: the
    management account sends them (the case that shows the spec writes), a member account's
    credentials are refused before the first."""
    control.reset(seed="empty", maintenance_mode=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", caller)
    out = adopt(org).reconcile()
    status, reason, message = org.condition("Ready")
    if refused:
        assert (status, reason) == ("False", "NotManagementAccount") and AUDIT in message
        assert org.writes() == [] and out.retry is None
        # Refused before anything else was asked: AWS refuses a member most reads as well
        # (a missing check ends in AccessDenied on them), so "no write" alone is not enough.
        calls = control.calls()
        assert {c["operation"] for c in calls} == {"DescribeOrganization", "GetCallerIdentity"}
        assert {c["account"] for c in calls} == {AUDIT}, calls
    else:
        assert {r for _, r in org.writes()} >= set(REGIONS), org.writes()
