"""Maintenance mode (since 2026-04-30): no new accounts, no additional Regions."""

from __future__ import annotations

import pytest

from awsorg_emulator import (
    AUDIT_ACCOUNT_ID,
    MANAGEMENT_ACCOUNT_ID,
    WORKLOADS_ACCOUNT_ID,
    EmulatorControl,
)
from tests.emulator.emulator_helpers import MAINTENANCE_PREFIX, ClientFactory, aws_error

pytestmark = pytest.mark.integration

FULL_MESSAGE = (
    "AWS Audit Manager is now in maintenance mode. As of April 30, 2026, you cannot enable "
    "Audit Manager for new accounts or in additional AWS Regions. We will continue to support "
    "existing Audit Manager accounts in current Regions. Learn more: "
    "https://docs.aws.amazon.com/audit-manager/latest/userguide/"
    "audit-manager-availability-change.html"
)


@pytest.mark.parametrize(
    "params", [{}, {"delegatedAdminAccount": AUDIT_ACCOUNT_ID}], ids=["plain", "with-admin"]
)
def test_new_account_is_refused(
    aws: ClientFactory, control: EmulatorControl, params: dict[str, str]
) -> None:
    control.reset(seed="empty")
    am = aws("auditmanager")

    failure = aws_error(lambda: am.register_account(**params))

    assert (failure.code, failure.status, failure.message) == (
        "ValidationException",
        400,
        FULL_MESSAGE,
    )
    state = control.state()
    assert "us-east-1" not in state["auditManager"]
    assert state["trustedAccess"] == []


def test_existing_account_in_additional_region_is_refused(aws: ClientFactory) -> None:
    failure = aws_error(aws("auditmanager", region="us-west-2").register_account)

    assert failure.code == "ValidationException"
    assert failure.message.startswith(MAINTENANCE_PREFIX)


def test_active_account_may_register_again(aws: ClientFactory) -> None:
    assert aws("auditmanager").register_account()["status"] == "ACTIVE"


def test_pre_cutoff_pair_may_reregister_by_default(aws: ClientFactory) -> None:
    am = aws("auditmanager", region="eu-west-1")
    am.deregister_account()

    assert am.register_account()["status"] == "ACTIVE"


def test_pre_cutoff_reregistration_can_be_switched_off(
    aws: ClientFactory, control: EmulatorControl
) -> None:
    control.configure(reregister_pre_cutoff=False)
    am = aws("auditmanager", region="eu-west-1")
    am.deregister_account()

    failure = aws_error(am.register_account)

    assert failure.message.startswith(MAINTENANCE_PREFIX)
    assert am.get_account_status()["status"] == "INACTIVE"


def test_new_admin_after_removing_the_old_one_is_refused(aws: ClientFactory) -> None:
    am = aws("auditmanager")
    am.deregister_organization_admin_account(adminAccountId=AUDIT_ACCOUNT_ID)

    failure = aws_error(
        lambda: am.register_organization_admin_account(adminAccountId=WORKLOADS_ACCOUNT_ID)
    )

    assert failure.message.startswith(MAINTENANCE_PREFIX)
    assert am.get_organization_admin_account().get("adminAccountId") is None


def test_pre_cutoff_admin_may_come_back(aws: ClientFactory) -> None:
    am = aws("auditmanager")
    am.deregister_organization_admin_account(adminAccountId=AUDIT_ACCOUNT_ID)

    result = am.register_organization_admin_account(adminAccountId=AUDIT_ACCOUNT_ID)

    assert result["adminAccountId"] == AUDIT_ACCOUNT_ID


def test_maintenance_off_allows_new_accounts_regions_and_admins(
    aws: ClientFactory, control: EmulatorControl
) -> None:
    control.reset(seed="existing-customer", maintenance_mode=False)
    am = aws("auditmanager")
    am.deregister_organization_admin_account(adminAccountId=AUDIT_ACCOUNT_ID)

    new_region = aws("auditmanager", region="us-west-2").register_account()
    new_admin = am.register_organization_admin_account(adminAccountId=WORKLOADS_ACCOUNT_ID)

    assert new_region["status"] == "ACTIVE"
    assert new_admin["adminAccountId"] == WORKLOADS_ACCOUNT_ID
    assert control.state()["auditManager"]["us-west-2"]["accounts"] == {
        MANAGEMENT_ACCOUNT_ID: "ACTIVE"
    }


def test_maintenance_mode_can_be_switched_at_run_time(
    aws: ClientFactory, control: EmulatorControl
) -> None:
    am = aws("auditmanager", region="us-west-2")
    aws_error(am.register_account)

    config = control.configure(maintenance_mode=False)

    assert config["maintenanceMode"] is False
    assert am.register_account()["status"] == "ACTIVE"
