"""Every direct read or write of moto's in-process backends lives here.

moto keeps Organizations state per calling account: the management account's
backend holds the organization, its accounts, trusted access and delegated
administrators; ``organizations_backends.master_accounts`` maps member accounts
to their management account. Nothing outside this module touches moto objects.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import moto.organizations.utils as org_utils
from moto.core.base_backend import BackendDict
from moto.core.model_instances import reset_model_data
from moto.iam.models import iam_backends
from moto.organizations.models import (
    FakeDelegatedAdministrator,
    OrganizationsBackend,
    organizations_backends,
)

from .schema import AccountView, OrganizationView

PARTITION = "aws"
AUDIT_MANAGER_PRINCIPAL = "auditmanager.amazonaws.com"
# Audit Manager guide, "Service-linked roles": trusted access creates this role.
AUDIT_MANAGER_SLR_NAME = "AWSServiceRoleForAuditManager"


@dataclass(frozen=True)
class OrgInfo:
    """The organization an account belongs to, as far as Audit Manager cares."""

    id: str
    management_account_id: str
    member_account_ids: frozenset[str]
    feature_set: str


@dataclass(frozen=True)
class MemberSpec:
    account_id: str
    name: str
    email: str


def install_moto_extensions() -> None:
    """Accept Audit Manager as a delegated-administrator service principal.

    Organizations lists Audit Manager among the services that support a delegated
    administrator (Organizations user guide, "AWS services that you can use with
    AWS Organizations"); moto's list lacks it. Idempotent.
    """
    if AUDIT_MANAGER_PRINCIPAL not in FakeDelegatedAdministrator.SUPPORTED_SERVICES:
        FakeDelegatedAdministrator.SUPPORTED_SERVICES.append(AUDIT_MANAGER_PRINCIPAL)


def reset_moto() -> None:
    """Drop every moto backend (all services, all accounts), as moto's /moto-api/reset does."""
    BackendDict.reset()
    reset_model_data()
    organizations_backends.master_accounts.clear()


@contextmanager
def _fixed_ids(org_id: str, root_id: str, account_ids: Sequence[str]) -> Iterator[None]:
    """Make moto's random ID helpers hand out the given IDs while seeding."""
    queue = list(account_ids)
    saved = (org_utils.make_random_org_id, org_utils.make_random_root_id)
    saved_account = org_utils.make_random_account_id
    org_utils.make_random_org_id = lambda: org_id
    org_utils.make_random_root_id = lambda: root_id
    org_utils.make_random_account_id = lambda: queue.pop(0) if queue else saved_account()
    try:
        yield
    finally:
        org_utils.make_random_org_id, org_utils.make_random_root_id = saved
        org_utils.make_random_account_id = saved_account


def create_organization(
    management_account_id: str,
    org_id: str,
    root_id: str,
    members: Sequence[MemberSpec],
    region: str = "us-east-1",
) -> None:
    """Create an all-features organization with fixed IDs and member accounts.

    Uses moto's own CreateOrganization/CreateAccount code so that policies, the
    member-to-management mapping and each member's OrganizationAccountAccessRole
    exist exactly as after real API calls.
    """
    backend = _backend(management_account_id)
    # CreateOrganization draws one account id for the management account's FakeAccount
    # (then overwrites it with the caller's id); each CreateAccount draws one more.
    account_ids = [management_account_id, *(member.account_id for member in members)]
    with _fixed_ids(org_id, root_id, account_ids):
        backend.create_organization(region=region, FeatureSet="ALL")
        for member in members:
            backend.create_account(AccountName=member.name, Email=member.email)


def organization_of(account_id: str) -> OrgInfo | None:
    management_id = _management_account_of(account_id)
    if management_id is None:
        return None
    backend = _backend(management_id)
    org = backend.org
    if org is None:
        return None
    members = frozenset(a.id for a in backend.accounts if a.id != management_id)
    return OrgInfo(org.id, management_id, members, str(org.feature_set))


def _management_account_of(account_id: str) -> str | None:
    own = _existing_backend(account_id)
    if own is not None and own.org is not None:
        return account_id
    mapping = organizations_backends.master_accounts.get(account_id)
    return mapping[0] if mapping else None


def _existing_backend(account_id: str) -> OrganizationsBackend | None:
    per_account = dict.get(organizations_backends, account_id)
    if per_account is None:
        return None
    return dict.get(per_account, PARTITION)


def _backend(account_id: str) -> OrganizationsBackend:
    return organizations_backends[account_id][PARTITION]


def trusted_principals(management_id: str) -> list[str]:
    return sorted(str(s["ServicePrincipal"]) for s in _backend(management_id).services)


def is_trusted_access_enabled(management_id: str, principal: str) -> bool:
    return principal in trusted_principals(management_id)


def enable_trusted_access(management_id: str, principal: str) -> None:
    _backend(management_id).enable_aws_service_access(ServicePrincipal=principal)
    if principal == AUDIT_MANAGER_PRINCIPAL:
        ensure_audit_manager_service_linked_role(management_id)


def delegated_admins(management_id: str) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for admin in _backend(management_id).admins:
        for principal in admin.services:
            result.setdefault(str(principal), []).append(str(admin.account.id))
    return {principal: sorted(ids) for principal, ids in sorted(result.items())}


def is_delegated_admin(management_id: str, account_id: str, principal: str | None = None) -> bool:
    admins = delegated_admins(management_id)
    if principal is not None:
        return account_id in admins.get(principal, [])
    return any(account_id in ids for ids in admins.values())


def register_delegated_admin(management_id: str, account_id: str, principal: str) -> None:
    if not is_delegated_admin(management_id, account_id, principal):
        _backend(management_id).register_delegated_administrator(
            AccountId=account_id, ServicePrincipal=principal
        )


def deregister_delegated_admin(management_id: str, account_id: str, principal: str) -> None:
    if is_delegated_admin(management_id, account_id, principal):
        _backend(management_id).deregister_delegated_administrator(
            AccountId=account_id, ServicePrincipal=principal
        )


def ensure_audit_manager_service_linked_role(management_id: str) -> None:
    """Create AWSServiceRoleForAuditManager in the management account if missing."""
    iam = iam_backends[management_id]["global"]
    if any(role.name == AUDIT_MANAGER_SLR_NAME for role in iam.get_roles()):
        return
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": AUDIT_MANAGER_PRINCIPAL},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam.create_role(
        role_name=AUDIT_MANAGER_SLR_NAME,
        assume_role_policy_document=json.dumps(trust),
        path=f"/aws-service-role/{AUDIT_MANAGER_PRINCIPAL}/",
        permissions_boundary=None,
        description="Service-linked role for AWS Audit Manager",
        tags=[],
        max_session_duration="3600",
        linked_service=AUDIT_MANAGER_PRINCIPAL,
    )


def create_role(account_id: str, name: str, trusted_account_id: str) -> str:
    """A role in ``account_id`` that ``trusted_account_id`` may assume; returns its ARN."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{PARTITION}:iam::{trusted_account_id}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = iam_backends[account_id]["global"].create_role(
        role_name=name,
        assume_role_policy_document=json.dumps(trust),
        path="/",
        permissions_boundary=None,
        description="awsorg-operator benchmark",
        tags=[],
        max_session_duration="3600",
        linked_service=None,
    )
    return str(role.arn)


@dataclass(frozen=True)
class OrgSnapshot:
    organization: OrganizationView
    trusted_access: list[str]
    delegated_admins: dict[str, list[str]]


def organizations_snapshot() -> OrgSnapshot | None:
    """The first organization moto holds (the seeded one), or None."""
    for account_id in sorted(dict.keys(organizations_backends)):
        backend = _existing_backend(account_id)
        if backend is None or backend.org is None:
            continue
        org = backend.org
        view: OrganizationView = {
            "id": str(org.id),
            "managementAccountID": str(org.master_account_id),
            "featureSet": str(org.feature_set),
            "accounts": [_account_view(a) for a in backend.accounts],
        }
        return OrgSnapshot(view, trusted_principals(account_id), delegated_admins(account_id))
    return None


def _account_view(account: Any) -> AccountView:
    return {
        "id": str(account.id),
        "name": str(account.name),
        "email": str(account.email),
        "status": str(account.status),
    }
