"""What the operator observed in AWS: a typed snapshot, read-only calls only."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum

from awsorg_operator.failures import CallFailure


class AccountStatus(StrEnum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"
    PENDING_ACTIVATION = "PENDING_ACTIVATION"


@dataclass(frozen=True)
class Organization:
    id: str
    management_account_id: str
    feature_set: str


@dataclass(frozen=True)
class OrgView:
    """Who we are and which organization we reach: enough for the preflight checks."""

    caller_account_id: str
    organization: Organization


@dataclass(frozen=True)
class RegionView:
    region: str
    account_status: AccountStatus
    # None when there is no administrator, or when the account is not registered in the
    # Region (Audit Manager then refuses to say, and AccessDenied must not read as "none").
    admin_account_id: str | None = None
    kms_key: str | None = None


@dataclass(frozen=True)
class SettingsView:
    """`GetSettings(ALL)` in the delegated administrator's account, one Region; values as AWS
    gives them (the planner normalises before comparing)."""

    region: str
    account_id: str
    is_aws_org_enabled: bool | None = None
    sns_topic: str | None = None  # GetSettings answers a topic name, not its ARN
    reports_destination: str | None = None
    process_owners: tuple[str, ...] = ()
    kms_key: str | None = None
    evidence_finder: str | None = None  # enablementStatus: ENABLED, DISABLED, *_IN_PROGRESS
    backfill: str | None = None
    event_data_store: str | None = None
    evidence_finder_error: str | None = None
    delete_resources: str | None = None  # ALL or DEFAULT
    export_destination: str | None = None


@dataclass(frozen=True)
class RegionFailure:
    region: str
    failure: CallFailure


@dataclass(frozen=True)
class Observed:
    org: OrgView
    trusted_access: bool
    # Organizations' delegated administrators for auditmanager.amazonaws.com only.
    org_delegated_admins: frozenset[str]
    regions: dict[str, RegionView | RegionFailure] = field(default_factory=dict)
    # Administrators in Regions the spec does not list, by Region. Read only when trusted
    # access is about to be disabled, which AWS refuses while any Region has one.
    admins_elsewhere: dict[str, str] = field(default_factory=dict)
    # Regions not listed whose read failed, whatever the failure (AccessDenied included: it
    # is never "no administrator"): they might hold one, so disabling waits for them.
    unreadable_elsewhere: tuple[RegionFailure, ...] = ()
    # The administrator's settings by Region (spec.adminCredentials), read only where that
    # account is the registered administrator: elsewhere it is not registered and AWS refuses.
    settings: dict[str, SettingsView | RegionFailure] = field(default_factory=dict)
    # The management account's own settings, read only for a retirement (its deregistration
    # policy), in each listed Region where it is registered.
    own_settings: dict[str, SettingsView | RegionFailure] = field(default_factory=dict)

    def region_views(self) -> list[RegionView]:
        return [r for r in self.regions.values() if isinstance(r, RegionView)]

    def region_failures(self) -> list[RegionFailure]:
        return [r for r in self.regions.values() if isinstance(r, RegionFailure)]

    def settings_failures(self) -> list[RegionFailure]:
        seen = [*self.settings.values(), *self.own_settings.values()]
        return [r for r in seen if isinstance(r, RegionFailure)]

    def fingerprint(self) -> str:
        """A short digest of what AWS showed, stable across processes: a write AWS refused for
        good is not sent again until this (or the spec) changes."""
        regions = [
            (name, v.account_status.value, v.admin_account_id, v.kms_key)
            if isinstance(v, RegionView)
            else (name, "unreadable")
            for name, v in sorted(self.regions.items())
        ]
        canonical = repr(
            (
                self.org.organization.id,
                self.trusted_access,
                sorted(self.org_delegated_admins),
                regions,
                sorted(self.admins_elsewhere.items()),
                *([sorted(self.settings.items())] if self.settings else []),
                *([sorted(self.own_settings.items())] if self.own_settings else []),
            )
        )
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]
