"""The retirement's plan (retirement.py) over what AWS shows: the steps in AWS's order, the
approval that names the organization and the spec's generation, the waits."""

from __future__ import annotations

import pytest

from awsorg_operator.actions import AnyAction, fields
from awsorg_operator.auditsettings import RetirementDesired
from awsorg_operator.observed import (
    AccountStatus,
    Observed,
    Organization,
    OrgView,
    RegionView,
    SettingsView,
)
from awsorg_operator.plan import Desired
from awsorg_operator.reasons import Reason
from awsorg_operator.retirement import approval, plan_retirement

pytestmark = pytest.mark.unit

MGMT, ADMIN = "123456789012", "111111111111"
ORG = OrgView(MGMT, Organization("o-abc", MGMT, "ALL"))
EAST, WEST = "us-east-1", "eu-west-1"
APPROVED = frozenset({approval("o-abc", 3)})


def desired(approved: frozenset[str] = APPROVED, finder_off: bool = False) -> Desired:
    want = RetirementDesired("ALL", finder_off, approved, generation=3, admin_account_id=ADMIN)
    return Desired(
        trusted_access=False, admin_account_id=None, regions=(EAST, WEST), retirement=want
    )


def seen(
    status: AccountStatus = AccountStatus.ACTIVE,
    admin: str | None = ADMIN,
    finder: str = "ENABLED",
    policy: str | None = None,
    trusted: bool = True,
    elsewhere: dict[str, str] | None = None,
) -> Observed:
    regions = {
        r: RegionView(r, status, admin if status is AccountStatus.ACTIVE else None)
        for r in (EAST, WEST)
    }
    active = status is AccountStatus.ACTIVE
    return Observed(
        org=ORG,
        trusted_access=trusted,
        org_delegated_admins=frozenset({admin} if admin and active else set()),
        regions=dict(regions),
        admins_elsewhere=elsewhere or {},
        settings={r: SettingsView(r, ADMIN, evidence_finder=finder) for r in regions}
        if admin
        else {},
        own_settings={r: SettingsView(r, MGMT, delete_resources=policy) for r in regions}
        if active
        else {},
    )


def shown(actions: tuple[AnyAction, ...]) -> list[tuple[str, str | None, str | None]]:
    return [(a.operation, a.region, fields(a)["accountID"]) for a in actions]


def test_every_step_in_order_region_by_region_then_trusted_access_last() -> None:
    p = plan_retirement(desired(), seen())
    per_region = [
        ("DeregisterOrganizationAdminAccount", ADMIN),
        ("UpdateSettings", MGMT),
        ("DeregisterAccount", MGMT),
    ]
    assert shown(p.actions) == [
        *[(op, r, account) for r in (EAST, WEST) for op, account in per_region],
        ("DisableAWSServiceAccess", None, None),
    ]
    assert fields(p.actions[1])["settings"] == "deregistrationPolicy=ALL"


def test_a_policy_aws_already_has_is_not_set_again() -> None:
    p = plan_retirement(desired(), seen(policy="ALL"))
    assert "UpdateSettings" not in [a.operation for a in p.actions]


@pytest.mark.parametrize(
    "approved",
    [frozenset(), frozenset({"o-abc:retirement@2"}), frozenset({"o-other:retirement@3"})],
)
def test_without_the_approval_every_step_waits_and_is_shown(approved: frozenset[str]) -> None:
    p = plan_retirement(desired(approved), seen())
    assert p.actions == ()
    (blocked,) = p.blockers
    assert blocked.reason is Reason.IRREVERSIBLE_SETTING_BLOCKED
    assert '"o-abc:retirement@3"' in blocked.message
    assert shown(blocked.would) == shown(plan_retirement(desired(), seen()).actions)


def test_evidence_finder_goes_off_first_and_the_rest_waits_until_aws_shows_it_off() -> None:
    on = plan_retirement(desired(finder_off=True), seen())
    assert [(a.operation, fields(a)["settings"]) for a in on.actions] == [
        ("UpdateSettings", "evidenceFinderEnabled=false")
    ] * 2
    assert {b.reason for b in on.blockers} == {Reason.PENDING}
    moving = plan_retirement(desired(finder_off=True), seen(finder="DISABLE_IN_PROGRESS"))
    assert moving.actions == () and moving.blockers
    off = plan_retirement(desired(finder_off=True), seen(finder="DISABLED"))
    assert off.actions[0].operation == "DeregisterOrganizationAdminAccount"


def test_done_when_every_region_is_deregistered_and_trusted_access_is_off() -> None:
    gone = seen(AccountStatus.INACTIVE, admin=None)
    assert shown(plan_retirement(desired(), gone).actions) == [
        ("DisableAWSServiceAccess", None, None)
    ]
    assert plan_retirement(
        desired(), seen(AccountStatus.INACTIVE, admin=None, trusted=False)
    ).converged


def test_an_administrator_in_an_unlisted_region_stops_it_before_any_step() -> None:
    p = plan_retirement(desired(), seen(elsewhere={"ap-south-1": ADMIN}))
    assert p.actions == ()
    assert [b.reason for b in p.blockers] == [Reason.DELEGATED_ADMIN_ELSEWHERE]
