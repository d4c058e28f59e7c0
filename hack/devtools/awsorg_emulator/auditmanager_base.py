"""The Audit Manager model's rules and state changes, under the operations in
`auditmanager.py`. Behaviour AWS does not document is marked ASSUMPTION next to the code."""

from __future__ import annotations

import threading
import time
from typing import Any

from . import moto_state
from .auditmanager_settings import AccountSettings, Timing
from .auditmanager_state import (
    ACCOUNT_ID_RE,
    MAINTENANCE_MESSAGE,
    NOT_REGISTERED_MESSAGE,
    AccountStatus,
    AuditManagerConfig,
    Caller,
    OrganizationsPort,
    RegionState,
    access_denied,
    drop_evidence_finder,
    validation_error,
)
from .moto_state import AUDIT_MANAGER_PRINCIPAL, OrgInfo


class AuditManagerBase:
    """The state of every Region, the rules and the state changes the operations share."""

    def __init__(
        self,
        lock: threading.RLock,
        organizations: OrganizationsPort = moto_state,
    ) -> None:
        self._lock = lock
        self._orgs = organizations
        self.config = AuditManagerConfig()
        self._regions: dict[str, RegionState] = {}
        self._pre_cutoff: set[tuple[str, str]] = set()

    def configure_evidence_finder(
        self, seconds: float | str | None, cloudtrail_lake_open: bool | None
    ) -> None:
        with self._lock:
            if not isinstance(seconds, str):
                self.config.evidence_finder_seconds = seconds
            if cloudtrail_lake_open is not None:
                self.config.cloudtrail_lake_open = cloudtrail_lake_open

    def settle(self) -> None:
        """Finish every evidence finder step in progress, in every account and Region."""
        with self._lock:
            for state in self._regions.values():
                for settings in state.settings.values():
                    settings.evidence_finder.settle()

    def seed_evidence_finder(self, account_id: str, region: str) -> None:
        """Evidence finder ENABLED and backfilled, as an account that enabled it long ago."""
        with self._lock:
            settings = self._settings(account_id, region)
            long_ago = Timing(0.0, 0.0, lake_open=True)
            settings.evidence_finder.request(True, long_ago, settings.data_store_arn())

    def set_evidence_finder_error(self, account_id: str, region: str, error: str | None) -> None:
        """Show ``error`` in the account's evidenceFinderEnablement, as AWS reports a failed
        step; None clears it."""
        with self._lock:
            self._settings(account_id, region).evidence_finder.error = error

    def timing(self) -> Timing:
        return Timing(
            time.monotonic(),
            self.config.evidence_finder_seconds,
            self.config.cloudtrail_lake_open,
        )

    # ----- rules -------------------------------------------------------------------

    def _require_management(self, caller: Caller, operation: str) -> OrgInfo:
        """Only the management account registers or reads the delegated administrator.

        Audit Manager user guide, "Configuring your delegated administrator". ASSUMPTION:
        the wording of the AccessDeniedException message.
        """
        org = self._orgs.organization_of(caller.account)
        if org is None or org.management_account_id != caller.account:
            raise access_denied(
                f"Account {caller.account} can't perform {operation}: only the management "
                "account of an organization in AWS Organizations can."
            )
        return org

    def _require_registered(self, caller: Caller) -> None:
        """Calls from an account not ACTIVE in the Region are refused: AccessDenied, "Your
        account isn't registered with AWS Audit Manager" (AWS's API reference, e.g. for
        GetOrganizationAdminAccount:
        https://docs.aws.amazon.com/audit-manager/latest/APIReference/).

        ASSUMPTION: PENDING_ACTIVATION counts as not registered.
        """
        if self._status(caller.account, caller.region) is not AccountStatus.ACTIVE:
            raise access_denied(NOT_REGISTERED_MESSAGE)

    def _check_admin_candidate(self, org: OrgInfo, admin_id: str) -> None:
        """The administrator must be a member account, never the management account.

        Audit Manager user guide ("the management account can't be a delegated
        administrator"). ASSUMPTION: ValidationException and these messages.
        """
        if not ACCOUNT_ID_RE.fullmatch(admin_id):
            raise validation_error(
                "Member must satisfy regular expression pattern: ^[0-9]{12}$", "adminAccountId"
            )
        if admin_id == org.management_account_id:
            raise validation_error(
                "The management account of the organization can't be the delegated "
                "administrator for AWS Audit Manager."
            )
        if admin_id not in org.member_account_ids:
            raise validation_error(f"Account {admin_id} isn't a member of organization {org.id}.")

    def _admin_change_needed(self, caller: Caller, org: OrgInfo, admin_id: str) -> bool:
        """One administrator at a time; the same one again is an idempotent success.

        Audit Manager user guide, "Changing a delegated administrator"; the message is the
        one Landing Zone Accelerator users reported (issue #370). Raises when refused.
        """
        current = self._admin_of(caller.region, org.management_account_id)
        if current == admin_id:
            return False
        if current is not None:
            raise validation_error(
                f"Cannot change delegated Admin for an active account "
                f"{org.management_account_id} from {current} to {admin_id}"
            )
        # ASSUMPTION: a new administrator in a Region where that account was not active
        # before the cut-off is refused in maintenance mode, like a new registration
        # (LZA #1121 saw the refusal on RegisterOrganizationAdminAccount).
        self._check_may_activate(admin_id, caller.region)
        return True

    def _check_may_activate(self, account_id: str, region: str) -> None:
        """Maintenance mode: no new accounts, no additional Regions (AWS's notice, below).

        https://docs.aws.amazon.com/audit-manager/latest/userguide/audit-manager-availability-change.html
        """
        if self._status(account_id, region) is AccountStatus.ACTIVE:
            return
        if not self.config.maintenance_mode:
            return
        if self.config.reregister_pre_cutoff and (account_id, region) in self._pre_cutoff:
            return
        raise validation_error(MAINTENANCE_MESSAGE)

    # ----- state changes -------------------------------------------------------------

    def _set_admin(self, region: str, org: OrgInfo, admin_id: str) -> None:
        """Record the administrator and do what Audit Manager does in Organizations.

        Organizations user guide, "AWS Audit Manager and AWS Organizations": designating
        the delegated administrator through Audit Manager enables trusted access itself.
        ASSUMPTION: the administrator account becomes ACTIVE in that Region.
        """
        management_id = org.management_account_id
        self._region(region).admins[management_id] = admin_id
        self._activate(admin_id, region, None)
        if not self._orgs.is_trusted_access_enabled(management_id, AUDIT_MANAGER_PRINCIPAL):
            self._orgs.enable_trusted_access(management_id, AUDIT_MANAGER_PRINCIPAL)
        self._orgs.register_delegated_admin(management_id, admin_id, AUDIT_MANAGER_PRINCIPAL)

    def _remove_admin(self, region: str, admin_id: str, management_id: str) -> None:
        """Remove the Region's administrator.

        ASSUMPTION: the old administrator becomes INACTIVE in that Region, and once no
        Region has it as administrator it is deregistered from Organizations' delegated
        administrators too. Trusted access stays enabled ("Disabling is possible only
        through Organizations", Organizations user guide).
        """
        state = self._region(region)
        state.admins.pop(management_id, None)
        state.accounts[admin_id] = AccountStatus.INACTIVE
        drop_evidence_finder(state, admin_id)
        if all(s.admins.get(management_id) != admin_id for s in self._regions.values()):
            self._orgs.deregister_delegated_admin(management_id, admin_id, AUDIT_MANAGER_PRINCIPAL)

    def _activate(self, account_id: str, region: str, kms_key: str | None) -> None:
        self._region(region).accounts[account_id] = AccountStatus.ACTIVE
        settings = self._settings(account_id, region)
        if kms_key is not None:
            settings.values["kmsKey"] = kms_key

    def _region(self, region: str) -> RegionState:
        return self._regions.setdefault(region, RegionState())

    def _admin_of(self, region: str, management_id: str) -> str | None:
        state = self._regions.get(region)
        return state.admins.get(management_id) if state else None

    def _status(self, account_id: str, region: str) -> AccountStatus:
        state = self._regions.get(region)
        if state is None:
            return AccountStatus.INACTIVE
        return state.accounts.get(account_id, AccountStatus.INACTIVE)

    def _settings(self, account_id: str, region: str) -> AccountSettings:
        settings = self._region(region).settings
        if account_id not in settings:
            settings[account_id] = AccountSettings(account_id, region)
        return settings[account_id]

    def _settings_view(self, caller: Caller) -> dict[str, Any]:
        org = self._orgs.organization_of(caller.account)
        enabled = org is not None and self._orgs.is_trusted_access_enabled(
            org.management_account_id, AUDIT_MANAGER_PRINCIPAL
        )
        settings = self._settings(caller.account, caller.region)
        return settings.view(enabled, self.timing())
