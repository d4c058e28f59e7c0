"""The Audit Manager model's state and shared words: statuses, callers, configuration, one
Region's state and its view, the errors Audit Manager answers.

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
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from .auditmanager_settings import DEFAULT_KMS_KEY, AccountSettings, Enablement, EvidenceFinder
from .errors import AwsError
from .moto_state import OrgInfo
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


def drop_evidence_finder(state: RegionState, account_id: str) -> None:
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


def region_view(state: RegionState, management_id: str | None) -> AuditManagerRegionView:
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
