"""The report: a pure function from what a reconcile saw and did to the status it writes, the
Events it posts and when to try again. Reached on every path, also when a step failed.

Ready says whether AWS matches the spec: True when it does, False when it is known to differ
or cannot converge without a person, Unknown when AWS could not be read. Synced says whether
the last reconcile could talk to AWS: False with the failure's reason when a call failed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from awsorg_operator.actions import Action, describe, key
from awsorg_operator.api import (
    Condition,
    ConditionStatus,
    PlannedAction,
    PlannedState,
    RegionStatus,
    Status,
    TrustedAccess,
)
from awsorg_operator.conditions import READY, SYNCED, set_condition
from awsorg_operator.failures import AwsFailure, Retry
from awsorg_operator.plan import Desired, Plan
from awsorg_operator.resource import Event, Outcome, Resource, Stop
from awsorg_operator.state import Observed, OrgView, RegionView
from awsorg_operator.writes import entry, entry_key, refused, rfc3339

_Cond = tuple[ConditionStatus, str, str]  # status, reason, message


@dataclass(frozen=True)
class Result:
    """What one reconcile saw and did, whichever step it got to."""

    org: OrgView | None = None
    observed: Observed | None = None  # the latest observation
    stop: Stop | None = None
    plan: Plan = field(default_factory=Plan)  # planned from the latest observation
    drift: tuple[str, ...] = ()  # differences found although this generation was Ready
    done: tuple[Action, ...] = ()
    failed: tuple[tuple[Action, AwsFailure], ...] = ()
    held: tuple[PlannedAction, ...] = ()  # remembered as in flight or refused: not sent
    error: AwsFailure | None = None  # the reconcile could not go on
    released: bool = False  # deletion: AWS is as the deletionPolicy wants
    notices: tuple[Event, ...] = ()

    def failures(self) -> list[tuple[str | None, AwsFailure]]:
        """Every call that failed in this reconcile, by Region (None: organization)."""
        reads = self.observed.region_failures() if self.observed else []
        return (
            ([(None, self.error)] if self.error else [])
            + [(r.region, r.failure) for r in reads]
            + [(a.region, f) for a, f in self.failed]
        )


def drift(res: Resource, first: Plan) -> tuple[str, ...]:
    """AWS differs although this generation was Ready: someone changed it outside Kubernetes."""
    prev = res.status.condition(READY)
    was_ready = (
        prev is not None
        and prev.status == "True"
        and res.status.observed_generation == res.generation
    )
    if not was_ready or first.converged:
        return ()
    return tuple([a.why for a in first.actions] + [b.message for b in first.blockers])


def report(res: Resource, desired: Desired, r: Result, now: datetime, deleting: bool) -> Outcome:
    stamp = rfc3339(now)
    planned = _planned(res, r, stamp)
    ready, synced, retry = _ready(res, desired, r, planned), _synced(r), _retry(res, r, planned)
    if deleting:
        ready = (
            "False",
            "Deleting",
            "AWS is as deletionPolicy wants; the finalizer goes"
            if r.released
            else f"deletion waits: {ready[2]}",
        )
        # An unfinished deletion keeps trying, slowly, until AWS lets it finish or a person
        # sets deletionPolicy Retain.
        retry = None if r.released else (retry or Retry.SLOWLY)
    prev = res.status.conditions
    conditions = tuple(
        set_condition(prev, type_, status, reason, message, res.generation, stamp)
        for type_, (status, reason, message) in ((READY, ready), (SYNCED, synced))
    )
    events = _events(res, r)
    events += _warnings(res, (ready, synced), {e.reason for e in events})
    return Outcome(_status(res, desired, r, conditions, planned), events, retry)


def _planned(res: Resource, r: Result, stamp: str) -> tuple[PlannedAction, ...]:
    """What the operator would do and did not (yet): for a person, and for the next reconcile."""
    if r.observed is None:
        return res.status.planned_actions  # AWS unread: keep what is remembered
    previous = {(entry_key(e), e.state): e.since for e in res.status.planned_actions}
    # Sent and maybe landed: treated as done, so a lagging read cannot duplicate it.
    done = {key(a) for a in r.done} | {key(a) for a, f in r.failed if f.maybe_applied}
    refusals = {key(a): f for a, f in r.failed if f.retry is Retry.NEVER}
    held = {entry_key(e): e for e in r.held}
    aws_state = r.observed.fingerprint()

    def since(a: Action, state: PlannedState) -> str:
        return previous.get((key(a), state), stamp)

    out: list[PlannedAction] = []
    for a in r.plan.actions:
        k = key(a)
        if not res.manages:
            out.append(entry(a, PlannedState.NOT_APPLIED, since(a, PlannedState.NOT_APPLIED)))
        elif k in done:
            out.append(entry(a, PlannedState.IN_FLIGHT, stamp))
        elif k in refusals:
            out.append(refused(a, refusals[k], res.generation, aws_state, stamp))
        elif k in held:
            out.append(held[k])
    state = PlannedState.NOT_APPLIED if not res.manages else PlannedState.AWAITING_APPROVAL
    out += [entry(a, state, since(a, state)) for b in r.plan.blockers for a in b.would]
    return tuple(out)


def _ready(res: Resource, desired: Desired, r: Result, planned: Sequence[PlannedAction]) -> _Cond:
    p = r.plan
    if r.stop:
        return ("False", r.stop.reason, r.stop.message)
    if r.error:
        return ("Unknown", r.error.reason, f"the reconcile could not finish: {r.error.describe()}")
    refusals = [e for e in planned if e.state is PlannedState.REFUSED]
    if refusals:
        return ("False", refusals[0].reason or "AwsRefused", _refusal_messages(refusals))
    if not res.manages and (p.actions or p.blockers):
        # Under Observe a blocker's way out (the annotation) changes nothing: it is drift.
        diffs = "; ".join([a.why for a in p.actions] + [b.message for b in p.blockers])
        return (
            "False",
            "Drifted",
            f"AWS differs from the spec: {diffs} (managementPolicy Observe makes no changes)",
        )
    blockers = [b for b in p.blockers if b.reason != "Pending"]
    if blockers:
        return ("False", blockers[0].reason, "; ".join(b.message for b in blockers))
    if r.failed:
        return ("False", r.failed[0][1].reason, _messages((a.region, f) for a, f in r.failed))
    if p.actions or p.pending:
        waiting = [a.why for a in p.actions] + [f"{x}: PENDING_ACTIVATION" for x in p.pending]
        return ("False", "Pending", "waiting for AWS: " + "; ".join(waiting))
    failures = r.failures()
    if failures:
        return ("Unknown", failures[0][1].reason, "could not read AWS: " + _messages(failures))
    if p.blockers:  # waiting to read every Region before disabling trusted access
        return ("Unknown", "Pending", p.blockers[0].message)
    return ("True", "Reconciled", f"AWS matches the spec in {', '.join(desired.regions)}")


def _synced(r: Result) -> _Cond:
    if r.stop:
        return ("False", r.stop.reason, r.stop.message)
    failures = r.failures()
    if failures:
        return ("False", failures[0][1].reason, _messages(failures))
    return ("True", "Reconciled", "AWS answered every call")


def _retry(res: Resource, r: Result, planned: Sequence[PlannedAction]) -> Retry | None:
    kinds = {f.retry for _, f in r.failures()}
    for kind in (Retry.SOON, Retry.SLOWLY):
        if kind in kinds:
            return kind
    if kinds:
        return None  # refused for good: until the spec or AWS changes, or the next re-check
    if r.stop:
        return r.stop.retry
    # AWS is catching up with what was sent, or activating, or a Region could not be read
    # for a passing reason: look again soon.
    in_flight = any(e.state is PlannedState.IN_FLIGHT for e in planned)
    waiting = any(b.reason == "Pending" for b in r.plan.blockers)
    return Retry.SOON if in_flight or r.plan.pending or waiting else None


def _events(res: Resource, r: Result) -> list[Event]:
    events = list(r.notices)
    events += [Event("Normal", a.operation, describe(a)) for a in r.done]
    # A refusal for good is posted once: the next reconciles hold the write, quietly.
    events += [
        Event("Warning", f.reason, f"{a.why}: {f.describe()}")
        for a, f in r.failed
        if f.retry is Retry.NEVER
    ]
    events += [Event("Warning", "Drifted", f"AWS changed outside Kubernetes: {d}") for d in r.drift]
    return events


def _warnings(res: Resource, conds: Iterable[_Cond], posted: set[str]) -> list[Event]:
    """A Warning when a condition turns bad for a new reason: once, not at every re-check."""
    out = []
    for type_, (status, reason, message) in zip((READY, SYNCED), conds, strict=True):
        old = res.status.condition(type_)
        fresh = old is None or old.status == "True" or old.reason != reason
        quiet = reason in ("Pending", "Deleting", "Reconciled") or reason in posted
        if status != "True" and fresh and not quiet:
            out.append(Event("Warning", reason, message))
            posted.add(reason)
    return out


def _status(
    res: Resource,
    desired: Desired,
    r: Result,
    conditions: tuple[Condition, ...],
    planned: tuple[PlannedAction, ...],
) -> Status:
    prev, observed = res.status, r.observed
    org = r.org.organization if r.org else None
    if observed is None:
        trusted, admin, regions = prev.trusted_access, prev.delegated_admin_account_id, prev.regions
    else:
        trusted = TrustedAccess.ENABLED if observed.trusted_access else TrustedAccess.DISABLED
        regions = _region_status(desired.regions, observed, r, planned)
        admins = {x.delegated_admin_account_id for x in regions if x.account_status}
        admin = next(iter(admins)) if len(admins) == 1 else None
    # Kept once known: the OrganizationMismatch check compares against it, so the organization
    # that mismatching credentials reach must never overwrite it.
    same_org = org is not None and prev.organization_id in (None, org.id)
    return Status(
        observed_generation=res.generation,
        organization_id=org.id if org and same_org else prev.organization_id,
        management_account_id=(
            org.management_account_id if org and same_org else prev.management_account_id
        ),
        trusted_access=trusted,
        delegated_admin_account_id=admin,
        regions=regions,
        planned_actions=planned,
        planned_action_count=len(planned),
        conditions=conditions,
    )


def _region_status(
    regions: Iterable[str], observed: Observed, r: Result, planned: Sequence[PlannedAction]
) -> tuple[RegionStatus, ...]:
    messages: dict[str | None, str] = {b.region: b.message for b in r.plan.blockers}
    messages |= {e.region: f"{e.operation}: {e.message}" for e in planned if e.message}
    messages |= {region: f.describe() for region, f in r.failures()}
    out = []
    for region in regions:
        view = observed.regions.get(region)
        if isinstance(view, RegionView):
            out.append(
                RegionStatus(
                    region=region,
                    account_status=view.account_status.value,
                    delegated_admin_account_id=view.admin_account_id,
                    kms_key=view.kms_key,
                    message=messages.get(region),
                )
            )
        else:
            out.append(RegionStatus(region=region, message=messages.get(region)))
    return tuple(out)


def _messages(failures: Iterable[tuple[str | None, AwsFailure]]) -> str:
    return "; ".join(f"{region or 'organization'}: {f.describe()}" for region, f in failures)


def _refusal_messages(refusals: Iterable[PlannedAction]) -> str:
    return "; ".join(
        f"{e.region or 'organization'}: {e.operation}: {e.message} (not sent again until the "
        "spec or AWS changes)"
        for e in refusals
    )
