"""Organizations refuses what AWS documents it refuses, on top of moto."""

from __future__ import annotations

from typing import Any

import pytest

from awsorg_emulator import (
    AUDIT_ACCOUNT_ID,
    MANAGEMENT_ACCOUNT_ID,
    UNRELATED_PRINCIPAL,
    WORKLOADS_ACCOUNT_ID,
    EmulatorControl,
)
from tests.emulator.emulator_helpers import AUDIT_MANAGER, ClientFactory, aws_error

pytestmark = pytest.mark.integration

PRINCIPAL = {"ServicePrincipal": AUDIT_MANAGER}
ADMIN = {"AccountId": AUDIT_ACCOUNT_ID, "ServicePrincipal": AUDIT_MANAGER}
MANAGEMENT_ONLY_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("enable_aws_service_access", PRINCIPAL),
    ("disable_aws_service_access", PRINCIPAL),
    ("list_aws_service_access_for_organization", {}),
    ("register_delegated_administrator", ADMIN),
    ("deregister_delegated_administrator", ADMIN),
    ("list_delegated_administrators", {}),
    ("describe_account", {"AccountId": AUDIT_ACCOUNT_ID}),
    ("list_accounts", {}),
]


@pytest.mark.parametrize(("method", "params"), MANAGEMENT_ONLY_CALLS)
def test_member_account_is_refused_management_only_calls(
    aws: ClientFactory, control: EmulatorControl, method: str, params: dict[str, Any]
) -> None:
    member = aws("organizations", account=WORKLOADS_ACCOUNT_ID)

    failure = aws_error(lambda: getattr(member, method)(**params))

    assert (failure.code, failure.status) == ("AccessDeniedException", 403)
    assert WORKLOADS_ACCOUNT_ID in failure.message
    assert control.state()["trustedAccess"] == [AUDIT_MANAGER, UNRELATED_PRINCIPAL]


def test_member_account_may_describe_its_organization(aws: ClientFactory) -> None:
    member = aws("organizations", account=WORKLOADS_ACCOUNT_ID)

    org = member.describe_organization()["Organization"]

    assert org["MasterAccountId"] == MANAGEMENT_ACCOUNT_ID


def test_delegated_admin_may_read_the_organization(aws: ClientFactory) -> None:
    admin = aws("organizations", account=AUDIT_ACCOUNT_ID)

    accounts = admin.list_accounts()["Accounts"]
    admins = admin.list_delegated_administrators(ServicePrincipal=AUDIT_MANAGER)
    access = admin.list_aws_service_access_for_organization()["EnabledServicePrincipals"]

    assert len(accounts) == 3
    assert [a["Id"] for a in admins["DelegatedAdministrators"]] == [AUDIT_ACCOUNT_ID]
    assert {p["ServicePrincipal"] for p in access} == {AUDIT_MANAGER, UNRELATED_PRINCIPAL}
    failure = aws_error(lambda: admin.enable_aws_service_access(**PRINCIPAL))
    assert failure.code == "AccessDeniedException"


def test_audit_manager_is_accepted_as_delegated_admin_principal(
    control: EmulatorControl, aws: ClientFactory
) -> None:
    control.reset(seed="empty")
    org = aws("organizations")

    org.enable_aws_service_access(**PRINCIPAL)
    org.register_delegated_administrator(**ADMIN)

    admins = org.list_delegated_administrators(ServicePrincipal=AUDIT_MANAGER)
    assert [a["Id"] for a in admins["DelegatedAdministrators"]] == [AUDIT_ACCOUNT_ID]
    assert control.state()["delegatedAdministrators"] == {AUDIT_MANAGER: [AUDIT_ACCOUNT_ID]}


def test_enabling_audit_manager_trusted_access_creates_service_linked_role(
    control: EmulatorControl, aws: ClientFactory
) -> None:
    control.reset(seed="empty")

    aws("organizations").enable_aws_service_access(**PRINCIPAL)

    role = aws("iam").get_role(RoleName="AWSServiceRoleForAuditManager")["Role"]
    assert role["Path"] == f"/aws-service-role/{AUDIT_MANAGER}/"


def test_delegated_admin_needs_trusted_access_first(
    control: EmulatorControl, aws: ClientFactory
) -> None:
    control.reset(seed="empty")

    failure = aws_error(lambda: aws("organizations").register_delegated_administrator(**ADMIN))

    assert failure.code == "ConstraintViolationException"
    assert failure.response["Reason"] == "SERVICE_ACCESS_NOT_ENABLED"


def test_disable_refused_while_audit_manager_admin_registered(
    control: EmulatorControl, aws: ClientFactory
) -> None:
    org = aws("organizations")

    failure = aws_error(lambda: org.disable_aws_service_access(**PRINCIPAL))

    assert (failure.code, failure.status) == ("ConstraintViolationException", 400)
    assert failure.response["Reason"] == "DELEGATED_ADMINISTRATOR_EXISTS_FOR_THIS_SERVICE"
    assert control.state()["trustedAccess"] == [AUDIT_MANAGER, UNRELATED_PRINCIPAL]


def test_disable_allowed_after_deregistration_and_leaves_other_services(
    control: EmulatorControl, aws: ClientFactory
) -> None:
    org = aws("organizations")

    org.deregister_delegated_administrator(**ADMIN)
    org.disable_aws_service_access(**PRINCIPAL)

    state = control.state()
    assert state["trustedAccess"] == [UNRELATED_PRINCIPAL]
    assert state["delegatedAdministrators"] == {}


def test_organizations_deregistration_removes_audit_manager_admin_everywhere(
    control: EmulatorControl, aws: ClientFactory
) -> None:
    aws("organizations").deregister_delegated_administrator(**ADMIN)

    regions = control.state()["auditManager"]
    assert {region: view["adminAccountID"] for region, view in regions.items()} == {
        "eu-west-1": None,
        "us-east-1": None,
    }
    assert aws("auditmanager").get_organization_admin_account().get("adminAccountId") is None
