"""A Region the operator's own IAM policy denies (a Deny on aws:RequestedRegion, as many
organizations write them), met over HTTP with IAM enforced by the emulator: disabling trusted
access names the Region and the fix and changes nothing, until the spec states, for that
Region by name, that no delegated administrator is registered there."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from awsorg_emulator import EmulatorControl
from awsorg_operator.aws.clients import ClientFactory
from awsorg_operator.aws.connector import AwsConnector
from awsorg_operator.failures import Retry
from awsorg_operator.reconciler import Reconciler
from awsorg_operator.settings import ClientSettings
from tests.integration.conftest import AUDIT, REGIONS, Clock, Harness
from tests.integration.test_reconcile import as_management, trusted
from tests.memory_kube import MemoryJournal, MemoryLeases

pytestmark = pytest.mark.integration

POLICY = Path(__file__).parents[2] / "docs" / "iam" / "operator-policy.json"
DENIED = "ap-southeast-2"  # offered, not listed, no administrator there in the seed
FIELD = "spec.assumeNoDelegatedAdminIn"
ALLOW = {"awsorg.io/allow-admin-change": AUDIT}


def region_deny(region: str) -> dict[str, Any]:
    return {
        "Sid": "DenyUnusedRegion",
        "Effect": "Deny",
        "Action": "auditmanager:*",
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:RequestedRegion": region}},
    }


@pytest.fixture
def restricted(
    control: EmulatorControl, aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Harness]:
    """The operator as an IAM user of the management account with the documented policy and a
    Deny for one Region; IAM enforced from here to the end of the test."""
    iam = as_management(control.endpoint_url, "iam")
    iam.create_user(UserName="awsorg-operator")
    policy = json.loads(POLICY.read_text())
    policy["Statement"].append(region_deny(DENIED))
    iam.put_user_policy(
        UserName="awsorg-operator", PolicyName="operator", PolicyDocument=json.dumps(policy)
    )
    key = iam.create_access_key(UserName="awsorg-operator")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    reconciler = Reconciler(
        AwsConnector(ClientFactory(ClientSettings(default_region="us-east-1", max_attempts=2))),
        MemoryLeases(),
        MemoryJournal(),
        default_region="us-east-1",
        now=Clock(),
    )
    control.configure(enforce_iam=True)
    try:
        yield Harness(reconciler, control, annotations=dict(ALLOW))
    finally:
        control.configure(enforce_iam=False)


def calls_to(control: EmulatorControl, region: str) -> list[tuple[str, str]]:
    return [
        (c["operation"], c["outcome"])
        for c in control.calls()
        if c["service"] == "auditmanager" and c["region"] == region
    ]


def assert_waits_for_the_region(org: Harness, control: EmulatorControl) -> None:
    message = org.condition("Ready")[2]
    assert f"{DENIED} could not be read (AccessDeniedException)" in message, message
    assert "auditmanager:GetAccountStatus" in message and f"list {DENIED} under {FIELD}" in message
    assert org.condition("Synced")[0:2] == ("False", "AccessDenied")
    assert trusted(control), "trusted access stays enabled"
    assert ("GetAccountStatus", "AccessDeniedException") in calls_to(control, DENIED)


def test_disabled_waits_for_the_denied_region_until_the_spec_states_it(
    restricted: Harness, control: EmulatorControl
) -> None:
    org = restricted.apply(trustedAccess="Disabled", regions=REGIONS)
    control.clear_calls()
    out = org.reconcile()
    assert org.condition("Ready")[0:2] == ("Unknown", "AccessDenied")
    assert_waits_for_the_region(org, control)
    assert org.writes() == [], "no administrator is deregistered for a goal out of reach"
    assert out.retry is Retry.SLOWLY

    org.apply(trustedAccess="Disabled", regions=REGIONS, assumeNoDelegatedAdminIn=[DENIED])
    control.clear_calls()
    org.reconcile()
    assert org.condition("Ready")[0:2] == ("True", "Reconciled"), org.condition("Ready")
    assert not trusted(control)
    assert sorted(org.writes()) == [
        ("DeregisterOrganizationAdminAccount", "eu-west-1"),
        ("DeregisterOrganizationAdminAccount", "us-east-1"),
        ("DisableAWSServiceAccess", "us-east-1"),
    ]
    assert org.writes()[-1][0] == "DisableAWSServiceAccess"
    assert calls_to(control, DENIED) == [], "a Region the spec vouches for is never called"


def test_deletion_with_delete_waits_for_the_denied_region_until_the_spec_states_it(
    restricted: Harness, control: EmulatorControl
) -> None:
    spec = {
        "trustedAccess": "Enabled",
        "delegatedAdminAccountID": AUDIT,
        "regions": REGIONS,
        "deletionPolicy": "Delete",
    }
    org = restricted.apply(**spec)
    org.reconcile()
    assert org.condition("Ready")[0:2] == ("True", "Reconciled"), org.condition("Ready")
    control.clear_calls()
    out = org.delete()
    assert out.retry is Retry.SLOWLY, "the finalizer stays"
    assert org.condition("Ready")[0:2] == ("False", "Deleting")
    assert "deletion waits" in org.condition("Ready")[2]
    assert_waits_for_the_region(org, control)
    # The deletion's own part, its administrator in the listed Regions, is done already.
    assert sorted(org.writes()) == [
        ("DeregisterOrganizationAdminAccount", "eu-west-1"),
        ("DeregisterOrganizationAdminAccount", "us-east-1"),
    ]

    org.apply(**spec, assumeNoDelegatedAdminIn=[DENIED])
    control.clear_calls()
    out = org.delete()
    assert out.retry is None, "the finalizer may go"
    assert not trusted(control)
    assert org.writes() == [("DisableAWSServiceAccess", "us-east-1")]
    assert calls_to(control, DENIED) == []
