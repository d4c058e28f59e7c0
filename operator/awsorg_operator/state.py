"""What the operator observed in AWS: a typed snapshot, read-only calls only."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from awsorg_operator.aws.errors import AwsFailure


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
class RegionFailure:
    region: str
    failure: AwsFailure


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
    # Regions not listed whose read failed for a reason that passes (throttling, 5xx): they
    # might hold an administrator, so disabling waits for them.
    unreadable_elsewhere: tuple[str, ...] = ()

    def region_views(self) -> list[RegionView]:
        return [r for r in self.regions.values() if isinstance(r, RegionView)]

    def region_failures(self) -> list[RegionFailure]:
        return [r for r in self.regions.values() if isinstance(r, RegionFailure)]
