"""The plan: a pure function from what is wanted and what AWS has to the calls that close the gap.

No I/O, no boto3, no Kubernetes (`tests/unit/test_plan.py`); the reconciler sends the actions.
The order of the actions is the order AWS requires:
  1. trusted access through Organizations, only when no Audit Manager call enables it for us
     (AWS recommends Audit Manager's path, which does the service's own set-up too);
  2. each Region's Audit Manager calls, deregistration before registration;
  3. disabling trusted access, last, because AWS refuses it while an administrator exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from awsorg_operator.actions import (
    Action,
    AnyAction,
    DeregisterAdmin,
    DisableTrustedAccess,
    EnableTrustedAccess,
    RegisterAccount,
    RegisterAdmin,
    UpdateKmsKey,
)
from awsorg_operator.api import ALLOW_ADMIN_CHANGE_ANNOTATION
from awsorg_operator.auditsettings import RetirementDesired, SettingsDesired
from awsorg_operator.observed import AccountStatus, Observed, RegionView
from awsorg_operator.reasons import Reason
from awsorg_operator.scan import assumed_note, unreadable_message, waiting_for_reads


@dataclass(frozen=True)
class Desired:
    trusted_access: bool
    admin_account_id: str | None  # None: not managed
    regions: tuple[str, ...]
    kms_keys: Mapping[str, str] = field(default_factory=dict)  # Region -> key; absent: unmanaged
    # The administrator a person approved deregistering (the approval annotation's value):
    # an approval is bound to the one account it names, so it approves one change.
    approved_removal: str | None = None
    # Regions not read before disabling trusted access, as the spec says (assumeNoDelegatedAdminIn)
    assumed_no_admin: frozenset[str] = frozenset()
    settings: SettingsDesired | None = None  # the administrator's settings (settingsplan.py)
    retirement: RetirementDesired | None = None  # leaving Audit Manager (retirement.py)


@dataclass(frozen=True)
class Blocker:
    """A difference the operator will not close on its own."""

    reason: Reason
    message: str
    region: str | None = None
    would: tuple[AnyAction, ...] = ()  # what it would do once approved: shown in status


@dataclass(frozen=True)
class Plan:
    actions: tuple[AnyAction, ...] = ()
    blockers: tuple[Blocker, ...] = ()
    pending: tuple[str, ...] = ()  # Regions where AWS is still activating
    notes: tuple[str, ...] = ()  # things left alone on purpose, worth an Event

    @property
    def converged(self) -> bool:
        return not (self.actions or self.blockers or self.pending)

    def differences(self) -> list[str]:  # what differs from the spec, as a person says it
        return [a.why for a in self.actions] + [b.message for b in self.blockers]

    def activating(self) -> list[str]:  # the Regions AWS is still activating
        return [f"{region}: Audit Manager is PENDING_ACTIVATION" for region in self.pending]


def plan(desired: Desired, observed: Observed) -> Plan:
    if desired.trusted_access:
        return _plan_enabled(desired, observed)
    return _plan_disabled(desired, observed)


def plan_deletion(desired: Desired, observed: Observed) -> Plan:
    """deletionPolicy Delete: undo what this resource manages, and nothing it does not."""
    ours = desired.admin_account_id
    actions: list[Action] = [
        DeregisterAdmin(r.region, ours, f"{r.region}: deregister delegated administrator {ours}")
        for r in _views(observed, desired)
        if ours is not None and r.admin_account_id == ours
    ]
    others = sorted(observed.org_delegated_admins - {ours})
    if not observed.trusted_access:
        return Plan(actions=tuple(actions))
    if others or observed.admins_elsewhere:
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
        return Plan(actions=tuple(actions), notes=(note,))
    if observed.unreadable_elsewhere:
        # Not a note: the deletion waits until the Region is read or named in the spec.
        waits = (Blocker(Reason.PENDING, unreadable_message(observed.unreadable_elsewhere)),)
        return Plan(actions=tuple(actions), blockers=waits)
    if not observed.region_failures():
        why = "disable trusted access" + assumed_note(desired.assumed_no_admin)
        actions.append(DisableTrustedAccess(why))
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
        actions.append(EnableTrustedAccess("trusted access is disabled"))
    return Plan(actions=tuple(actions), blockers=tuple(blockers), pending=tuple(pending))


def _plan_region(desired: Desired, view: RegionView) -> tuple[list[Action], Blocker | None]:
    region, want = view.region, desired.admin_account_id
    key = desired.kms_keys.get(region)
    if view.account_status is AccountStatus.INACTIVE:
        why = f"{region}: Audit Manager is not enabled"
        return [RegisterAccount(region, why, admin_account_id=want, kms_key=key)], None
    if view.account_status is AccountStatus.PENDING_ACTIVATION:
        return [], None
    actions: list[Action] = []
    blocker = None
    have = view.admin_account_id
    if want is not None and have != want:
        if have is None:
            actions.append(RegisterAdmin(region, want, f"{region}: no delegated administrator"))
        else:
            why = f"{region}: delegated administrator is {have}, want {want}"
            change = (DeregisterAdmin(region, have, why), RegisterAdmin(region, want, why))
            if desired.approved_removal == have:
                actions += change
            else:
                message = _admin_change_message(region, have, want)
                blocker = Blocker(Reason.ADMIN_CHANGE_BLOCKED, message, region, would=change)
    if key is not None and view.kms_key != key:
        actions.append(
            UpdateKmsKey(region, key, f"{region}: KMS key is {view.kms_key}, want {key}")
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
        removal = DeregisterAdmin(
            view.region, have, f"{view.region}: delegated administrator {have} is registered"
        )
        if desired.approved_removal == have:
            actions.append(removal)
        else:
            message = _admin_removal_message(view.region, have)
            blockers.append(Blocker(Reason.ADMIN_CHANGE_BLOCKED, message, view.region, (removal,)))
    disable = DisableTrustedAccess(
        "trusted access is enabled" + assumed_note(desired.assumed_no_admin)
    )
    if blockers:
        # Shown in status as what approving would do, after the removals.
        last = blockers[-1]
        blockers[-1] = Blocker(last.reason, last.message, last.region, (*last.would, disable))
    else:
        actions.append(disable)
    return Plan(actions=tuple(actions), blockers=tuple(blockers))


def _admins_out_of_reach(desired: Desired, observed: Observed) -> Blocker | None:
    waiting = waiting_for_reads(observed)
    if waiting:
        return Blocker(Reason.PENDING, waiting)
    if observed.admins_elsewhere:
        return Blocker(
            Reason.DELEGATED_ADMIN_ELSEWHERE,
            f"a delegated administrator is registered{_where(observed.admins_elsewhere)}, which "
            "spec.regions does not list; AWS refuses to disable trusted access while any Region "
            "has one: add those Regions to spec.regions",
        )
    seen = {v.admin_account_id for v in _views(observed, desired)}
    unseen = sorted(observed.org_delegated_admins - seen)
    if unseen:
        return Blocker(
            Reason.DELEGATED_ADMIN_ELSEWHERE,
            f"AWS Organizations lists {', '.join(unseen)} as Audit Manager's delegated "
            "administrator, but no Audit Manager Region shows it; deregister it in AWS "
            "Organizations first",
        )
    return None


def _removal_risk(have: str) -> str:
    return (
        "Deregistering stops evidence collection to that account, and may leave evidence "
        "finder's CloudTrail Lake event data store running up costs there (disable evidence "
        "finder in that account first). Since 30 April 2026 Audit Manager is in maintenance "
        "mode: AWS may refuse to register an administrator again, so this may not be undone. "
        f'To go ahead, annotate the resource with {ALLOW_ADMIN_CHANGE_ANNOTATION}: "{have}" (the '
        "administrator to deregister: the approval is good for that account only)."
    )


def _admin_change_message(region: str, have: str, want: str) -> str:
    return (
        f"{region}: the delegated administrator is {have}; changing it to {want} takes two "
        f"steps, deregister {have} then register {want}. " + _removal_risk(have)
    )


def _admin_removal_message(region: str, have: str) -> str:
    return (
        f"{region}: disabling trusted access first deregisters the delegated administrator "
        f"{have}. " + _removal_risk(have)
    )
