"""Audit Manager's own settings (`UpdateSettings`), as the spec declares them and status shows
them: `spec.settings` for every listed Region, `spec.regionSettings` to override it field by
field in one Region. They belong to the delegated administrator's account, reached through
`spec.adminCredentials` (AWS's Audit Manager guide: assessments, reports, process owners and
evidence finder live in the delegated administrator's account).

The CRD in `crds/` carries the same patterns and CEL rules; `tests/unit/test_api.py` keeps the
two in step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# The value names exactly what it approves, bound to the administrator's account and the spec's
# generation: "<account>:<setting>=<value>@<generation>", several separated by commas.
ALLOW_IRREVERSIBLE_ANNOTATION = "awsorg.io/allow-irreversible-settings"

# AWS's own patterns (botocore's model: SnsArn, S3Url, IamArn) made strict enough to refuse a
# typo at the API server: an SNS topic ARN of the standard form, an S3 URI with a valid bucket
# name, and an IAM role (not a user, not an assumed-role session).
SNS_TOPIC = r"^(NONE|arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256})$"
S3_URI = r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$"
ROLE_ARN = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$"
KMS_KEY = r"^(DEFAULT|arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+)$"

SnsTopic = Annotated[str, StringConstraints(pattern=SNS_TOPIC, max_length=2048)]
S3Uri = Annotated[str, StringConstraints(pattern=S3_URI, max_length=1024)]
RoleArn = Annotated[str, StringConstraints(pattern=ROLE_ARN, max_length=1024)]
KmsKeyArn = Annotated[str, StringConstraints(pattern=KMS_KEY, max_length=2048)]


class EvidenceFinder(StrEnum):
    ENABLED = "Enabled"
    DISABLED = "Disabled"  # irreversible: deletes the CloudTrail Lake event data store


class DeleteResources(StrEnum):
    DEFAULT = "Default"  # keep the data on deregistration (evidence ages out after 2 years)
    ALL = "All"  # irreversible once deregistered: all data deleted within 7 days


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid", frozen=True)


class AuditSettings(_Model):
    """Every field optional: an absent field is left alone."""

    sns_topic: SnsTopic | None = Field(default=None, alias="snsTopic")
    default_assessment_reports_destination: S3Uri | None = Field(
        default=None, alias="defaultAssessmentReportsDestination"
    )
    default_process_owners: tuple[RoleArn, ...] | None = Field(
        default=None, alias="defaultProcessOwners", max_length=20
    )
    kms_key: KmsKeyArn | None = Field(default=None, alias="kmsKey")
    evidence_finder: EvidenceFinder | None = Field(default=None, alias="evidenceFinder")
    delete_resources: DeleteResources | None = Field(default=None, alias="deleteResources")
    default_export_destination: S3Uri | None = Field(default=None, alias="defaultExportDestination")

    def over(self, base: AuditSettings | None) -> AuditSettings:
        """These settings, with the fields they leave out taken from `base`."""
        if base is None:
            return self
        mine = self.model_dump(exclude_none=True)
        return base.model_copy(update=mine)


def arn_region(arn: str | None) -> str | None:
    """The Region an ARN names (arn:partition:service:REGION:...); None for NONE or DEFAULT."""
    parts = (arn or "").split(":")
    return parts[3] if len(parts) > 3 and parts[0] == "arn" else None


def check_settings(
    settings: AuditSettings | None,
    by_region: Mapping[Any, AuditSettings] | None,  # keyed by Region names (a Literal)
    regions: tuple[str, ...] | None,
) -> None:
    """Mirrors the CEL rules: a topic or key ARN works in its own Region only."""
    for name in ("sns_topic", "kms_key"):
        region = arn_region(getattr(settings, name, None))
        if region and (regions is None or tuple(regions) != (region,)):
            raise ValueError(
                f"settings: a {_name(name)} ARN works in its own Region only: list exactly "
                "that Region in regions, or set it per Region in regionSettings"
            )
    for region, own in (by_region or {}).items():
        if regions is not None and region not in regions:
            raise ValueError(f"regionSettings: {region} is not in regions")
        for name in ("sns_topic", "kms_key"):
            if arn_region(getattr(own, name)) not in (None, region):
                raise ValueError(
                    f"regionSettings: the {_name(name)} for {region} is an ARN of another Region"
                )


def check_admin(admin: AdminCredentials | None, delegated: str | None, settings: bool) -> None:
    """Mirrors the CEL rules on adminCredentials."""
    if settings and admin is None:
        raise ValueError("settings and regionSettings require adminCredentials")
    if admin and delegated not in (None, admin.account_id):
        raise ValueError(
            "adminCredentials: the role must be in the delegated administrator's account "
            "(delegatedAdminAccountID)"
        )


def check_retirement(
    retirement: Retirement | None, trusted_access: str, admin: AdminCredentials | None
) -> None:
    """Mirrors the CEL rules on retirement."""
    if retirement is not None and trusted_access != "Disabled":
        raise ValueError("retirement requires trustedAccess: Disabled")
    if retirement is not None and retirement.evidence_finder and admin is None:
        raise ValueError("retirement.evidenceFinder requires adminCredentials")


def per_region(
    settings: AuditSettings | None,
    by_region: Mapping[Any, AuditSettings] | None,
    regions: tuple[str, ...],
) -> dict[str, AuditSettings]:
    """The settings wanted in each Region: a Region's own over the common ones; a Region with
    neither is absent (left alone)."""
    own = by_region or {}
    merged = {
        region: own[region].over(settings) if region in own else settings for region in regions
    }
    return {region: want for region, want in merged.items() if want is not None}


def _name(field: str) -> str:
    return "snsTopic" if field == "sns_topic" else "kmsKey"


class AdminCredentials(_Model):
    """The role in the delegated administrator's account, assumed from the operator's identity;
    its trust policy requires the external ID (docs/aws-permissions.md)."""

    role_arn: RoleArn = Field(alias="roleARN")
    external_id: str = Field(alias="externalID", min_length=2, max_length=1224)

    @property
    def account_id(self) -> str:
        return self.role_arn.split(":")[4]


class EvidenceFinderStatus(_Model):
    enablement_status: str | None = Field(default=None, alias="enablementStatus")
    backfill_status: str | None = Field(default=None, alias="backfillStatus")
    event_data_store_arn: str | None = Field(default=None, alias="eventDataStoreARN")
    error: str | None = None


class SettingsStatus(_Model):
    """The settings AWS has in the delegated administrator's account, in one Region."""

    account_id: str = Field(alias="accountID")
    is_aws_org_enabled: bool | None = Field(default=None, alias="isAwsOrgEnabled")
    sns_topic: str | None = Field(default=None, alias="snsTopic")
    default_assessment_reports_destination: str | None = Field(
        default=None, alias="defaultAssessmentReportsDestination"
    )
    default_process_owners: tuple[str, ...] = Field(default=(), alias="defaultProcessOwners")
    kms_key: str | None = Field(default=None, alias="kmsKey")
    evidence_finder: EvidenceFinderStatus | None = Field(default=None, alias="evidenceFinder")
    delete_resources: str | None = Field(default=None, alias="deleteResources")
    default_export_destination: str | None = Field(default=None, alias="defaultExportDestination")


@dataclass(frozen=True)
class SettingsDesired:
    """What the spec asks of the administrator's settings, as the planner reads it."""

    account_id: str  # the account spec.adminCredentials' role lives in
    by_region: Mapping[str, AuditSettings] = field(default_factory=dict)  # absent: unmanaged
    # The annotation's approvals, "<account>:<setting>=<value>@<generation>" each.
    approved: frozenset[str] = frozenset()
    generation: int = 0


def approvals(value: str) -> frozenset[str]:
    """The approvals an annotation's value gives, each trimmed; empty ones dropped."""
    return frozenset(item.strip() for item in value.split(",") if item.strip())


class Retirement(_Model):
    """Leaving Audit Manager for good (retirement.py): with trustedAccess Disabled, every listed
    Region is deregistered under the stated policy, then trusted access is disabled."""

    delete_resources: DeleteResources = Field(alias="deleteResources")
    evidence_finder: Literal["Disabled"] | None = Field(default=None, alias="evidenceFinder")


@dataclass(frozen=True)
class RetirementDesired:
    """What the spec asks of the retirement, as the planner reads it."""

    delete_resources: str  # as AWS takes it: ALL or DEFAULT
    evidence_finder_off: bool
    approved: frozenset[str] = frozenset()  # the annotation's approvals
    generation: int = 0
    admin_account_id: str | None = None  # spec.adminCredentials' account: evidence finder's
