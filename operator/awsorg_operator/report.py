"""The report: a pure function from what a reconcile saw (`Survey`) and did (`Acted`) to the
status it writes, the Events it posts and when to try again. Reached on every path, also when a
step failed; the status of a spec that does not parse is the report's too (`invalid_spec`).

Ready says whether AWS matches the spec: True when it does, False when it is known to differ
or cannot converge without a person, Unknown when AWS could not be read. Synced says whether
the last reconcile could talk to AWS: False with the failure's reason when a call failed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from awsorg_operator import clock
from awsorg_operator.actions import describe
from awsorg_operator.api import (
    Condition,
    ConditionStatus,
    PlannedAction,
    PlannedState,
    RegionStatus,
    Status,
    TrustedAccess,
)
from awsorg_operator.conditions import READY, SYNCED, reason, set_condition
from awsorg_operator.failures import CallFailure, Retry
from awsorg_operator.journal import Acted, planned
from awsorg_operator.observed import Observed
from awsorg_operator.reasons import Reason, recorded
from awsorg_operator.regionreport import region_status
from awsorg_operator.resource import Event, Outcome, Resource
from awsorg_operator.survey import Survey

_Cond = tuple[ConditionStatus, Reason, str]  # status, reason, message
_Failures = list[tuple[str | None, CallFailure]]  # by Region; None: the organization


def report(s: Survey, acted: Acted, now: datetime) -> Outcome:
    res, stamp = s.res, clock.rfc3339(now)
    remembered = planned(s, acted, stamp)
    failures = s.failures() + [(a.region, f) for a, f in acted.failed]
    ready = _ready(s, acted, remembered, failures)
    synced, retry = _synced(s, failures), _retry(s, remembered, failures)
    if s.deleting:
        ready = (
            "False",
            Reason.DELETING,
            "AWS is as deletionPolicy wants; the finalizer goes"
            if acted.released
            else f"deletion waits: {ready[2]}",
        )
        # An unfinished deletion keeps trying, slowly, until AWS lets it finish or a person
        # sets deletionPolicy Retain.
        retry = None if acted.released else (retry or Retry.SLOWLY)
    conditions = _conditions(res.status, res.generation, (ready, synced), stamp)
    events = _events(s, acted)
    events += _warnings(res, (ready, synced), {e.reason for e in events})
    return Outcome(_status(s, conditions, remembered, failures), events, retry)


def invalid_spec(previous: Status, generation: int, message: str, now: datetime) -> Outcome:
    """A spec that does not parse: Ready and Synced False, a Warning once, no retry; the rest of
    status stays as it was. The CRD's schema refuses such a spec before it is stored; this
    guards objects stored before a schema change."""
    bad: _Cond = ("False", Reason.INVALID_SPEC, message)
    conditions = _conditions(previous, generation, (bad, bad), clock.rfc3339(now))
    old = previous.condition(READY)
    fresh = old is None or old.message != message  # once, not at every re-check
    events = [Event("Warning", Reason.INVALID_SPEC, message)] if fresh else []
    status = previous.model_copy(
        update={"observed_generation": generation, "conditions": conditions}
    )
    return Outcome(status, events, None)


def _conditions(
    previous: Status, generation: int, ready_synced: tuple[_Cond, _Cond], stamp: str
) -> tuple[Condition, ...]:
    return tuple(
        set_condition(previous.conditions, type_, status, why, message, generation, stamp)
        for type_, (status, why, message) in zip((READY, SYNCED), ready_synced, strict=True)
    )


def _ready(
    s: Survey, acted: Acted, remembered: Sequence[PlannedAction], failures: _Failures
) -> _Cond:
    p = s.plan
    if s.stop:
        return ("False", s.stop.reason, s.stop.message)
    if s.error:
        why = f"the reconcile could not finish: {s.error.describe()}"
        return ("Unknown", reason(s.error), why)
    refusals = [e for e in remembered if e.state is PlannedState.REFUSED]
    if refusals:
        return ("False", recorded(refusals[0].reason), _refusal_messages(refusals))
    if not s.res.manages and (p.actions or p.blockers):
        # Under Observe a blocker's way out (the annotation) changes nothing: it is drift.
        diffs = "; ".join(p.differences())
        return (
            "False",
            Reason.DRIFTED,
            f"AWS differs from the spec: {diffs} (managementPolicy Observe makes no changes)",
        )
    blockers = [b for b in p.blockers if b.reason is not Reason.PENDING]
    if blockers:
        return ("False", blockers[0].reason, "; ".join(b.message for b in blockers))
    if acted.failed:
        writes = [(a.region, f) for a, f in acted.failed]
        return ("False", reason(writes[0][1]), _messages(writes))
    if p.actions or p.pending:
        # Only a "Pending" blocker is left, and it never comes with actions or pending Regions.
        return (
            "False",
            Reason.PENDING,
            "waiting for AWS: " + "; ".join(p.differences() + p.activating()),
        )
    if failures:
        # Any blocker left waits for these reads, and says what they hold up and the fix.
        said = ["could not read AWS: " + _messages(failures), *(b.message for b in p.blockers)]
        return ("Unknown", reason(failures[0][1]), "; ".join(said))
    if p.blockers:  # only "Pending" ones: AWS is still moving (evidence finder, a retirement)
        return ("False", Reason.PENDING, "waiting for AWS: " + "; ".join(p.differences()))
    return ("True", Reason.RECONCILED, f"AWS matches the spec in {', '.join(s.desired.regions)}")


def _synced(s: Survey, failures: _Failures) -> _Cond:
    if s.stop:
        return ("False", s.stop.reason, s.stop.message)
    if failures:
        return ("False", reason(failures[0][1]), _messages(failures))
    return ("True", Reason.RECONCILED, "AWS answered every call")


def _retry(s: Survey, remembered: Sequence[PlannedAction], failures: _Failures) -> Retry | None:
    kinds = {f.retry for _, f in failures}
    for kind in (Retry.SOON, Retry.SLOWLY):
        if kind in kinds:
            return kind
    if kinds or s.stop:
        # Refused for good, or stopped by a check: until the spec or AWS changes, or the next
        # re-check.
        return None
    # AWS is catching up with what was sent, or activating, or a Region could not be read
    # for a passing reason: look again soon.
    in_flight = any(e.state is PlannedState.IN_FLIGHT for e in remembered)
    waiting = any(b.reason is Reason.PENDING for b in s.plan.blockers)
    return Retry.SOON if in_flight or s.plan.pending or waiting else None


def _events(s: Survey, acted: Acted) -> list[Event]:
    events = list(s.notices)
    events += [Event("Normal", a.operation, describe(a)) for a in acted.done]
    # A refusal for good is posted once: the next reconciles hold the write, quietly.
    events += [
        Event("Warning", reason(f), f"{a.why}: {f.describe()}")
        for a, f in acted.failed
        if f.retry is Retry.NEVER
    ]
    events += [
        Event("Warning", Reason.DRIFTED, f"AWS changed outside Kubernetes: {d}") for d in s.drift
    ]
    return events


def _warnings(res: Resource, conds: Iterable[_Cond], posted: set[str]) -> list[Event]:
    # A Warning when a condition turns bad for a new reason: once, not at every re-check.
    out = []
    for type_, (status, why, message) in zip((READY, SYNCED), conds, strict=True):
        old = res.status.condition(type_)
        fresh = old is None or old.status == "True" or old.reason != why
        quiet = why in (Reason.PENDING, Reason.DELETING, Reason.RECONCILED) or why in posted
        if status != "True" and fresh and not quiet:
            out.append(Event("Warning", why, message))
            posted.add(why)
    return out


def _status(
    s: Survey,
    conditions: tuple[Condition, ...],
    remembered: tuple[PlannedAction, ...],
    failures: _Failures,
) -> Status:
    prev, observed = s.res.status, s.observed
    org = s.org.organization if s.org else None
    if observed is None:
        trusted, admin, regions = prev.trusted_access, prev.delegated_admin_account_id, prev.regions
    else:
        trusted = trusted_access(observed)
        regions = _region_status(s, remembered, failures)
        admins = {x.delegated_admin_account_id for x in regions if x.account_status}
        admin = next(iter(admins)) if len(admins) == 1 else None
    # Kept once known: the OrganizationMismatch check compares against it, so the organization
    # that mismatching credentials reach must never overwrite it.
    same_org = org is not None and prev.organization_id in (None, org.id)
    return Status(
        observed_generation=s.res.generation,
        organization_id=org.id if org and same_org else prev.organization_id,
        management_account_id=(
            org.management_account_id if org and same_org else prev.management_account_id
        ),
        trusted_access=trusted,
        delegated_admin_account_id=admin,
        regions=regions,
        planned_actions=remembered,
        planned_action_count=len(remembered),
        conditions=conditions,
    )


def _region_status(
    s: Survey, remembered: Sequence[PlannedAction], failures: _Failures
) -> tuple[RegionStatus, ...]:
    assert s.observed is not None
    messages: dict[str | None, str] = {b.region: b.message for b in s.plan.blockers}
    messages |= {e.region: f"{e.operation}: {e.message}" for e in remembered if e.message}
    messages |= {region: f.describe() for region, f in failures}
    seen = s.observed
    return tuple(
        region_status(r, seen.regions.get(r), messages.get(r), seen.settings.get(r))
        for r in s.desired.regions
    )


def trusted_access(observed: Observed) -> TrustedAccess:
    return TrustedAccess.ENABLED if observed.trusted_access else TrustedAccess.DISABLED


def _messages(failures: Iterable[tuple[str | None, CallFailure]]) -> str:
    return "; ".join(f"{region or 'organization'}: {f.describe()}" for region, f in failures)


def _refusal_messages(refusals: Iterable[PlannedAction]) -> str:
    return "; ".join(
        f"{e.region or 'organization'}: {e.operation}: {e.message} (not sent again until the "
        "spec or AWS changes)"
        for e in refusals
    )
