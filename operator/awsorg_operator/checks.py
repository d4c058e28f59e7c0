"""The checks before any write: whose credentials, which organization, which administrator.

Each returns a `Stop` (why to go no further) or None. Only `admin` calls AWS, through the seam.
Who owns the organization is `ownership.py`'s.
"""

from __future__ import annotations

from awsorg_operator.external import Reader
from awsorg_operator.observed import OrgView
from awsorg_operator.reasons import Reason
from awsorg_operator.resource import Resource, Stop


def preflight(res: Resource, org: OrgView) -> Stop | None:
    o = org.organization
    if org.caller_account_id != o.management_account_id:
        return Stop(
            Reason.NOT_MANAGEMENT_ACCOUNT,
            f"the credentials are of account {org.caller_account_id}, not of the "
            f"organization's management account {o.management_account_id}; only the "
            "management account can manage trusted access and delegated administrators",
        )
    if o.feature_set != "ALL":
        return Stop(
            Reason.ALL_FEATURES_REQUIRED,
            f"organization {o.id} has feature set {o.feature_set}; trusted access "
            "needs all features enabled",
        )
    recorded = res.status.organization_id
    if recorded and recorded != o.id:
        return Stop(
            Reason.ORGANIZATION_MISMATCH,
            f"the credentials reach organization {o.id}, but this resource manages "
            f"{recorded}; to move it, delete this resource (deletionPolicy Retain) "
            "and create a new one",
        )
    return None


def admin(wanted: str | None, org: OrgView, aws: Reader) -> Stop | None:
    if wanted is None:
        return None
    if wanted == org.organization.management_account_id:
        return Stop(
            Reason.INVALID_DELEGATED_ADMIN,
            f"{wanted} is the management account, which cannot be a delegated "
            "administrator; choose a member account",
        )
    if not aws.is_member(wanted):
        return Stop(
            Reason.INVALID_DELEGATED_ADMIN,
            f"{wanted} is not a member of organization {org.organization.id}",
        )
    return None
