"""The plan: a pure function from what is wanted and what AWS has to the calls that close the gap.

No I/O here, and nothing about boto3 or Kubernetes: `tests/unit/test_plan.py` covers it all.
The order of the actions is the order AWS requires:
  1. trusted access through Organizations, only when no Audit Manager call enables it for us
     (AWS recommends Audit Manager's path, which does the service's own set-up too);
  2. each Region's Audit Manager calls, deregistration before registration;
  3. disabling trusted access, last, because AWS refuses it while an administrator exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from awsorg_operator.state import AccountStatus, Observed, RegionView


class Op(StrEnum):
    ENABLE_TRUSTED_ACCESS = "EnableAWSServiceAccess"
    DISABLE_TRUSTED_ACCESS = "DisableAWSServiceAccess"
    REGISTER_ACCOUNT = "RegisterAccount"
    REGISTER_ADMIN = "RegisterOrganizationAdminAccount"
    DEREGISTER_ADMIN = "DeregisterOrganizationAdminAccount"
    UPDATE_KMS_KEY = "UpdateSettings"


@dataclass(frozen=True)
class Desired:
    trusted_access: bool
    admin_account_id: str | None  # None: not managed
    kms_key: str | None  # None: not managed
    regions: tuple[str, ...]
    allow_admin_change: bool = False


@dataclass(frozen=True)
class Action:
    op: Op
    why: str  # the difference it closes, as a person would say it
    region: str | None = None  # None: organization-wide
    account_id: str | None = None
    kms_key: str | None = None

    @property
    def registers_admin(self) -> bool:
        return self.op is Op.REGISTER_ADMIN or (
            self.op is Op.REGISTER_ACCOUNT and self.account_id is not None
        )


@dataclass(frozen=True)
class Blocker:
    """A difference the operator will not close on its own."""

    reason: str
    message: str
    region: str | None = None


@dataclass(frozen=True)
class Plan:
    actions: tuple[Action, ...] = ()
    blockers: tuple[Blocker, ...] = ()
    pending: tuple[str, ...] = ()  # Regions where AWS is still activating
    notes: tuple[str, ...] = ()  # things left alone on purpose, worth an Event

    @property
    def converged(self) -> bool:
        return not (self.actions or self.blockers or self.pending)


def plan(desired: Desired, observed: Observed) -> Plan:
    if desired.trusted_access:
        return _plan_enabled(desired, observed)
    return _plan_disabled(desired, observed)


def plan_deletion(desired: Desired, observed: Observed) -> Plan:
    """deletionPolicy Delete: undo what this resource manages, and nothing it does not."""
    ours = desired.admin_account_id
    actions = [
        Action(
            Op.DEREGISTER_ADMIN,
            f"{r.region}: deregister delegated administrator {ours}",
            region=r.region,
            account_id=ours,
        )
        for r in _views(observed, desired)
        if ours is not None and r.admin_account_id == ours
    ]
    others = sorted(observed.org_delegated_admins - {ours})
    if not observed.trusted_access:
        return Plan(actions=tuple(actions))
    if others or observed.admins_elsewhere or observed.unreadable_elsewhere:
        where = _where(observed.admins_elsewhere)
        note = (
            f"trusted access left enabled: a delegated administrator is still registered"
            f"{where}"
            + (
                f" ({', '.join(others)}, not managed by this resource)"
                if others
                else " (Regions this resource does not list)"
            )
        )
        if observed.unreadable_elsewhere and not (others or observed.admins_elsewhere):
            note = (
                "trusted access left enabled: could not read "
                f"{', '.join(observed.unreadable_elsewhere)} to be sure no administrator "
                "is registered there"
            )
        return Plan(actions=tuple(actions), notes=(note,))
    if not observed.region_failures():
        actions.append(Action(Op.DISABLE_TRUSTED_ACCESS, "disable trusted access"))
    return Plan(actions=tuple(actions))


def _where(admins_elsewhere: dict[str, str]) -> str:
    return f" in {', '.join(sorted(admins_elsewhere))}" if admins_elsewhere else ""


def _views(observed: Observed, desired: Desired) -> list[RegionView]:
    views = {r.region: r for r in observed.region_views()}
    return [views[region] for region in desired.regions if region in views]


def _plan_enabled(desired: Desired, observed: Observed) -> Plan:
    actions: list[Action] = []
    blockers: list[Blocker] = []
    pending: list[str] = []
    for view in _views(observed, desired):
        region_actions, blocker = _plan_region(desired, view)
        actions += region_actions
        if blocker:
            blockers.append(blocker)
        if view.account_status is AccountStatus.PENDING_ACTIVATION:
            pending.append(view.region)
    if not observed.trusted_access:
        # Last: Audit Manager's own register call enables trusted access as it should (the
        # act step then skips this); when there is none, or it failed, Organizations does.
        actions.append(Action(Op.ENABLE_TRUSTED_ACCESS, "trusted access is disabled"))
    return Plan(actions=tuple(actions), blockers=tuple(blockers), pending=tuple(pending))


def _plan_region(desired: Desired, view: RegionView) -> tuple[list[Action], Blocker | None]:
    region, want = view.region, desired.admin_account_id
    if view.account_status is AccountStatus.INACTIVE:
        return [
            Action(
                Op.REGISTER_ACCOUNT,
                f"{region}: Audit Manager is not enabled",
                region=region,
                account_id=want,
                kms_key=desired.kms_key,
            )
        ], None
    if view.account_status is AccountStatus.PENDING_ACTIVATION:
        return [], None
    actions: list[Action] = []
    blocker = None
    have = view.admin_account_id
    if want is not None and have != want:
        if have is None:
            actions.append(
                Action(
                    Op.REGISTER_ADMIN,
                    f"{region}: no delegated administrator",
                    region=region,
                    account_id=want,
                )
            )
        elif desired.allow_admin_change:
            why = f"{region}: delegated administrator is {have}, want {want}"
            actions += [
                Action(Op.DEREGISTER_ADMIN, why, region=region, account_id=have),
                Action(Op.REGISTER_ADMIN, why, region=region, account_id=want),
            ]
        else:
            blocker = Blocker(
                "AdminChangeBlocked", _admin_change_message(region, have, want), region=region
            )
    if desired.kms_key is not None and view.kms_key != desired.kms_key:
        actions.append(
            Action(
                Op.UPDATE_KMS_KEY,
                f"{region}: KMS key is {view.kms_key}, want {desired.kms_key}",
                region=region,
                kms_key=desired.kms_key,
            )
        )
    return actions, blocker


def _plan_disabled(desired: Desired, observed: Observed) -> Plan:
    if not observed.trusted_access:
        return Plan()
    # AWS refuses to disable trusted access while any Region has an administrator. Unless all
    # of them can go, deregister none: a removal that cannot reach the goal is pure loss.
    blocker = _admins_out_of_reach(desired, observed)
    if blocker:
        return Plan(blockers=(blocker,))
    actions: list[Action] = []
    blockers: list[Blocker] = []
    for view in _views(observed, desired):
        have = view.admin_account_id
        if have is None:
            continue
        if desired.allow_admin_change:
            why = f"{view.region}: delegated administrator {have} is registered"
            actions.append(Action(Op.DEREGISTER_ADMIN, why, region=view.region, account_id=have))
        else:
            message = _admin_removal_message(view.region, have)
            blockers.append(Blocker("AdminChangeBlocked", message, view.region))
    if not blockers:
        actions.append(Action(Op.DISABLE_TRUSTED_ACCESS, "trusted access is enabled"))
    return Plan(actions=tuple(actions), blockers=tuple(blockers))


def _admins_out_of_reach(desired: Desired, observed: Observed) -> Blocker | None:
    if observed.region_failures() or observed.unreadable_elsewhere:
        return Blocker("Pending", "waiting to read every Region before disabling trusted access")
    if observed.admins_elsewhere:
        return Blocker(
            "DelegatedAdminElsewhere",
            f"a delegated administrator is registered{_where(observed.admins_elsewhere)}, which "
            "spec.regions does not list; AWS refuses to disable trusted access while any Region "
            "has one: add those Regions to spec.regions",
        )
    seen = {v.admin_account_id for v in _views(observed, desired)}
    unseen = sorted(observed.org_delegated_admins - seen)
    if unseen:
        return Blocker(
            "DelegatedAdminElsewhere",
            f"AWS Organizations lists {', '.join(unseen)} as Audit Manager's delegated "
            "administrator, but no Audit Manager Region shows it; deregister it in AWS "
            "Organizations first",
        )
    return None


_REMOVAL_RISK = (
    "Deregistering stops evidence collection to that account, and may leave evidence "
    "finder's CloudTrail Lake event data store running up costs there (disable evidence "
    "finder in that account first). Since 30 April 2026 Audit Manager is in maintenance "
    "mode: AWS may refuse to register an administrator again, so this may not be undone. "
    'To go ahead, annotate the resource with awsorg.io/allow-admin-change: "true".'
)


def _admin_change_message(region: str, have: str, want: str) -> str:
    return (
        f"{region}: the delegated administrator is {have}; changing it to {want} takes two "
        f"steps, deregister {have} then register {want}. " + _REMOVAL_RISK
    )


def _admin_removal_message(region: str, have: str) -> str:
    return (
        f"{region}: disabling trusted access first deregisters the delegated administrator "
        f"{have}. " + _REMOVAL_RISK
    )
