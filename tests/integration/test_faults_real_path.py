"""AWS faults through the real path: the reconciler, the boto3 seam, the emulator over HTTP.

A fault is the emulator's (a Region that hangs, a token AWS calls expired, reads that lag a
write), never an exception raised by hand.
"""

from __future__ import annotations

import pytest

from awsorg_devbase import wait_for
from awsorg_emulator import EmulatorControl
from awsorg_emulator.schema import CallRecord
from awsorg_operator.api import PlannedState
from awsorg_operator.aws.clients import ClientFactory
from awsorg_operator.aws.connector import AwsConnector
from awsorg_operator.failures import Retry
from awsorg_operator.reconciler import Reconciler
from awsorg_operator.settings import ClientSettings
from tests.integration.conftest import AUDIT, WORKLOADS, Clock, Harness
from tests.integration.test_reconcile import adopt, am_state, as_management
from tests.memory_kube import MemoryJournal, MemoryLeases

pytestmark = pytest.mark.integration


def test_a_write_in_flight_is_not_sent_again_while_aws_reads_lag(
    org: Harness, control: EmulatorControl
) -> None:
    control.configure(maintenance_mode=False)
    as_management(
        control.endpoint_url, "auditmanager", "eu-west-1"
    ).deregister_organization_admin_account(adminAccountId=AUDIT)
    control.configure(stale_read_seconds=3.0)
    control.clear_calls()
    adopt(org).reconcile()
    assert org.writes() == [("RegisterOrganizationAdminAccount", "eu-west-1")]
    assert org.condition("Ready")[0:2] == ("False", "Pending")
    out = adopt(org).reconcile()  # the read still shows no administrator
    assert org.writes() == [("RegisterOrganizationAdminAccount", "eu-west-1")], "sent twice"
    assert out.retry is Retry.SOON
    assert [p.state for p in org.status.planned_actions] == [PlannedState.IN_FLIGHT]

    def ready() -> bool:  # reconciles, as the re-check does, until the lagging read catches up
        adopt(org).reconcile()
        return org.condition("Ready")[0] == "True"

    wait_for("the read to show the administrator", ready, timeout=15, every=0.5)
    assert org.condition("Ready")[0:2] == ("True", "Reconciled")
    assert len(org.writes()) == 1 and am_state(control, "eu-west-1")["adminAccountID"] == AUDIT


def test_an_expired_token_is_retried_soon_never_terminal(
    org: Harness, control: EmulatorControl
) -> None:
    control.add_fault("expiredToken", service="sts", operation="GetCallerIdentity", count=1)
    out = adopt(org).reconcile()
    assert org.condition("Synced")[0:2] == ("False", "AwsCredentialsExpired")
    assert org.condition("Ready")[0] == "Unknown"
    assert out.retry is Retry.SOON
    adopt(org).reconcile()
    assert org.condition("Ready")[0:2] == ("True", "Reconciled")


def test_a_region_that_hangs_ends_within_the_timeouts_and_the_others_are_reported(
    control: EmulatorControl, aws_env: None
) -> None:
    settings = ClientSettings("us-east-1", connect_timeout=1, read_timeout=1, max_attempts=1)
    connector = AwsConnector(ClientFactory(settings))
    reconciler = Reconciler(connector, MemoryLeases(), MemoryJournal(), "us-east-1", now=Clock())
    org = Harness(reconciler, control)
    control.add_fault(
        "latency", service="auditmanager", region="eu-west-1", latency_seconds=3, count=100
    )
    out = adopt(org).reconcile()
    regions = {r.region: r for r in org.status.regions}
    assert regions["us-east-1"].delegated_admin_account_id == AUDIT
    assert "ReadTimeoutError" in (regions["eu-west-1"].message or ""), regions
    assert org.condition("Ready")[0:2] == ("Unknown", "AwsError")
    assert out.retry is Retry.SOON and org.writes() == []
    # ReadTimeoutError: the client's timeout ended the call, not the endpoint's answer.
    control.clear_faults()
    adopt(org).reconcile()
    assert org.condition("Ready")[0:2] == ("True", "Reconciled")


def test_assumed_role_credentials_are_refreshed_across_several_expiries(
    org: Harness, control: EmulatorControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reliability row 14. The emulator refuses assumed-role credentials after 2 s; the
    operator keeps one client per identity across reconciles, as it runs."""
    role = as_management(control.endpoint_url, "iam").create_role(
        RoleName="awsorg-operator", AssumeRolePolicyDocument='{"Version":"2012-10-17"}'
    )["Role"]["Arn"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", WORKLOADS)  # the operator's own identity
    control.configure(credential_lifetime_seconds=2)
    adopt(org, credentials={"roleARN": role})
    # Reconciles until AWS has issued credentials three times (each lifetime ends within 2 s,
    # so a slow machine only makes each reconcile span more of them); the total wait alone
    # is bounded. What is asserted is what AWS saw: no request with expired credentials.

    def renewed_twice() -> bool:
        org.reconcile()
        assert org.condition("Ready")[0:2] == ("True", "Reconciled"), org.condition("Synced")
        return len(_assumed(control)) >= 3

    # Every 0.5 s: the pacing of reconciles, as the re-check's interval would.
    wait_for("credentials issued three times", renewed_twice, timeout=90, every=0.5)
    assert control.config()["expiredRequests"] == 0, "an expired token was sent"


def _assumed(control: EmulatorControl) -> list[CallRecord]:
    return [c for c in control.calls() if c["operation"] == "AssumeRole" and c["outcome"] == "ok"]


def test_credentials_aws_calls_expired_are_built_anew(
    org: Harness, control: EmulatorControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ExpiredToken although botocore thought the credentials valid (a clock that
    drifted): retried soon, and the next reconcile assumes the role again."""
    role = as_management(control.endpoint_url, "iam").create_role(
        RoleName="awsorg-operator", AssumeRolePolicyDocument='{"Version":"2012-10-17"}'
    )["Role"]["Arn"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", WORKLOADS)
    adopt(org, credentials={"roleARN": role}).reconcile()
    # Whose credentials they are is asked once per identity; the organization every time.
    control.add_fault("expiredToken", service="organizations", operation="DescribeOrganization")
    out = org.reconcile()
    assert org.condition("Synced")[0:2] == ("False", "AwsCredentialsExpired")
    assert out.retry is Retry.SOON
    before = len([c for c in control.calls() if c["operation"] == "AssumeRole"])
    org.reconcile()
    after = len([c for c in control.calls() if c["operation"] == "AssumeRole"])
    assert org.condition("Ready")[0:2] == ("True", "Reconciled") and after == before + 1


def test_a_throttled_write_happens_exactly_once(org: Harness, control: EmulatorControl) -> None:
    """Row 1: TooManyRequestsException on a write beyond botocore's attempts: Synced=False
    Throttled, retried soon, and AWS receives the write exactly once."""
    control.reset(seed="empty", maintenance_mode=False)
    # No administrator: registering the account does not enable trusted access, so
    # Organizations' EnableAWSServiceAccess is needed. Throttled twice: both attempts.
    control.add_fault(
        "throttle", service="organizations", operation="EnableAWSServiceAccess", count=2
    )
    out = org.apply(trustedAccess="Enabled", regions=["us-east-1"]).reconcile()
    assert org.condition("Synced")[0:2] == ("False", "Throttled")
    assert out.retry is Retry.SOON
    org.reconcile()
    assert org.condition("Ready")[0:2] == ("True", "Reconciled"), org.condition("Ready")
    enabled = [
        c
        for c in control.calls()
        if c["operation"] == "EnableAWSServiceAccess" and c["outcome"] == "ok"
    ]
    assert len(enabled) == 1
