"""The caller's account comes from its credentials, as moto decides it."""

from __future__ import annotations

import pytest

from awsorg_emulator import (
    AUDIT_ACCOUNT_ID,
    MANAGEMENT_ACCOUNT_ID,
    WORKLOADS_ACCOUNT_ID,
    EmulatorControl,
)
from tests.emulator.emulator_helpers import ClientFactory, Credentials, aws_error

pytestmark = pytest.mark.integration


def assume(
    aws: ClientFactory, account_id: str, role: str = "OrganizationAccountAccessRole"
) -> Credentials:
    """sts:AssumeRole from the management account into ``role`` of ``account_id``."""
    role_arn = f"arn:aws:iam::{account_id}:role/{role}"
    creds = aws("sts").assume_role(RoleArn=role_arn, RoleSessionName="awsorg-operator")
    c = creds["Credentials"]
    return Credentials(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])


def test_default_credentials_are_the_management_account(aws: ClientFactory) -> None:
    creds = Credentials("testing", "testing")

    identity = aws("sts", credentials=creds).get_caller_identity()
    admin = aws("auditmanager", credentials=creds).get_organization_admin_account()

    assert identity["Account"] == MANAGEMENT_ACCOUNT_ID
    assert admin["adminAccountId"] == AUDIT_ACCOUNT_ID


def test_twelve_digit_access_key_is_that_account(aws: ClientFactory) -> None:
    identity = aws("sts", account=WORKLOADS_ACCOUNT_ID).get_caller_identity()

    assert identity["Account"] == WORKLOADS_ACCOUNT_ID


def test_assumed_role_in_member_account_is_that_member(
    aws: ClientFactory, control: EmulatorControl
) -> None:
    creds = assume(aws, AUDIT_ACCOUNT_ID)

    identity = aws("sts", credentials=creds).get_caller_identity()
    status = aws("auditmanager", credentials=creds).get_account_status()
    failure = aws_error(aws("auditmanager", credentials=creds).get_organization_admin_account)
    accounts = aws("organizations", credentials=creds).list_accounts()["Accounts"]

    assert identity["Account"] == AUDIT_ACCOUNT_ID
    assert status["status"] == "ACTIVE"  # the delegated administrator is registered
    assert failure.code == "AccessDeniedException"
    assert len(accounts) == 3  # a delegated administrator may read the organization
    assert [c["account"] for c in control.calls()][-3:] == [AUDIT_ACCOUNT_ID] * 3


def test_assumed_role_in_management_account_is_the_management_account(
    aws: ClientFactory,
) -> None:
    creds = assume(aws, MANAGEMENT_ACCOUNT_ID, role="awsorg-operator")

    am = aws("auditmanager", credentials=creds, region="eu-west-1")

    assert am.get_organization_admin_account()["adminAccountId"] == AUDIT_ACCOUNT_ID
