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
import yaml

from awsorg_emulator import EmulatorControl
from awsorg_operator.aws.clients import ClientFactory
from awsorg_operator.aws.connector import AwsConnector
from awsorg_operator.failures import Retry
from awsorg_operator.reconciler import Reconciler
from awsorg_operator.settings import ClientSettings
from tests.integration.conftest import AUDIT, REGIONS, Clock, Harness
from tests.integration.test_plan_command import manifest, parsed, run_plan
from tests.integration.test_reconcile import as_management, trusted
from tests.memory_kube import MemoryJournal, MemoryLeases

pytestmark = pytest.mark.integration

POLICY = Path(__file__).parents[2] / "docs" / "iam" / "operator-policy.json"
EXAMPLE = Path(__file__).parents[2] / "examples" / "restricted-regions.yaml"
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


def operator_user(control: EmulatorControl, deny: dict[str, Any]) -> tuple[str, str]:
    """An IAM user of the management account with the documented policy and `deny`; its key."""
    iam = as_management(control.endpoint_url, "iam")
    iam.create_user(UserName="awsorg-operator")
    policy = json.loads(POLICY.read_text())
    policy["Statement"].append(deny)
    iam.put_user_policy(
        UserName="awsorg-operator", PolicyName="operator", PolicyDocument=json.dumps(policy)
    )
    key = iam.create_access_key(UserName="awsorg-operator")["AccessKey"]
    return str(key["AccessKeyId"]), str(key["SecretAccessKey"])


@pytest.fixture
def operator_key(control: EmulatorControl) -> Iterator[tuple[str, str]]:
    """The operator's user, denied one Region; IAM enforced from here to the end of the test."""
    key = operator_user(control, region_deny(DENIED))
    control.configure(enforce_iam=True)
    try:
        yield key
    finally:
        control.configure(enforce_iam=False)


@pytest.fixture
def restricted(
    control: EmulatorControl,
    operator_key: tuple[str, str],
    aws_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> Harness:
    """The operator, as that user."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", operator_key[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", operator_key[1])
    return Harness(reconciler_for_this_test(), control, annotations=dict(ALLOW))


def reconciler_for_this_test() -> Reconciler:
    """As the conftest's, built after the test set the credentials boto3 is to read."""
    return Reconciler(
        AwsConnector(ClientFactory(ClientSettings(default_region="us-east-1", max_attempts=2))),
        MemoryLeases(),
        MemoryJournal(),
        default_region="us-east-1",
        now=Clock(),
    )


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


def test_the_plan_command_says_the_same(
    tmp_path: Path, control: EmulatorControl, operator_key: tuple[str, str]
) -> None:
    key, secret = operator_key
    spec: dict[str, Any] = {"trustedAccess": "Disabled", "delegatedAdminAccountID": None}
    done = run_plan(
        tmp_path,
        control.endpoint_url,
        manifest(**spec),
        output="text",
        access_key=key,
        secret_key=secret,
    )
    assert done.returncode == 1, done
    assert f"error: {DENIED}: GetAccountStatus: AccessDeniedException" in done.stdout
    assert f"list {DENIED} under {FIELD}" in done.stdout
    assert "approving would" not in done.stdout, "nothing to approve: a read to fix"

    spec["assumeNoDelegatedAdminIn"] = [DENIED]
    control.clear_calls()
    done = run_plan(
        tmp_path, control.endpoint_url, manifest(**spec), access_key=key, secret_key=secret
    )
    (res,) = parsed(done)["resources"]
    assert (done.returncode, res["errors"]) == (2, []), done
    disable = res["blocked"][-1]["actions"][-1]
    assert disable["operation"] == "DisableAWSServiceAccess"
    assert DENIED in disable["why"] and FIELD in disable["why"]
    assert calls_to(control, DENIED) == []


def test_the_example_is_ready_and_its_deletion_never_calls_a_denied_region(
    control: EmulatorControl, aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """examples/restricted-regions.yaml, with the role denied every Region it does not list
    (AWS's own example policy shape: a Deny with StringNotEquals on aws:RequestedRegion)."""
    example = yaml.safe_load(EXAMPLE.read_text())
    listed = example["spec"]["regions"]
    deny = {**region_deny("x"), "Condition": {"StringNotEquals": {"aws:RequestedRegion": listed}}}
    key, secret = operator_user(control, deny)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    control.configure(enforce_iam=True)
    control.clear_calls()  # setting the user up wrote to IAM
    try:
        org = Harness(reconciler_for_this_test(), control).apply(**example["spec"])
        org.reconcile()
        assert org.condition("Ready")[0:2] == ("True", "Reconciled"), org.condition("Ready")
        assert org.writes() == []
        out = org.delete()
    finally:
        control.configure(enforce_iam=False)
    assert out.retry is None and not trusted(control)
    called = {c["region"] for c in control.calls() if c["service"] == "auditmanager"}
    assert called == set(listed), "only the listed Regions are ever called"
