"""The checks before any write: whose credentials, which organization, who owns it.

Each returns a `Stop` (why to go no further) or None. Only `admin` calls AWS, through the seam.
"""

from __future__ import annotations

from collections.abc import Iterable

from awsorg_operator.external import External
from awsorg_operator.failures import Retry
from awsorg_operator.resource import Claim, Resource, Stop
from awsorg_operator.state import OrgView


def preflight(res: Resource, org: OrgView) -> Stop | None:
    o = org.organization
    if org.caller_account_id != o.management_account_id:
        return Stop(
            "NotManagementAccount",
            f"the credentials are of account {org.caller_account_id}, not of the "
            f"organization's management account {o.management_account_id}; only the "
            "management account can manage trusted access and delegated administrators",
        )
    if o.feature_set != "ALL":
        return Stop(
            "AllFeaturesRequired",
            f"organization {o.id} has feature set {o.feature_set}; trusted access "
            "needs all features enabled",
        )
    recorded = res.status.organization_id
    if recorded and recorded != o.id:
        return Stop(
            "OrganizationMismatch",
            f"the credentials reach organization {o.id}, but this resource manages "
            f"{recorded}; to move it, delete this resource (deletionPolicy Retain) "
            "and create a new one",
        )
    return None


def ownership(res: Resource, org: OrgView, claims: Iterable[Claim]) -> Stop | None:
    """The oldest resource that reaches an organization owns it; the rest only report."""
    mine = (res.created, res.name)
    older = sorted(
        (c for c in claims if c.uid != res.uid and c.seniority < mine), key=lambda c: c.seniority
    )
    owner = next((c for c in older if c.organization_id == org.organization.id), None)
    if owner:
        return Stop(
            "Conflict",
            f"organization {org.organization.id} is managed by AuditManagerOrgConfig "
            f"{owner.name!r}, which is older; this resource makes no AWS changes",
        )
    # An older resource that has not reported an organization (not reconciled yet, or failing
    # before AWS said which) may reach this one: wait for it rather than act and flap later.
    # This is what makes simultaneous creation safe.
    unknown = next((c for c in older if c.organization_id is None), None)
    if unknown:
        return Stop(
            "Pending",
            f"waiting for the older AuditManagerOrgConfig {unknown.name!r} to report which "
            "organization it manages (see its conditions)",
            Retry.SOON,
        )
    return None


def admin(wanted: str | None, org: OrgView, aws: External) -> Stop | None:
    if wanted is None:
        return None
    if wanted == org.organization.management_account_id:
        return Stop(
            "InvalidDelegatedAdmin",
            f"{wanted} is the management account, which cannot be a delegated "
            "administrator; choose a member account",
        )
    if not aws.is_member(wanted):
        return Stop(
            "InvalidDelegatedAdmin",
            f"{wanted} is not a member of organization {org.organization.id}",
        )
    return None
