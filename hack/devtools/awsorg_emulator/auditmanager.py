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

import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from . import moto_state
from .auditmanager_settings import (
    DEFAULT_KMS_KEY,
    AccountSettings,
    Enablement,
    EvidenceFinder,
    Timing,
    attribute_error,
    select,
)
from .auditmanager_validation import require_valid_kms_key
from .errors import AwsError
from .moto_state import AUDIT_MANAGER_PRINCIPAL, OrgInfo
from .schema import AuditManagerRegionView

# Audit Manager availability change page, quoted by terraform-provider-aws #47163 and
# Landing Zone Accelerator #1121.
MAINTENANCE_MESSAGE = (
    "AWS Audit Manager is now in maintenance mode. As of April 30, 2026, you cannot enable "
    "Audit Manager for new accounts or in additional AWS Regions. We will continue to support "
    "existing Audit Manager accounts in current Regions. Learn more: "
    "https://docs.aws.amazon.com/audit-manager/latest/userguide/"
    "audit-manager-availability-change.html"
)
NOT_REGISTERED_MESSAGE = (
    "Your account isn't registered with AWS Audit Manager. Check the delegated administrator "
    "setup on the Audit Manager settings page, and try again."
)
# Observed by Terraform (aws_auditmanager_organization_admin_account_registration treats
# it as "already gone"); AWS does not document it.
TENANT_STATE_MESSAGE = "Tenant is not in expected state"
ACCOUNT_ID_RE = re.compile(r"[0-9]{12}")


class AccountStatus(StrEnum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"
    PENDING_ACTIVATION = "PENDING_ACTIVATION"


class OrganizationsPort(Protocol):
    """What Audit Manager reads and changes in Organizations (moto_state satisfies it)."""

    def organization_of(self, account_id: str) -> OrgInfo | None: ...
    def is_trusted_access_enabled(self, management_id: str, principal: str) -> bool: ...
    def enable_trusted_access(self, management_id: str, principal: str) -> None: ...
    def register_delegated_admin(
        self, management_id: str, account_id: str, principal: str
    ) -> None: ...
    def deregister_delegated_admin(
        self, management_id: str, account_id: str, principal: str
    ) -> None: ...


@dataclass(frozen=True)
class Caller:
    account: str
    region: str


@dataclass
class AuditManagerConfig:
    maintenance_mode: bool = True
    # ASSUMPTION: AWS's maintenance-mode notice (
    # https://docs.aws.amazon.com/audit-manager/latest/userguide/audit-manager-availability-change.html)
    # does not say whether an account that was active before the cut-off may register again
    # in a Region it used; default: yes.
    reregister_pre_cutoff: bool = True
    # Evidence finder: seconds each step takes (None: only when settled through the control
    # API); whether CloudTrail Lake takes new customers (it closed to them in May 2026).
    evidence_finder_seconds: float | None = 0.0
    cloudtrail_lake_open: bool = False


# (seconds per step or None to leave it to settle(), unchanged if "keep"; lake open or None)
EvidenceFinderConfig = tuple[float | str | None, bool | None]


@dataclass
class RegionState:
    accounts: dict[str, AccountStatus] = field(default_factory=dict)
    admins: dict[str, str] = field(default_factory=dict)  # management account -> admin
    settings: dict[str, AccountSettings] = field(default_factory=dict)
    # account -> deleteResources of its last deregistration (ALL: its data is to be deleted)
    deregistrations: dict[str, str] = field(default_factory=dict)
    # event data stores Audit Manager stopped using without deleting them (still billed)
    orphaned_stores: list[str] = field(default_factory=list)


def validation_error(message: str, field_name: str | None = None) -> AwsError:
    if field_name is None:
        return AwsError("ValidationException", message, 400, {"reason": "other"})
    fields = {
        "reason": "fieldValidationFailed",
        "fields": [{"name": field_name, "message": message}],
    }
    return AwsError("ValidationException", message, 400, fields)


def access_denied(message: str) -> AwsError:
    return AwsError("AccessDeniedException", message, 403)


class AuditManager:
    """Audit Manager state of every Region; each public method holds ``lock``."""

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
            return {name: _region_view(state, management_id) for name, state in regions}

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
        _drop_evidence_finder(state, account_id)
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

    def timing(self) -> Timing:
        return Timing(
            time.monotonic(),
            self.config.evidence_finder_seconds,
            self.config.cloudtrail_lake_open,
        )

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
                        _drop_evidence_finder(state, admin_id)

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
        _drop_evidence_finder(state, admin_id)
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


def _drop_evidence_finder(state: RegionState, account_id: str) -> None:
    """The account stops using Audit Manager in the Region: an evidence finder not being
    disabled leaves its event data store behind, still billed (API reference,
    DeregisterOrganizationAdminAccount). ASSUMPTION: evidence finder then starts afresh."""
    settings = state.settings.get(account_id)
    if settings is None:
        return
    finder = settings.evidence_finder
    if finder.data_store is not None and finder.status is not Enablement.DISABLE_IN_PROGRESS:
        state.orphaned_stores.append(finder.data_store)
    settings.evidence_finder = EvidenceFinder()


def _region_view(state: RegionState, management_id: str | None) -> AuditManagerRegionView:
    kms_keys = {
        account: str(settings.values.get("kmsKey", DEFAULT_KMS_KEY))
        for account, settings in sorted(state.settings.items())
    }
    return {
        "accounts": {account: str(status) for account, status in sorted(state.accounts.items())},
        "adminAccountID": state.admins.get(management_id or ""),
        "kmsKey": kms_keys.get(management_id or "", DEFAULT_KMS_KEY),
        "kmsKeys": kms_keys,
        "settings": {
            account: settings.stored_view() for account, settings in sorted(state.settings.items())
        },
        "deregistrations": dict(sorted(state.deregistrations.items())),
        "orphanedEventDataStores": list(state.orphaned_stores),
    }
