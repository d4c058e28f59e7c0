"""Organizations as strict as AWS documents it, in front of moto's Organizations.

moto keeps Organizations state per calling account and lets any account call any
operation; AWS does not. ``OrganizationsGuard.before`` refuses what AWS refuses and
says which account moto must act as; ``after`` applies side effects AWS documents.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from . import moto_state
from .errors import AwsError
from .moto_state import AUDIT_MANAGER_PRINCIPAL, OrgInfo

# "You can only call this operation from the management account." (Organizations API
# reference for each operation.)
MANAGEMENT_ONLY = frozenset(
    {
        "EnableAWSServiceAccess",
        "DisableAWSServiceAccess",
        "RegisterDelegatedAdministrator",
        "DeregisterDelegatedAdministrator",
    }
)
# "... from the management account or a member account that is a delegated
# administrator." (Organizations API reference for each operation.)
MANAGEMENT_OR_DELEGATED_ADMIN = frozenset(
    {
        "ListAWSServiceAccessForOrganization",
        "ListDelegatedAdministrators",
        "DescribeAccount",
        "ListAccounts",
    }
)

AdminRemovedHook = Callable[[str], None]


def _access_denied(operation: str, account: str) -> AwsError:
    return AwsError(
        "AccessDeniedException",
        f"You don't have permissions to access this resource. Account {account} can't call "
        f"organizations:{operation}: only the organization's management account can.",
        403,
    )


def _not_in_use() -> AwsError:
    return AwsError(
        "AWSOrganizationsNotInUseException",
        "Your account is not a member of an organization.",
        400,
    )


def _constraint(reason: str, message: str) -> AwsError:
    return AwsError("ConstraintViolationException", message, 400, {"Reason": reason})


class OrganizationsGuard:
    """Checks and side effects around moto's Organizations; callers hold the state lock."""

    def __init__(self, on_audit_manager_admin_removed: AdminRemovedHook) -> None:
        self._on_admin_removed = on_audit_manager_admin_removed

    def before(self, operation: str, caller: str, params: Mapping[str, Any]) -> str:
        """Refuse the call as AWS would, or return the account moto must act as."""
        guarded = operation in MANAGEMENT_ONLY or operation in MANAGEMENT_OR_DELEGATED_ADMIN
        if not guarded:
            return caller
        org = moto_state.organization_of(caller)
        if org is None:
            raise _not_in_use()
        acting = self._acting_account(operation, caller, org)
        self._check_constraints(operation, org, params)
        return acting

    def after(self, operation: str, params: Mapping[str, Any], management_id: str) -> None:
        """Side effects of a call that moto carried out successfully."""
        principal = params.get("ServicePrincipal")
        if principal != AUDIT_MANAGER_PRINCIPAL:
            return
        if operation == "EnableAWSServiceAccess":
            moto_state.ensure_audit_manager_service_linked_role(management_id)
        elif operation == "DeregisterDelegatedAdministrator":
            self._on_admin_removed(str(params.get("AccountId", "")))

    @staticmethod
    def _acting_account(operation: str, caller: str, org: OrgInfo) -> str:
        management_id = org.management_account_id
        if caller == management_id:
            return caller
        delegated_read = operation in MANAGEMENT_OR_DELEGATED_ADMIN
        if delegated_read and moto_state.is_delegated_admin(management_id, caller):
            # moto keeps the organization in the management account's backend.
            return management_id
        raise _access_denied(operation, caller)

    @staticmethod
    def _check_constraints(operation: str, org: OrgInfo, params: Mapping[str, Any]) -> None:
        principal = str(params.get("ServicePrincipal", ""))
        management_id = org.management_account_id
        if operation == "RegisterDelegatedAdministrator" and not (
            moto_state.is_trusted_access_enabled(management_id, principal)
        ):
            # ConstraintViolationException reason SERVICE_ACCESS_NOT_ENABLED: "You attempted
            # to register a delegated administrator before you enabled service access."
            raise _constraint(
                "SERVICE_ACCESS_NOT_ENABLED",
                f"Enable trusted access for {principal} before registering a delegated "
                "administrator for it.",
            )
        if operation == "DisableAWSServiceAccess" and principal == AUDIT_MANAGER_PRINCIPAL:
            _refuse_disable_with_admin(management_id, principal)


def _refuse_disable_with_admin(management_id: str, principal: str) -> None:
    """Refuse to disable Audit Manager's trusted access while it has a delegated admin.

    ASSUMPTION: AWS does not document which error this is; we answer
    ConstraintViolationException with reason DELEGATED_ADMINISTRATOR_EXISTS_FOR_THIS_SERVICE
    (the Organizations reason that names the situation).
    """
    admins = moto_state.delegated_admins(management_id).get(principal, [])
    if admins:
        raise _constraint(
            "DELEGATED_ADMINISTRATOR_EXISTS_FOR_THIS_SERVICE",
            f"Deregister the delegated administrator ({', '.join(admins)}) for {principal} "
            "before you disable its trusted access.",
        )
