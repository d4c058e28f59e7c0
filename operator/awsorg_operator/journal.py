"""Writes remembered across reconciles, kept in `status.plannedActions` where every replica and
restart sees them (Crossplane's external-create-pending is the model):

- in flight: sent, and AWS does not show it yet. AWS is eventually consistent, so a read right
  after a write may lag; the write is not sent again for `IN_FLIGHT_GRACE`. It is recorded
  (the `Journal`) before it is sent, so an operator killed in between knows it too.
- refused: AWS refused it for good (maintenance mode, validation). It is not sent again, and
  its Warning is not posted again, until the generation or the observed AWS state changes.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from awsorg_operator import clock
from awsorg_operator.actions import AnyAction, fields, key, key_of
from awsorg_operator.api import PlannedAction, PlannedState
from awsorg_operator.conditions import reason
from awsorg_operator.failures import CallFailure, Retry
from awsorg_operator.resource import Resource
from awsorg_operator.survey import Survey

IN_FLIGHT_GRACE = timedelta(minutes=5)


class Journal(Protocol):
    """Records writes about to be sent in the resource's status, before they are sent."""

    def in_flight(self, res: Resource, entries: tuple[PlannedAction, ...]) -> None: ...


@dataclass(frozen=True)
class Acted:
    """What the act step did with the plan's actions."""

    done: tuple[AnyAction, ...] = ()
    failed: tuple[tuple[AnyAction, CallFailure], ...] = ()
    held: tuple[PlannedAction, ...] = ()  # remembered as in flight or refused: not sent
    released: bool = False  # deletion: AWS is as the deletionPolicy wants


def entry_key(e: PlannedAction) -> str:
    return key(e.model_dump(by_alias=True))


def entry(
    action: AnyAction, state: PlannedState, since: str, **extra: str | int | None
) -> PlannedAction:
    return PlannedAction.model_validate({**fields(action), "state": state, "since": since, **extra})


def held(
    actions: Iterable[AnyAction],
    remembered: Iterable[PlannedAction],
    generation: int,
    aws_state: str,
    now: datetime,
) -> tuple[PlannedAction, ...]:
    """The remembered entries of this plan's actions not to send now: in flight for less than
    the grace, or refused for this very generation and AWS state."""
    by_key = {entry_key(e): e for e in remembered}
    kept = []
    for action in actions:
        e = by_key.get(key_of(action))
        if e is None:
            continue
        if (e.state is PlannedState.IN_FLIGHT and now - clock.parse(e.since) < IN_FLIGHT_GRACE) or (
            e.state is PlannedState.REFUSED
            and e.generation == generation
            and e.aws_state == aws_state
        ):
            kept.append(e)
    return tuple(kept)


def planned(s: Survey, acted: Acted, stamp: str) -> tuple[PlannedAction, ...]:
    """What the operator would do and did not (yet): for a person, and for the next reconcile."""
    res = s.res
    if s.observed is None:
        return res.status.planned_actions  # AWS unread: keep what is remembered
    previous = {(entry_key(e), e.state): e.since for e in res.status.planned_actions}
    # Sent and maybe landed: treated as done, so a lagging read cannot duplicate it.
    done = {key_of(a) for a in acted.done}
    done |= {key_of(a) for a, f in acted.failed if f.maybe_applied}
    refusals = {key_of(a): f for a, f in acted.failed if f.retry is Retry.NEVER}
    kept = {entry_key(e): e for e in acted.held}
    aws_state = s.observed.fingerprint()

    def since(a: AnyAction, state: PlannedState) -> str:
        return previous.get((key_of(a), state), stamp)

    out: list[PlannedAction] = []
    for a in s.plan.actions:
        k = key_of(a)
        if not res.manages:
            out.append(entry(a, PlannedState.NOT_APPLIED, since(a, PlannedState.NOT_APPLIED)))
        elif k in done:
            out.append(entry(a, PlannedState.IN_FLIGHT, stamp))
        elif k in refusals:
            out.append(_refused(a, refusals[k], res.generation, aws_state, stamp))
        elif k in kept:
            out.append(kept[k])
    state = PlannedState.NOT_APPLIED if not res.manages else PlannedState.AWAITING_APPROVAL
    out += [entry(a, state, since(a, state)) for b in s.plan.blockers for a in b.would]
    return tuple(out)


def _refused(
    action: AnyAction, failure: CallFailure, generation: int, aws_state: str, now: str
) -> PlannedAction:
    return entry(
        action,
        PlannedState.REFUSED,
        now,
        reason=reason(failure),
        message=f"{failure.code}: {failure.message}",
        generation=generation,
        awsState=aws_state,
    )
