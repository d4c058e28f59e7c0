"""The plan over every combination of desired and observed state."""

from __future__ import annotations

import itertools

import pytest

from awsorg_operator.actions import (
    DeregisterAdmin,
    DisableTrustedAccess,
    EnableTrustedAccess,
    RegisterAdmin,
    UpdateKmsKey,
    fields,
)
from awsorg_operator.failures import CallFailure, Kind
from awsorg_operator.observed import (
    AccountStatus,
    Observed,
    Organization,
    OrgView,
    RegionFailure,
    RegionView,
)
from awsorg_operator.plan import Desired, plan, plan_deletion
from awsorg_operator.reconciler import steps

pytestmark = pytest.mark.unit

MGMT, ADMIN, OTHER = "123456789012", "111111111111", "222222222222"
ORG = OrgView(MGMT, Organization("o-abc", MGMT, "ALL"))
ACTIVE, INACTIVE, PENDING = (
    AccountStatus.ACTIVE,
    AccountStatus.INACTIVE,
    AccountStatus.PENDING_ACTIVATION,
)


def observed(
    trusted: bool,
    *regions: RegionView | RegionFailure,
    admins: set[str] | None = None,
    elsewhere: dict[str, str] | None = None,
    unreadable: tuple[RegionFailure, ...] = (),
) -> Observed:
    """As AWS would show it: Organizations lists every Region's administrator."""
    in_regions = {r.admin_account_id for r in regions if isinstance(r, RegionView)}
    found = {a for a in in_regions | set((elsewhere or {}).values()) if a}
    return Observed(
        org=ORG,
        trusted_access=trusted,
        org_delegated_admins=frozenset(found if admins is None else admins),
        regions={r.region: r for r in regions},
        admins_elsewhere=elsewhere or {},
        unreadable_elsewhere=unreadable,
    )


def want(
    trusted: bool = True,
    admin: str | None = ADMIN,
    kms: str | None = None,
    regions: tuple[str, ...] = ("us-east-1",),
    allow: bool | str = False,
) -> Desired:
    """`allow=True` approves deregistering ADMIN, the administrator views show by default."""
    approved = ADMIN if allow is True else (allow or None)
    kms_keys = dict.fromkeys(regions, kms) if kms else {}
    return Desired(trusted, admin, regions, kms_keys, approved)


def ops(p: object) -> list[tuple[str, str | None, str | None]]:
    return [(a.operation, a.region, fields(a)["accountID"]) for a in p.actions]  # type: ignore[attr-defined]


def view(
    region: str = "us-east-1",
    status: AccountStatus = ACTIVE,
    admin: str | None = ADMIN,
    kms: str = "DEFAULT",
) -> RegionView:
    if status is not ACTIVE:
        return RegionView(region, status)
    return RegionView(region, status, admin, kms)


FAILED = RegionFailure(
    "eu-west-1",
    CallFailure("GetAccountStatus", "ThrottlingException", "slow down", Kind.THROTTLED),
)

DENIED_EU = RegionFailure(
    "eu-west-1",
    CallFailure("GetAccountStatus", "AccessDeniedException", "denied", Kind.DENIED),
)

# (name, desired, observed, expected actions, expected blocker reasons, converged)
CASES = [
    ("adopt: AWS already matches", want(), observed(True, view()), [], [], True),
    (
        "no admin managed, AWS has one: nothing to do",
        want(admin=None),
        observed(True, view()),
        [],
        [],
        True,
    ),
    (
        "create from scratch: Audit Manager's register enables trusted access itself",
        want(),
        observed(False, view(status=INACTIVE)),
        [("RegisterAccount", "us-east-1", ADMIN), ("EnableAWSServiceAccess", None, None)],
        [],
        False,
    ),
    (
        "create without admin: Organizations enables trusted access",
        want(admin=None),
        observed(False, view(status=INACTIVE)),
        [("RegisterAccount", "us-east-1", None), ("EnableAWSServiceAccess", None, None)],
        [],
        False,
    ),
    (
        "active, no admin yet",
        want(),
        observed(True, view(admin=None)),
        [("RegisterOrganizationAdminAccount", "us-east-1", ADMIN)],
        [],
        False,
    ),
    (
        "trusted access drifted off, admin still there",
        want(),
        observed(False, view()),
        [("EnableAWSServiceAccess", None, None)],
        [],
        False,
    ),
    (
        "admin change without the annotation is blocked",
        want(admin=OTHER),
        observed(True, view()),
        [],
        ["AdminChangeBlocked"],
        False,
    ),
    (
        "admin change with the annotation: deregister, then register",
        want(admin=OTHER, allow=True),
        observed(True, view()),
        [
            ("DeregisterOrganizationAdminAccount", "us-east-1", ADMIN),
            ("RegisterOrganizationAdminAccount", "us-east-1", OTHER),
        ],
        [],
        False,
    ),
    ("pending activation waits", want(), observed(True, view(status=PENDING)), [], [], False),
    (
        "kms key drift",
        want(kms="arn:aws:kms:us-east-1:123456789012:key/k"),
        observed(True, view()),
        [("UpdateSettings", "us-east-1", None)],
        [],
        False,
    ),
    ("kms key matches", want(kms="DEFAULT"), observed(True, view()), [], [], True),
    (
        "disable with an admin, no annotation: blocked, nothing done",
        want(False, None),
        observed(True, view()),
        [],
        ["AdminChangeBlocked"],
        False,
    ),
    (
        "disable with the annotation: deregister, then disable",
        want(False, None, allow=True),
        observed(True, view()),
        [
            ("DeregisterOrganizationAdminAccount", "us-east-1", ADMIN),
            ("DisableAWSServiceAccess", None, None),
        ],
        [],
        False,
    ),
    (
        "disable, no admin",
        want(False, None),
        observed(True, view(admin=None)),
        [("DisableAWSServiceAccess", None, None)],
        [],
        False,
    ),
    ("already disabled", want(False, None), observed(False, view(status=INACTIVE)), [], [], True),
    (
        "two Regions, one failed: the other still planned",
        want(regions=("us-east-1", "eu-west-1")),
        observed(True, view(admin=None), FAILED),
        [("RegisterOrganizationAdminAccount", "us-east-1", ADMIN)],
        [],
        False,
    ),
    (
        "disable while a Region is unknown: nothing attempted",
        want(False, None, regions=("us-east-1", "eu-west-1"), allow=True),
        observed(True, view(), FAILED),
        [],
        ["Pending"],
        False,
    ),
    (
        "disable with an administrator in an unlisted Region: nothing deregistered",
        want(False, None, allow=True),
        observed(True, view(), elsewhere={"eu-west-1": ADMIN}),
        [],
        ["DelegatedAdminElsewhere"],
        False,
    ),
    (
        "disable while an unlisted Region could not be read: wait, deregister nothing",
        want(False, None, allow=True),
        observed(True, view(), unreadable=(DENIED_EU,)),
        [],
        ["Pending"],
        False,
    ),
    (
        "disable while Organizations lists an administrator no Region shows",
        want(False, None, allow=True),
        observed(True, view(admin=None), admins={OTHER}),
        [],
        ["DelegatedAdminElsewhere"],
        False,
    ),
    (
        "a Region outside the spec is ignored",
        want(),
        observed(True, view(), view("ap-south-1", admin=None)),
        [],
        [],
        True,
    ),
]


@pytest.mark.parametrize(
    ("name", "desired", "obs", "actions", "blockers", "converged"), CASES, ids=[c[0] for c in CASES]
)
def test_plan(
    name: str,
    desired: Desired,
    obs: Observed,
    actions: list[object],
    blockers: list[str],
    converged: bool,
) -> None:
    p = plan(desired, obs)
    assert ops(p) == actions
    assert [b.reason for b in p.blockers] == blockers
    assert p.converged is converged


def test_admin_change_message_tells_the_two_steps_the_cost_and_the_way_out() -> None:
    p = plan(want(admin=OTHER), observed(True, view()))
    message = p.blockers[0].message
    for words in (
        f"deregister {ADMIN} then register {OTHER}",
        "evidence finder",
        "maintenance mode",
        "awsorg.io/allow-admin-change",
    ):
        assert words in message


STATUSES = [ACTIVE, INACTIVE, PENDING]
ADMINS = [None, ADMIN, OTHER]


@pytest.mark.parametrize(
    ("trusted", "status", "have", "wanted", "allow"),
    list(itertools.product([True, False], STATUSES, ADMINS, [None, ADMIN], [True, False])),
)
def test_enabled_never_deregisters_without_leave_and_always_lands_on_the_spec(
    trusted: bool, status: AccountStatus, have: str | None, wanted: str | None, allow: bool
) -> None:
    """Exhaustive over one Region: the invariants that matter when a setup cannot be rebuilt."""
    approval = (have or "") if allow else ""
    obs = observed(trusted, view(status=status, admin=have))
    p = plan(want(admin=wanted, allow=approval), obs)
    deregistered = [a for a in p.actions if isinstance(a, DeregisterAdmin)]
    if deregistered:
        assert allow and have not in (None, wanted)
    if wanted and have not in (None, wanted) and status is ACTIVE and not allow:
        assert [b.reason for b in p.blockers] == ["AdminChangeBlocked"]
    if status is ACTIVE and have == wanted and trusted:
        assert p.converged
    if not trusted:
        # Last, so that Audit Manager's own register call, if any, goes first (AWS's advice).
        assert isinstance(p.actions[-1], EnableTrustedAccess)
    assert not any(isinstance(a, DisableTrustedAccess) for a in p.actions)


@pytest.mark.parametrize("trusted_access", [True, False])
def test_an_approval_approves_only_the_administrator_it_names(trusted_access: bool) -> None:
    """An approval left in place after its change must not approve the next one."""
    admin = OTHER if trusted_access else None
    stale = plan(want(trusted_access, admin, allow=OTHER), observed(True, view(admin=ADMIN)))
    assert [b.reason for b in stale.blockers] == ["AdminChangeBlocked"]
    assert not any(isinstance(a, DeregisterAdmin) for a in stale.actions)
    assert f'awsorg.io/allow-admin-change: "{ADMIN}"' in stale.blockers[0].message
    # What approving would do is shown: the two steps, or the removal and the disabling.
    would = stale.blockers[0].would
    assert isinstance(would[0], DeregisterAdmin) and would[0].account_id == ADMIN
    assert isinstance(would[-1], RegisterAdmin if trusted_access else DisableTrustedAccess)
    approved = plan(want(trusted_access, admin, allow=ADMIN), observed(True, view(admin=ADMIN)))
    assert not approved.blockers
    assert [a for a in approved.actions if isinstance(a, DeregisterAdmin)]


def test_a_kms_key_per_region_is_planned_where_it_differs() -> None:
    key = "arn:aws:kms:eu-west-1:123456789012:key/k"
    desired = Desired(True, ADMIN, ("us-east-1", "eu-west-1"), {"eu-west-1": key})
    p = plan(desired, observed(True, view(), view("eu-west-1")))
    assert [(a.operation, a.region) for a in p.actions] == [("UpdateSettings", "eu-west-1")]


@pytest.mark.parametrize(
    ("name", "admin", "obs", "actions", "notes"),
    [
        (
            "deregisters ours, then disables",
            ADMIN,
            observed(True, view()),
            [
                ("DeregisterOrganizationAdminAccount", "us-east-1", ADMIN),
                ("DisableAWSServiceAccess", None, None),
            ],
            0,
        ),
        (
            "leaves an admin it does not manage, and trusted access with it",
            ADMIN,
            observed(True, view(admin=OTHER), admins={OTHER}),
            [],
            1,
        ),
        (
            "no admin in the spec: only disables when no admin exists",
            None,
            observed(True, view(admin=None), admins=set()),
            [("DisableAWSServiceAccess", None, None)],
            0,
        ),
        ("nothing left to undo", ADMIN, observed(False, view(status=INACTIVE)), [], 0),
        (
            "an unlisted Region could not be read: ours goes, trusted access waits",
            ADMIN,
            observed(True, view(), unreadable=(DENIED_EU,)),
            [("DeregisterOrganizationAdminAccount", "us-east-1", ADMIN)],
            0,
        ),
        (
            "ours is still administrator in an unlisted Region: trusted access stays",
            ADMIN,
            observed(True, view(), elsewhere={"eu-west-1": ADMIN}),
            [("DeregisterOrganizationAdminAccount", "us-east-1", ADMIN)],
            1,
        ),
    ],
)
def test_plan_deletion(
    name: str, admin: str | None, obs: Observed, actions: list[object], notes: int
) -> None:
    p = plan_deletion(want(admin=admin), obs)
    assert ops(p) == actions
    assert len(p.notes) == notes


def test_steps_keep_each_regions_order_and_put_trusted_access_at_its_place() -> None:
    d_us, r_us = DeregisterAdmin("us-east-1", ADMIN, "x"), RegisterAdmin("us-east-1", OTHER, "x")
    d_eu, r_eu = DeregisterAdmin("eu-west-1", ADMIN, "x"), RegisterAdmin("eu-west-1", OTHER, "x")
    key_eu = UpdateKmsKey("eu-west-1", "DEFAULT", "x")
    enable, disable = EnableTrustedAccess("x"), DisableTrustedAccess("x")

    assert steps((d_us, r_us, d_eu, r_eu, key_eu, enable)) == [
        (d_us, d_eu),
        (r_us, r_eu),
        (key_eu,),
        (enable,),
    ]
    assert steps((d_us, d_eu, disable)) == [(d_us, d_eu), (disable,)]
    assert steps((enable, d_us, disable, r_us)) == [(enable,), (d_us,), (disable,), (r_us,)]
    assert steps(()) == []


@pytest.mark.parametrize("trusted", [True, False])
@pytest.mark.parametrize("admin", [ADMIN, OTHER, None])
def test_steps_send_every_planned_action_once(trusted: bool, admin: str | None) -> None:
    views = [RegionView(r, ACTIVE, ADMIN, "DEFAULT") for r in ("us-east-1", "eu-west-1")]
    desired = Desired(trusted, admin, ("us-east-1", "eu-west-1"), approved_removal=ADMIN)
    actions = plan(desired, observed(True, *views)).actions

    flat = [a for step in steps(actions) for a in step]

    assert sorted(map(repr, flat)) == sorted(map(repr, actions))
    for step in steps(actions):
        regions = [a.region for a in step]
        assert len(regions) == len(set(regions)), "two actions of one Region in one step"
