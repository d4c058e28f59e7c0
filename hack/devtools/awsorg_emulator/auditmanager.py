"""The Audit Manager model: account registration, delegated administrator, settings.

Everything is per Region ("If you want to use Audit Manager in more than one AWS
Region, you must designate a delegated administrator account separately in each
Region" -- Audit Manager user guide, "Configuring your delegated administrator",
https://docs.aws.amazon.com/audit-manager/latest/userguide/general-settings.html).

Behaviour AWS does not document is marked ASSUMPTION next to the code.
The emulator may hold many organizations (the benchmark's); each Region keeps one delegated
administrator per organization, keyed by its management account.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .auditmanager_base import AuditManagerBase
from .auditmanager_settings import attribute_error, select
from .auditmanager_state import (
    NOT_REGISTERED_MESSAGE,
    TENANT_STATE_MESSAGE,
    AccountStatus,
    AuditManagerConfig,
    Caller,
    EvidenceFinderConfig,
    drop_evidence_finder,
    region_view,
    validation_error,
)
from .auditmanager_validation import require_valid_kms_key
from .moto_state import OrgInfo
from .schema import AuditManagerRegionView

__all__ = [
    "NOT_REGISTERED_MESSAGE",
    "AccountStatus",
    "AuditManager",
    "AuditManagerConfig",
    "Caller",
    "EvidenceFinderConfig",
    "validation_error",
]


class AuditManager(AuditManagerBase):
    """Audit Manager state of every Region; each public method holds ``lock``."""

    # ----- control: reset, seed, snapshot -------------------------------------------

    def reset(self, config: AuditManagerConfig) -> None:
        with self._lock:
            self.config = config
            self._regions.clear()
            self._pre_cutoff.clear()

    def seed_account(self, account_id: str, region: str, *, pre_cutoff: bool = True) -> None:
        """Mark ``account_id`` ACTIVE in ``region``, optionally as active before the cut-off."""
        with self._lock:
            self._activate(account_id, region, None)
            if pre_cutoff:
                self._pre_cutoff.add((account_id, region))

    def seed_admin(self, region: str, admin_account_id: str, management_id: str) -> None:
        """Record the Region's delegated administrator of the organization that
        ``management_id`` manages (Organizations is seeded separately)."""
        with self._lock:
            self.seed_account(admin_account_id, region)
            self._region(region).admins[management_id] = admin_account_id

    def set_account_status(self, account_id: str, region: str, status: AccountStatus) -> None:
        with self._lock:
            self._region(region).accounts[account_id] = status

    def snapshot(self, management_id: str | None) -> dict[str, AuditManagerRegionView]:
        with self._lock:
            regions = sorted(self._regions.items())
            return {name: region_view(state, management_id) for name, state in regions}

    def pre_cutoff_snapshot(self) -> dict[str, list[str]]:
        with self._lock:
            result: dict[str, list[str]] = {}
            for account_id, region in sorted(self._pre_cutoff):
                result.setdefault(region, []).append(account_id)
            return result

    # ----- API operations ------------------------------------------------------------

    def register_account(
        self, caller: Caller, kms_key: str | None, delegated_admin: str | None
    ) -> dict[str, Any]:
        """RegisterAccount: activate the caller; with delegatedAdminAccount, also the admin.

        Every check runs before any change, so a refused call changes nothing.
        """
        with self._lock:
            require_valid_kms_key(kms_key)
            admin_change = self._planned_admin_change(caller, delegated_admin)
            self._check_may_activate(caller.account, caller.region)
            new_admin = admin_change is not None and self._admin_change_needed(
                caller, *admin_change
            )
            self._activate(caller.account, caller.region, kms_key)
            if new_admin and admin_change is not None:
                self._set_admin(caller.region, *admin_change)
            return {"status": str(AccountStatus.ACTIVE)}

    def _planned_admin_change(
        self, caller: Caller, delegated_admin: str | None
    ) -> tuple[OrgInfo, str] | None:
        if delegated_admin is None:
            return None
        org = self._require_management(caller, "RegisterAccount with delegatedAdminAccount")
        self._check_admin_candidate(org, delegated_admin)
        return org, delegated_admin

    def deregister_account(self, caller: Caller) -> dict[str, Any]:
        """DeregisterAccount: the caller becomes INACTIVE in the Region, under its
        deregistration policy (API reference, DeregistrationPolicy: ALL deletes its data
        within seven days; DEFAULT keeps it, evidence for two years).

        When the management account deregisters, "we perform a cleanup for the current
        delegated administrator account" (API reference, DeregisterOrganizationAdminAccount):
        the Region's administrator is removed too.

        ASSUMPTION: the administrator's cleanup follows the management account's policy; an
        evidence finder left enabled keeps its event data store (orphaned, still billed), as
        AWS says of removing an administrator; deregistering an account that is not registered
        succeeds (INACTIVE).
        """
        with self._lock:
            state = self._region(caller.region)
            policy = self._retire(caller.account, caller.region, None)
            org = self._orgs.organization_of(caller.account)
            if org is not None and org.management_account_id == caller.account:
                admin = state.admins.get(caller.account)
                if admin is not None:
                    self._retire(admin, caller.region, policy)
                    self._remove_admin(caller.region, admin, caller.account)
            return {"status": str(AccountStatus.INACTIVE)}

    def _retire(self, account_id: str, region: str, policy: str | None) -> str:
        """Deregister one account in one Region under ``policy`` (None: its own)."""
        state = self._region(region)
        was_active = self._status(account_id, region) is AccountStatus.ACTIVE
        state.accounts[account_id] = AccountStatus.INACTIVE
        settings = state.settings.get(account_id)
        policy = policy or (settings.policy() if settings else "DEFAULT")
        if not was_active or settings is None:
            return policy
        state.deregistrations[account_id] = policy
        # ASSUMPTION: DEFAULT keeps the settings; evidence finder starts afresh ("your only
        # alternative is to deregister and then re-register", UpdateSettings).
        drop_evidence_finder(state, account_id)
        if policy == "ALL":
            del state.settings[account_id]  # its data goes; a new registration starts afresh
        return policy

    def get_account_status(self, caller: Caller) -> dict[str, Any]:
        with self._lock:
            return {"status": str(self._status(caller.account, caller.region))}

    def register_organization_admin_account(self, caller: Caller, admin_id: str) -> dict[str, Any]:
        with self._lock:
            org = self._require_management(caller, "RegisterOrganizationAdminAccount")
            self._require_registered(caller)
            self._check_admin_candidate(org, admin_id)
            if self._admin_change_needed(caller, org, admin_id):
                self._set_admin(caller.region, org, admin_id)
            return {"adminAccountId": admin_id, "organizationId": org.id}

    def deregister_organization_admin_account(
        self, caller: Caller, admin_id: str | None
    ) -> dict[str, Any]:
        """DeregisterOrganizationAdminAccount.

        ASSUMPTION: with no administrator, or a different one than ``adminAccountId``, answer
        ValidationException "Tenant is not in expected state" (seen by Terraform users;
        Terraform treats it, like ResourceNotFoundException, as "already gone").
        """
        with self._lock:
            org = self._require_management(caller, "DeregisterOrganizationAdminAccount")
            self._require_registered(caller)
            current = self._admin_of(caller.region, org.management_account_id)
            if current is None or (admin_id is not None and admin_id != current):
                raise validation_error(TENANT_STATE_MESSAGE)
            self._remove_admin(caller.region, current, org.management_account_id)
            return {}

    def get_organization_admin_account(self, caller: Caller) -> dict[str, Any]:
        """GetOrganizationAdminAccount; no administrator is a success without adminAccountId.

        ASSUMPTION: not documented (AWS's API reference for GetOrganizationAdminAccount,
        https://docs.aws.amazon.com/audit-manager/latest/APIReference/); Terraform's tests expect an
        empty success.
        """
        with self._lock:
            org = self._require_management(caller, "GetOrganizationAdminAccount")
            self._require_registered(caller)
            admin = self._admin_of(caller.region, org.management_account_id)
            if admin is None:
                return {}
            return {"adminAccountId": admin, "organizationId": org.id}

    def get_settings(self, caller: Caller, attribute: str) -> dict[str, Any]:
        with self._lock:
            refused = attribute_error(attribute)
            if refused is not None:
                raise refused
            self._require_registered(caller)
            return {"settings": select(self._settings_view(caller), attribute)}

    def update_settings(self, caller: Caller, params: Mapping[str, Any]) -> dict[str, Any]:
        """UpdateSettings, for the calling account in the Region the request is signed for.

        ASSUMPTION: any registered account may set its own settings; which account's settings
        matter (the delegated administrator's, for assessments and evidence finder) is the
        caller's business, as AWS's API has no account parameter.
        """
        with self._lock:
            self._require_registered(caller)
            self._settings(caller.account, caller.region).update(params, self.timing())
            return {"settings": self._settings_view(caller)}

    def forget_admin(self, admin_id: str) -> None:
        """Organizations deregistered ``admin_id`` for Audit Manager: drop it in every Region.

        ASSUMPTION: DeregisterOrganizationAdminAccount's reference says the effect is the
        same "when you deregister a delegated administrator from Organizations"; we read
        that as removing the Audit Manager administrator in every Region.
        """
        with self._lock:
            for state in self._regions.values():
                for management_id, admin in list(state.admins.items()):
                    if admin == admin_id:
                        del state.admins[management_id]
                        state.accounts[admin_id] = AccountStatus.INACTIVE
                        drop_evidence_finder(state, admin_id)
