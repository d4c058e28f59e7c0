"""The call log records every request of every service, in order."""

from __future__ import annotations

import re

import pytest

from awsorg_emulator import AUDIT_ACCOUNT_ID, MANAGEMENT_ACCOUNT_ID, EmulatorControl
from tests.emulator.emulator_helpers import AUDIT_MANAGER, ClientFactory, aws_error

pytestmark = pytest.mark.integration


def test_every_service_is_logged_in_order(aws: ClientFactory, control: EmulatorControl) -> None:
    aws("sts").get_caller_identity()
    aws("iam").list_roles()
    aws("organizations").describe_organization()
    aws("auditmanager", region="eu-west-1").get_organization_admin_account()
    member = aws("organizations", account=AUDIT_ACCOUNT_ID)
    aws_error(lambda: member.enable_aws_service_access(ServicePrincipal=AUDIT_MANAGER))

    calls = [
        (c["service"], c["operation"], c["account"], c["region"], c["outcome"])
        for c in control.calls()
    ]

    mgmt, denied = MANAGEMENT_ACCOUNT_ID, "AccessDeniedException"
    assert calls == [
        ("sts", "GetCallerIdentity", mgmt, "us-east-1", "ok"),
        ("iam", "ListRoles", mgmt, "us-east-1", "ok"),
        ("organizations", "DescribeOrganization", mgmt, "us-east-1", "ok"),
        ("auditmanager", "GetOrganizationAdminAccount", mgmt, "eu-west-1", "ok"),
        ("organizations", "EnableAWSServiceAccess", AUDIT_ACCOUNT_ID, "us-east-1", denied),
    ]


def test_moto_errors_are_logged_with_their_code(
    aws: ClientFactory, control: EmulatorControl
) -> None:
    aws_error(lambda: aws("iam").get_role(RoleName="does-not-exist"))
    aws_error(lambda: aws("organizations").describe_account(AccountId="999999999999"))

    outcomes = [(c["operation"], c["outcome"]) for c in control.calls()]

    assert outcomes == [
        ("GetRole", "NoSuchEntity"),
        ("DescribeAccount", "AccountNotFoundException"),
    ]


def test_injected_faults_are_marked(aws: ClientFactory, control: EmulatorControl) -> None:
    control.add_fault("throttle", service="auditmanager")
    aws_error(aws("auditmanager").get_account_status)

    [call] = control.calls()

    assert (call["outcome"], call["fault"]) == ("ThrottlingException", "throttle")


def test_call_log_is_cleared_on_request_and_on_reset(
    aws: ClientFactory, control: EmulatorControl
) -> None:
    aws("sts").get_caller_identity()
    control.clear_calls()
    after_clear = control.calls()
    aws("sts").get_caller_identity()
    control.reset()

    assert after_clear == []
    assert control.calls() == []


def test_callers_are_named_as_cloudtrail_names_them(
    aws: ClientFactory, control: EmulatorControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The caller's address and User-Agent: callers behind one address (pods behind a node's
    masquerade) are told apart by their SDK's application ID (AWS_SDK_UA_APP_ID)."""
    for app in ("replica-0", "replica-1"):
        monkeypatch.setenv("AWS_SDK_UA_APP_ID", app)  # as the node tests give each pod its UID
        aws("sts").get_caller_identity()

    calls = control.calls()

    assert {c["sourceIPAddress"] for c in calls} == {"127.0.0.1"}
    assert [re.findall(r"\bapp/(\S+)", c["userAgent"]) for c in calls] == [
        ["replica-0"],
        ["replica-1"],
    ]
