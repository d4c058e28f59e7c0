"""The plan of a guarded retirement (spec.retirement): a pure function from the spec and what AWS
shows to the steps that leave Audit Manager, in the order issue 20 and AWS require. In each
listed Region:
  1. evidence finder off in the administrator's account, if the spec says so; the Region's
     later steps wait until AWS shows it DISABLED (deleting the event data store takes time);
  2. the delegated administrator deregistered;
  3. the management account's deregistration policy set as stated (`UpdateSettings`);
  4. the management account deregistered (`DeregisterAccount`, which applies that policy).
Then, once no listed Region is registered and none has an administrator, trusted access is
disabled. Each step is planned only from what AWS shows, so a retirement killed at any step
resumes where AWS is, and the in-flight record keeps a step sent but not yet shown from being
sent twice. The whole retirement waits for one approval that names the organization, bound to
the spec's generation (`approval`).
"""

from __future__ import annotations

from awsorg_operator.actions import (
    AnyAction,
    DeregisterAccount,
    DeregisterAdmin,
    DisableTrustedAccess,
    UpdateAuditSettings,
)
from awsorg_operator.auditsettings import ALLOW_IRREVERSIBLE_ANNOTATION, RetirementDesired
from awsorg_operator.observed import AccountStatus, Observed, RegionFailure, RegionView
from awsorg_operator.plan import Blocker, Desired, Plan
from awsorg_operator.reasons import Reason
from awsorg_operator.scan import assumed_note, waiting_for_reads

_ON = ("ENABLED", "ENABLE_IN_PROGRESS")


def approval(org_id: str, generation: int) -> str:
    """The annotation item that approves the whole retirement of one organization, for this
    generation of the spec only: a later edit needs a new approval."""
    return f"{org_id}:retirement@{generation}"


def plan_retirement(desired: Desired, observed: Observed) -> Plan:
    want = desired.retirement
    assert want is not None
    out_of_reach = _out_of_reach(observed)
    if out_of_reach:
        return Plan(blockers=(out_of_reach,))
    views = {v.region: v for v in observed.region_views()}
    actions: list[AnyAction] = []
    waits: list[Blocker] = []
    for region in desired.regions:
        view = views.get(region)
        if view is None:
            continue  # unreadable: the read's failure is reported, and disabling waits
        steps, wait = region_steps(want, observed, view)
        actions += steps
        waits += [Blocker(Reason.PENDING, wait, region)] if wait else []
    # Last, once every Region's steps can be sent: the act step sends it only if they all went.
    if observed.trusted_access and not waits and not observed.region_failures():
        actions.append(DisableTrustedAccess(_disable_why(desired)))
    if not actions:
        return Plan(blockers=tuple(waits))
    org = observed.org.organization.id
    if approval(org, want.generation) in want.approved:
        return Plan(actions=tuple(actions), blockers=tuple(waits))
    blocked = Blocker(
        Reason.IRREVERSIBLE_SETTING_BLOCKED, _message(want, org), None, tuple(actions)
    )
    return Plan(blockers=(blocked, *waits))


def region_steps(
    want: RetirementDesired, observed: Observed, view: RegionView
) -> tuple[list[AnyAction], str | None]:
    """One Region's steps still to take, and why its later steps wait, if they do."""
    region, admin = view.region, view.admin_account_id
    if view.account_status is AccountStatus.INACTIVE:
        return [], None
    if view.account_status is AccountStatus.PENDING_ACTIVATION:
        return [], f"{region}: Audit Manager is PENDING_ACTIVATION"
    steps: list[AnyAction] = []
    if want.evidence_finder_off and admin is not None:
        seen = observed.settings.get(region)
        if seen is None or isinstance(seen, RegionFailure):
            return [], f"{region}: evidence finder of {admin} cannot be read (adminCredentials)"
        if seen.evidence_finder in _ON:
            off = (("evidenceFinderEnabled", "false"),)
            why = f"{region}: retirement: evidence finder of {admin} is {seen.evidence_finder}"
            return [UpdateAuditSettings(region, admin, off, why)], f"{region}: evidence finder off"
        if seen.evidence_finder == "DISABLE_IN_PROGRESS":
            return [], f"{region}: evidence finder is DISABLE_IN_PROGRESS"
    if admin is not None:
        why = f"{region}: retirement: delegated administrator {admin} is registered"
        steps.append(DeregisterAdmin(region, admin, why))
    me = observed.org.organization.management_account_id
    own = observed.own_settings.get(region)
    if own is None or isinstance(own, RegionFailure):
        return steps, f"{region}: the management account's settings were not read"
    have = own.delete_resources or "DEFAULT"
    if have != want.delete_resources:
        policy = (("deregistrationPolicy", want.delete_resources),)
        why = f"{region}: retirement: deleteResources is {have}, want {want.delete_resources}"
        steps.append(UpdateAuditSettings(region, me, policy, why))
    why = f"{region}: retirement: account {me} is registered with Audit Manager"
    steps.append(DeregisterAccount(region, me, why))
    return steps, None


def _out_of_reach(observed: Observed) -> Blocker | None:
    waiting = waiting_for_reads(observed)
    if waiting:
        return Blocker(Reason.PENDING, waiting)
    if observed.admins_elsewhere:
        where = ", ".join(sorted(observed.admins_elsewhere))
        return Blocker(
            Reason.DELEGATED_ADMIN_ELSEWHERE,
            f"a delegated administrator is registered in {where}, which spec.regions does not "
            "list: the retirement would leave it behind; add those Regions to spec.regions",
        )
    return None


def _disable_why(desired: Desired) -> str:
    return "retirement: trusted access is enabled" + assumed_note(desired.assumed_no_admin)


def _message(want: RetirementDesired, org: str) -> str:
    finder = "turns evidence finder off (its CloudTrail Lake event data store is deleted), "
    data = (
        "AWS deletes the management account's Audit Manager data within 7 days"
        if want.delete_resources == "ALL"
        else "the data is kept and evidence ages out after 2 years"
    )
    return (
        f"retirement of organization {org}: "
        + (finder if want.evidence_finder_off else "")
        + "deregisters the delegated administrators and the management account in every "
        f"listed Region with deleteResources {want.delete_resources} ({data}), then disables "
        "trusted access. Audit Manager is in maintenance mode: it may not be enabled again. "
        f'To go ahead, annotate the resource with {ALLOW_IRREVERSIBLE_ANNOTATION}: "'
        f'{approval(org, want.generation)}" (good for this generation of the spec only).'
    )
