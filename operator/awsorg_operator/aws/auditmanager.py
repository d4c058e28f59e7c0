"""AWS Audit Manager, one Region at a time (Audit Manager is Regional)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from awsorg_operator.aws.calls import call
from awsorg_operator.failures import CallError
from awsorg_operator.observed import AccountStatus

if TYPE_CHECKING:
    from types_boto3_auditmanager import AuditManagerClient


def account_status(am: AuditManagerClient) -> AccountStatus:
    answer = call("GetAccountStatus", am.get_account_status).get("status", "")
    # A status this code does not know is treated as not yet active: no action, not Ready.
    # Only an ACTIVE account may read further: an unregistered one gets AccessDenied from
    # the other reads, and that is not "no administrator" (AWS's API reference for
    # GetOrganizationAdminAccount, https://docs.aws.amazon.com/audit-manager/latest/APIReference/),
    # so we do not ask.
    known = answer in AccountStatus.__members__.values()
    return AccountStatus(answer) if known else AccountStatus.PENDING_ACTIVATION


def kms_key(am: AuditManagerClient) -> str:
    settings = call("GetSettings", lambda: am.get_settings(attribute="ALL")).get("settings", {})
    # Assumption: no kmsKey in the settings means the AWS owned key, which the API calls
    # DEFAULT; otherwise `kmsKey: DEFAULT` would look drifted forever.
    return settings.get("kmsKey") or "DEFAULT"


def admin(am: AuditManagerClient) -> str | None:
    try:
        answer = call("GetOrganizationAdminAccount", am.get_organization_admin_account)
    except CallError as e:
        # "None" is not documented (AWS's API reference for GetOrganizationAdminAccount,
        # https://docs.aws.amazon.com/audit-manager/latest/APIReference/); Terraform reads
        # ResourceNotFoundException so. AccessDenied stays an error: it does not mean "none".
        if e.failure.code == "ResourceNotFoundException":
            return None
        raise
    return answer.get("adminAccountId") or None


def register_account(am: AuditManagerClient, kms_key: str | None, admin: str | None) -> None:
    args: dict[str, str] = {}
    if kms_key:
        args["kmsKey"] = kms_key
    if admin:
        args["delegatedAdminAccount"] = admin
    call("RegisterAccount", lambda: am.register_account(**args))


def register_admin(am: AuditManagerClient, admin: str) -> None:
    call(
        "RegisterOrganizationAdminAccount",
        lambda: am.register_organization_admin_account(adminAccountId=admin),
    )


def deregister_admin(am: AuditManagerClient, admin: str) -> None:
    try:
        call(
            "DeregisterOrganizationAdminAccount",
            lambda: am.deregister_organization_admin_account(adminAccountId=admin),
        )
    except CallError as e:
        # Already gone: AWS answers one of these (the errors of DeregisterOrganizationAdmin-
        # Account in https://docs.aws.amazon.com/audit-manager/latest/APIReference/), and
        # Terraform treats both as done. A restart after a deregistration must not fail on it.
        gone = e.failure.code == "ResourceNotFoundException" or (
            e.failure.code == "ValidationException" and "not in expected state" in e.failure.message
        )
        if not gone:
            raise


def update_kms_key(am: AuditManagerClient, kms_key: str) -> None:
    call("UpdateSettings", lambda: am.update_settings(kmsKey=kms_key))


def deregister_account(am: AuditManagerClient) -> None:
    """A retirement's last call in a Region; it applies the account's deregistration policy.
    Sent again to an account already INACTIVE, AWS answers INACTIVE (the emulator's README)."""
    call("DeregisterAccount", am.deregister_account)
