"""Audit Manager's account registration, delegated administrator and settings."""

from __future__ import annotations

from typing import Any

import pytest

from awsorg_emulator import (
    AUDIT_ACCOUNT_ID,
    MANAGEMENT_ACCOUNT_ID,
    ORGANIZATION_ID,
    UNRELATED_PRINCIPAL,
    WORKLOADS_ACCOUNT_ID,
    EmulatorControl,
)
from tests.emulator.emulator_helpers import AUDIT_MANAGER, NOT_REGISTERED, ClientFactory, aws_error

pytestmark = pytest.mark.integration

KMS_KEY = "arn:aws:kms:us-east-1:111111111111:key/0a1b2c3d-aaaa-bbbb-cccc-000000000000"
MANAGEMENT_ONLY_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("register_organization_admin_account", {"adminAccountId": WORKLOADS_ACCOUNT_ID}),
    ("deregister_organization_admin_account", {"adminAccountId": AUDIT_ACCOUNT_ID}),
    ("get_organization_admin_account", {}),
    ("register_account", {"delegatedAdminAccount": WORKLOADS_ACCOUNT_ID}),
]


@pytest.mark.parametrize(("method", "params"), MANAGEMENT_ONLY_CALLS)
def test_member_account_is_refused_management_only_calls(
    aws: ClientFactory, control: EmulatorControl, method: str, params: dict[str, Any]
) -> None:
    # The admin account is itself ACTIVE in us-east-1, so only the management rule applies.
    member = aws("auditmanager", account=AUDIT_ACCOUNT_ID)

    failure = aws_error(lambda: getattr(member, method)(**params))

    assert (failure.code, failure.status) == ("AccessDeniedException", 403)
    assert control.state()["auditManager"]["us-east-1"]["adminAccountID"] == AUDIT_ACCOUNT_ID


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("get_organization_admin_account", {}),
        ("get_settings", {"attribute": "ALL"}),
        ("update_settings", {"kmsKey": "DEFAULT"}),
        ("register_organization_admin_account", {"adminAccountId": AUDIT_ACCOUNT_ID}),
        ("deregister_organization_admin_account", {}),
    ],
)
def test_unregistered_account_is_told_it_is_not_registered(
    aws: ClientFactory, method: str, params: dict[str, Any]
) -> None:
    am = aws("auditmanager", region="ap-southeast-2")

    failure = aws_error(lambda: getattr(am, method)(**params))

    assert (failure.code, failure.status, failure.message) == (
        "AccessDeniedException",
        403,
        NOT_REGISTERED,
    )


def test_changing_admin_while_one_is_active_is_refused(
    aws: ClientFactory, control: EmulatorControl
) -> None:
    control.configure(maintenance_mode=False)
    am = aws("auditmanager")

    failure = aws_error(
        lambda: am.register_organization_admin_account(adminAccountId=WORKLOADS_ACCOUNT_ID)
    )

    assert (failure.code, failure.status) == ("ValidationException", 400)
    assert failure.message == (
        f"Cannot change delegated Admin for an active account {MANAGEMENT_ACCOUNT_ID} "
        f"from {AUDIT_ACCOUNT_ID} to {WORKLOADS_ACCOUNT_ID}"
    )
    assert control.state()["delegatedAdministrators"] == {AUDIT_MANAGER: [AUDIT_ACCOUNT_ID]}


def test_registering_the_same_admin_again_is_idempotent(aws: ClientFactory) -> None:
    am = aws("auditmanager")

    first = am.register_organization_admin_account(adminAccountId=AUDIT_ACCOUNT_ID)
    second = am.register_account(delegatedAdminAccount=AUDIT_ACCOUNT_ID)

    assert (first["adminAccountId"], first["organizationId"]) == (AUDIT_ACCOUNT_ID, ORGANIZATION_ID)
    assert second["status"] == "ACTIVE"


@pytest.mark.parametrize(
    ("admin", "fragment"),
    [
        (MANAGEMENT_ACCOUNT_ID, "management account"),
        ("999999999999", "isn't a member"),
        ("12345678901a", "pattern"),
    ],
)
def test_admin_must_be_a_member_account(
    aws: ClientFactory, control: EmulatorControl, admin: str, fragment: str
) -> None:
    control.reset(seed="empty", maintenance_mode=False)
    am = aws("auditmanager")
    am.register_account()

    failure = aws_error(lambda: am.register_organization_admin_account(adminAccountId=admin))

    assert (failure.code, failure.status) == ("ValidationException", 400)
    assert fragment in failure.message


def test_registering_admin_enables_trusted_access_and_organizations_admin(
    aws: ClientFactory, control: EmulatorControl
) -> None:
    control.reset(seed="empty", maintenance_mode=False)
    am = aws("auditmanager", region="eu-west-1")

    result = am.register_account(kmsKey=KMS_KEY, delegatedAdminAccount=AUDIT_ACCOUNT_ID)

    assert result["status"] == "ACTIVE"
    state = control.state()
    assert state["trustedAccess"] == [AUDIT_MANAGER]
    assert state["delegatedAdministrators"] == {AUDIT_MANAGER: [AUDIT_ACCOUNT_ID]}
    region = state["auditManager"]["eu-west-1"]
    assert region["adminAccountID"] == AUDIT_ACCOUNT_ID
    assert region["accounts"] == {AUDIT_ACCOUNT_ID: "ACTIVE", MANAGEMENT_ACCOUNT_ID: "ACTIVE"}
    assert region["kmsKey"] == KMS_KEY
    assert aws("iam").get_role(RoleName="AWSServiceRoleForAuditManager")


def test_deregistering_admin_region_by_region(aws: ClientFactory, control: EmulatorControl) -> None:
    us_east, eu_west = aws("auditmanager"), aws("auditmanager", region="eu-west-1")

    us_east.deregister_organization_admin_account(adminAccountId=AUDIT_ACCOUNT_ID)
    after_first = control.state()
    eu_west.deregister_organization_admin_account()
    after_both = control.state()

    assert us_east.get_organization_admin_account().get("adminAccountId") is None
    assert after_first["auditManager"]["us-east-1"]["accounts"][AUDIT_ACCOUNT_ID] == "INACTIVE"
    assert after_first["delegatedAdministrators"] == {AUDIT_MANAGER: [AUDIT_ACCOUNT_ID]}
    assert after_both["delegatedAdministrators"] == {}
    assert after_both["trustedAccess"] == [AUDIT_MANAGER, UNRELATED_PRINCIPAL]


def test_deregistering_an_absent_admin_answers_tenant_state(aws: ClientFactory) -> None:
    am = aws("auditmanager")
    am.deregister_organization_admin_account(adminAccountId=AUDIT_ACCOUNT_ID)

    failure = aws_error(
        lambda: am.deregister_organization_admin_account(adminAccountId=AUDIT_ACCOUNT_ID)
    )

    assert (failure.code, failure.status) == ("ValidationException", 400)
    assert failure.message == "Tenant is not in expected state"


def test_no_admin_is_a_success_without_admin_account_id(
    aws: ClientFactory, control: EmulatorControl
) -> None:
    control.reset(seed="empty", maintenance_mode=False)
    am = aws("auditmanager")
    am.register_account()

    result = am.get_organization_admin_account()

    assert "adminAccountId" not in result


def test_settings_round_trip(aws: ClientFactory, control: EmulatorControl) -> None:
    am = aws("auditmanager")

    updated = am.update_settings(kmsKey=KMS_KEY, evidenceFinderEnabled=False)["settings"]
    everything = am.get_settings(attribute="ALL")["settings"]
    org_enabled = am.get_settings(attribute="IS_AWS_ORG_ENABLED")["settings"]

    assert updated["kmsKey"] == everything["kmsKey"] == KMS_KEY
    assert org_enabled == {"isAwsOrgEnabled": True}
    assert control.state()["auditManager"]["us-east-1"]["kmsKey"] == KMS_KEY


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("update_settings", {"kmsKey": "not-a-key"}),
        ("register_account", {"kmsKey": "alias/mine"}),
        ("get_settings", {"attribute": "KMS_KEY"}),
    ],
)
def test_invalid_settings_are_validation_errors(
    aws: ClientFactory, method: str, params: dict[str, Any]
) -> None:
    am = aws("auditmanager")

    failure = aws_error(lambda: getattr(am, method)(**params))

    assert (failure.code, failure.status) == ("ValidationException", 400)


def test_register_account_updates_kms_key_of_active_account(
    aws: ClientFactory, control: EmulatorControl
) -> None:
    am = aws("auditmanager")

    assert am.register_account(kmsKey=KMS_KEY)["status"] == "ACTIVE"
    assert control.state()["auditManager"]["us-east-1"]["kmsKey"] == KMS_KEY


def test_deregister_account_makes_caller_inactive(aws: ClientFactory) -> None:
    am = aws("auditmanager", region="eu-west-1")

    assert am.deregister_account()["status"] == "INACTIVE"
    assert am.get_account_status()["status"] == "INACTIVE"
    assert aws("auditmanager").get_account_status()["status"] == "ACTIVE"


def test_forced_pending_activation_is_reported(
    aws: ClientFactory, control: EmulatorControl
) -> None:
    control.set_account_status(MANAGEMENT_ACCOUNT_ID, "us-east-1", "PENDING_ACTIVATION")

    assert aws("auditmanager").get_account_status()["status"] == "PENDING_ACTIVATION"


def test_unimplemented_operation_is_a_clear_validation_error(aws: ClientFactory) -> None:
    failure = aws_error(aws("auditmanager").list_assessments)

    assert (failure.code, failure.status) == ("ValidationException", 400)
    assert failure.response["reason"] == "unknownOperation"
