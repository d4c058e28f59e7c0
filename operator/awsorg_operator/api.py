"""The Kubernetes API we publish: `AuditManagerOrgConfig` in `awsorg.io/v1alpha1`.

The CRD in `crds/` is the schema users see; these models are what the operator reads and
writes. A golden test (`tests/unit/test_api.py`) keeps the two in step.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from awsorg_operator.auditsettings import (
    AdminCredentials,
    AuditSettings,
    Retirement,
    SettingsStatus,
    arn_region,
    check_admin,
    check_retirement,
    check_settings,
    per_region,
)

GROUP = "awsorg.io"
VERSION = "v1alpha1"
KIND = "AuditManagerOrgConfig"
PLURAL = "auditmanagerorgconfigs"
FINALIZER = "awsorg.io/finalizer"
ALLOW_ADMIN_CHANGE_ANNOTATION = "awsorg.io/allow-admin-change"

AccountID = Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]
# Where Audit Manager is offered, from botocore's endpoint data (a unit test keeps the two in
# step). In maintenance mode since 30 April 2026, Audit Manager opens no new Regions, so a
# closed list refuses typos and Regions it will never have, at the API server.
RegionName = Literal[
    "ap-northeast-1",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ca-central-1",
    "eu-central-1",
    "eu-west-1",
    "eu-west-2",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
]
AUDIT_MANAGER_REGIONS: tuple[str, ...] = get_args(RegionName)
KmsKey = Annotated[
    str,
    StringConstraints(pattern=r"^(DEFAULT|arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+)$"),
]


class TrustedAccess(StrEnum):
    ENABLED = "Enabled"
    DISABLED = "Disabled"


class DeletionPolicy(StrEnum):
    RETAIN = "Retain"
    DELETE = "Delete"


class ManagementPolicy(StrEnum):
    MANAGE = "Manage"
    OBSERVE = "Observe"


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid", frozen=True)


class Credentials(_Model):
    role_arn: str = Field(alias="roleARN", pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$")
    external_id: str | None = Field(default=None, alias="externalID", min_length=2)


class Spec(_Model):
    trusted_access: TrustedAccess = Field(alias="trustedAccess")
    delegated_admin_account_id: AccountID | None = Field(
        default=None, alias="delegatedAdminAccountID"
    )
    regions: tuple[RegionName, ...] | None = Field(default=None, min_length=1)
    kms_key: KmsKey | None = Field(default=None, alias="kmsKey")
    kms_keys: dict[RegionName, KmsKey] | None = Field(default=None, alias="kmsKeys", min_length=1)
    deletion_policy: DeletionPolicy = Field(default=DeletionPolicy.RETAIN, alias="deletionPolicy")
    management_policy: ManagementPolicy = Field(
        default=ManagementPolicy.MANAGE, alias="managementPolicy"
    )
    credentials: Credentials | None = None
    # Audit Manager's settings, in the delegated administrator's account (auditsettings.py).
    settings: AuditSettings | None = None
    region_settings: dict[RegionName, AuditSettings] | None = Field(
        default=None, alias="regionSettings", min_length=1
    )
    admin_credentials: AdminCredentials | None = Field(default=None, alias="adminCredentials")
    retirement: Retirement | None = None  # leave Audit Manager for good (retirement.py)
    # The person's statement, Region by Region, that no delegated administrator is registered
    # there: the only way a Region that is not read counts as "none" (plan.py, scan.py).
    assume_no_delegated_admin_in: tuple[RegionName, ...] | None = Field(
        default=None, alias="assumeNoDelegatedAdminIn", min_length=1
    )

    @model_validator(mode="after")
    def _admin_needs_trusted_access(self) -> Spec:
        # Mirrors the CEL rule in the CRD: the API server refuses this before we see it.
        if self.delegated_admin_account_id and self.trusted_access is TrustedAccess.DISABLED:
            raise ValueError("delegatedAdminAccountID requires trustedAccess: Enabled")
        if self.regions is not None and len(set(self.regions)) != len(self.regions):
            raise ValueError("regions must be unique")
        self._check_kms_keys()
        self._check_assumed_regions()
        check_settings(self.settings, self.region_settings, self.regions)
        given = self.settings is not None or self.region_settings is not None
        check_admin(self.admin_credentials, self.delegated_admin_account_id, given)
        check_retirement(self.retirement, self.trusted_access.value, self.admin_credentials)
        return self

    def _check_kms_keys(self) -> None:
        # Mirrors the CEL rules: a key ARN names one Region and works only there.
        if self.kms_key is not None and self.kms_keys is not None:
            raise ValueError("set kmsKey or kmsKeys, not both")
        key_region = arn_region(self.kms_key)  # None for DEFAULT, which every Region has
        if key_region and (self.regions is None or self.regions != (key_region,)):
            raise ValueError(
                "a kmsKey ARN works in its own Region only: list exactly that Region in "
                "regions, or use kmsKeys for a key per Region"
            )
        for region, key in (self.kms_keys or {}).items():
            if arn_region(key) not in (None, region):
                raise ValueError(f"kmsKeys: the key for {region} is an ARN of another Region")
            if self.regions is not None and region not in self.regions:
                raise ValueError(f"kmsKeys: {region} is not in regions")

    def _check_assumed_regions(self) -> None:
        # Mirrors the CEL rules: a listed Region is always read, so no statement about it.
        assumed = self.assume_no_delegated_admin_in or ()
        if len(set(assumed)) != len(assumed):
            raise ValueError("assumeNoDelegatedAdminIn must be unique")
        if self.regions is not None and set(assumed) & set(self.regions):
            raise ValueError(
                "assumeNoDelegatedAdminIn: a Region in regions is always read; "
                "list it in only one of the two"
            )

    def effective_regions(self, default_region: str) -> tuple[str, ...]:
        return self.regions or (default_region,)

    def effective_kms_keys(self, default_region: str) -> dict[str, str]:
        """The key wanted in each Region; a Region absent here has its key left alone."""
        if self.kms_keys is not None:
            return {str(region): key for region, key in self.kms_keys.items()}
        regions = self.effective_regions(default_region)
        return dict.fromkeys(regions, self.kms_key) if self.kms_key is not None else {}

    def effective_settings(self, default_region: str) -> dict[str, AuditSettings]:
        """The administrator's settings wanted in each listed Region, overrides merged."""
        return per_region(
            self.settings, self.region_settings, self.effective_regions(default_region)
        )

    def effective_assumed_regions(self, default_region: str) -> frozenset[str]:
        """The Regions not to read, on the spec's word; the operator's default Region, when it
        is the one managed, is read whatever this says."""
        listed = self.effective_regions(default_region)
        return frozenset(self.assume_no_delegated_admin_in or ()) - set(listed)


ConditionStatus = Literal["True", "False", "Unknown"]


class Condition(_Model):
    type: str
    status: ConditionStatus
    reason: str
    message: str = ""
    observed_generation: int | None = Field(default=None, alias="observedGeneration")
    last_transition_time: str = Field(alias="lastTransitionTime")


class RegionStatus(_Model):
    region: str
    account_status: str | None = Field(default=None, alias="accountStatus")
    delegated_admin_account_id: str | None = Field(default=None, alias="delegatedAdminAccountID")
    kms_key: str | None = Field(default=None, alias="kmsKey")
    settings: SettingsStatus | None = None  # the administrator's, with spec.adminCredentials
    message: str | None = None


class PlannedState(StrEnum):
    """Why a planned action was not carried out (yet)."""

    NOT_APPLIED = "NotApplied"  # managementPolicy Observe
    AWAITING_APPROVAL = "AwaitingApproval"  # waits for an approval annotation
    REFUSED = "Refused"  # AWS refused it for good; not sent again until something changes
    IN_FLIGHT = "InFlight"  # sent; AWS does not show it yet (eventual consistency)


class PlannedAction(_Model):
    """One change the operator would make in AWS and did not (yet)."""

    operation: str
    region: str | None = None
    account_id: str | None = Field(default=None, alias="accountID")
    kms_key: str | None = Field(default=None, alias="kmsKey")
    settings: str | None = None  # UpdateSettings: the fields it sets, "name=value; ..."
    why: str
    state: PlannedState
    since: str  # when it entered this state
    reason: str | None = None  # Refused: the condition reason, e.g. MaintenanceMode
    message: str | None = None  # Refused: AWS's error code and message
    # Refused: the generation and the digest of the AWS state it was refused for.
    generation: int | None = None
    aws_state: str | None = Field(default=None, alias="awsState")


class Status(_Model):
    # Read back from the API server: a field this version does not know must not cost the
    # rest (organizationID above all), so unknown fields are ignored rather than refused.
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    observed_generation: int | None = Field(default=None, alias="observedGeneration")
    organization_id: str | None = Field(default=None, alias="organizationID")
    management_account_id: str | None = Field(default=None, alias="managementAccountID")
    trusted_access: TrustedAccess | None = Field(default=None, alias="trustedAccess")
    delegated_admin_account_id: str | None = Field(default=None, alias="delegatedAdminAccountID")
    regions: tuple[RegionStatus, ...] = ()
    planned_actions: tuple[PlannedAction, ...] = Field(default=(), alias="plannedActions")
    planned_action_count: int = Field(default=0, alias="plannedActionCount")
    conditions: tuple[Condition, ...] = ()

    def to_patch(self) -> dict[str, object]:
        """The status as a merge patch: absent top-level fields are sent as null so they clear.

        Lists are replaced whole by a merge patch, so their items carry no nulls.
        """
        present = self.model_dump(by_alias=True, mode="json", exclude_none=True)
        return {
            field.alias or name: present.get(field.alias or name)
            for name, field in type(self).model_fields.items()
        }

    def condition(self, type_: str) -> Condition | None:
        return next((c for c in self.conditions if c.type == type_), None)
