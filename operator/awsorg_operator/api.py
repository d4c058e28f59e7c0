"""The Kubernetes API we publish: `AuditManagerOrgConfig` in `awsorg.io/v1alpha1`.

The CRD in `crds/` is the schema users see; these models are what the operator reads and
writes. A golden test (`tests/unit/test_crd.py`) keeps the two in step.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

GROUP = "awsorg.io"
VERSION = "v1alpha1"
KIND = "AuditManagerOrgConfig"
PLURAL = "auditmanagerorgconfigs"
FINALIZER = "awsorg.io/finalizer"
ALLOW_ADMIN_CHANGE_ANNOTATION = "awsorg.io/allow-admin-change"
SERVICE_PRINCIPAL = "auditmanager.amazonaws.com"

AccountID = Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]
RegionName = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")]
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
    deletion_policy: DeletionPolicy = Field(default=DeletionPolicy.RETAIN, alias="deletionPolicy")
    management_policy: ManagementPolicy = Field(
        default=ManagementPolicy.MANAGE, alias="managementPolicy"
    )
    credentials: Credentials | None = None

    @model_validator(mode="after")
    def _admin_needs_trusted_access(self) -> Spec:
        # Mirrors the CEL rule in the CRD: the API server refuses this before we see it.
        if self.delegated_admin_account_id and self.trusted_access is TrustedAccess.DISABLED:
            raise ValueError("delegatedAdminAccountID requires trustedAccess: Enabled")
        if self.regions is not None and len(set(self.regions)) != len(self.regions):
            raise ValueError("regions must be unique")
        return self

    def effective_regions(self, default_region: str) -> tuple[str, ...]:
        return self.regions or (default_region,)


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
    message: str | None = None


class Status(_Model):
    observed_generation: int | None = Field(default=None, alias="observedGeneration")
    organization_id: str | None = Field(default=None, alias="organizationID")
    management_account_id: str | None = Field(default=None, alias="managementAccountID")
    trusted_access: TrustedAccess | None = Field(default=None, alias="trustedAccess")
    delegated_admin_account_id: str | None = Field(default=None, alias="delegatedAdminAccountID")
    regions: tuple[RegionStatus, ...] = ()
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
