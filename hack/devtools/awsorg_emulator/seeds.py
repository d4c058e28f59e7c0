"""The starting states tests pick from, with deterministic IDs."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from . import moto_state
from .auditmanager import AuditManager
from .moto_state import AUDIT_MANAGER_PRINCIPAL, MemberSpec
from .schema import OrganizationSeedView

MANAGEMENT_ACCOUNT_ID = "123456789012"  # moto's default account: default credentials
AUDIT_ACCOUNT_ID = "111111111111"
WORKLOADS_ACCOUNT_ID = "222222222222"
ORGANIZATION_ID = "o-awsorgemu01"
ROOT_ID = "r-emu0"
MEMBERS = (
    MemberSpec(AUDIT_ACCOUNT_ID, "audit", "audit@example.com"),
    MemberSpec(WORKLOADS_ACCOUNT_ID, "workloads", "workloads@example.com"),
)
# A service whose trusted access must never be touched by the operator.
UNRELATED_PRINCIPAL = "config.amazonaws.com"
EXISTING_CUSTOMER_REGIONS = ("us-east-1", "eu-west-1")


class Seed(StrEnum):
    EXISTING_CUSTOMER = "existing-customer"
    EMPTY = "empty"


def apply_seed(seed: Seed, audit_manager: AuditManager) -> None:
    """Build ``seed`` on top of freshly reset moto and Audit Manager state."""
    moto_state.create_organization(MANAGEMENT_ACCOUNT_ID, ORGANIZATION_ID, ROOT_ID, MEMBERS)
    if seed is Seed.EXISTING_CUSTOMER:
        _existing_customer(audit_manager)


def _existing_customer(audit_manager: AuditManager) -> None:
    """An organization that set Audit Manager up before the 2026-04-30 cut-off."""
    for principal in (AUDIT_MANAGER_PRINCIPAL, UNRELATED_PRINCIPAL):
        moto_state.enable_trusted_access(MANAGEMENT_ACCOUNT_ID, principal)
    moto_state.register_delegated_admin(
        MANAGEMENT_ACCOUNT_ID, AUDIT_ACCOUNT_ID, AUDIT_MANAGER_PRINCIPAL
    )
    for region in EXISTING_CUSTOMER_REGIONS:
        audit_manager.seed_account(MANAGEMENT_ACCOUNT_ID, region, pre_cutoff=True)
        audit_manager.seed_admin(region, AUDIT_ACCOUNT_ID, MANAGEMENT_ACCOUNT_ID)
        # Enabled before CloudTrail Lake closed to new customers: it cannot be had again.
        audit_manager.seed_evidence_finder(AUDIT_ACCOUNT_ID, region)


# The benchmark's organizations: management accounts 4xxxxxxxxxxx, administrators 5xxxxxxxxxxx.
BENCH_ROLE_NAME = "awsorg-operator"


def add_organizations(
    audit_manager: AuditManager,
    first: int,
    count: int,
    regions: Sequence[str],
    adopted: bool,
) -> list[OrganizationSeedView]:
    """Organizations numbered ``first`` .. ``first + count - 1`` beside the seeded one, each
    with its own management account, one member (the administrator) and a role that the
    seeded management account (the operator's own credentials) may assume. ``adopted``: set
    up before the cut-off in ``regions``, as `existing-customer` is; otherwise empty."""
    added: list[OrganizationSeedView] = []
    for n in range(first, first + count):
        management, admin = f"4{n:011d}", f"5{n:011d}"
        org_id = f"o-bench{n:07d}"
        member = MemberSpec(admin, f"audit-{n}", f"audit-{n}@example.com")
        moto_state.create_organization(management, org_id, f"r-b{n:07d}", [member])
        role = moto_state.create_role(management, BENCH_ROLE_NAME, MANAGEMENT_ACCOUNT_ID)
        if adopted:
            moto_state.enable_trusted_access(management, AUDIT_MANAGER_PRINCIPAL)
            moto_state.register_delegated_admin(management, admin, AUDIT_MANAGER_PRINCIPAL)
            for region in regions:
                audit_manager.seed_account(management, region, pre_cutoff=True)
                audit_manager.seed_admin(region, admin, management)
        added.append(
            {
                "organizationID": org_id,
                "managementAccountID": management,
                "adminAccountID": admin,
                "roleARN": role,
            }
        )
    return added
