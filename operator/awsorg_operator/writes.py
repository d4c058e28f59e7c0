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
from datetime import UTC, datetime, timedelta
from typing import Protocol

from awsorg_operator.actions import Action, account_of, key, kms_key_of
from awsorg_operator.api import PlannedAction, PlannedState
from awsorg_operator.failures import AwsFailure
from awsorg_operator.resource import Resource

IN_FLIGHT_GRACE = timedelta(minutes=5)


class Journal(Protocol):
    """Records writes about to be sent in the resource's status, before they are sent."""

    def in_flight(self, res: Resource, entries: tuple[PlannedAction, ...]) -> None: ...


TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def rfc3339(t: datetime) -> str:
    return t.strftime(TIME_FORMAT)


def entry_key(p: PlannedAction) -> str:
    return "/".join(x or "-" for x in (p.operation, p.region, p.account_id, p.kms_key))


def entry(
    action: Action, state: PlannedState, since: str, **extra: str | int | None
) -> PlannedAction:
    return PlannedAction.model_validate(
        {
            "operation": action.operation,
            "region": action.region,
            "accountID": account_of(action),
            "kmsKey": kms_key_of(action),
            "why": action.why,
            "state": state,
            "since": since,
            **extra,
        }
    )


@dataclass(frozen=True)
class Held:
    """Actions of this plan not to send now, and the status entries that say why."""

    entries: tuple[PlannedAction, ...]

    def keys(self) -> set[str]:
        return {entry_key(e) for e in self.entries}


def held(
    actions: Iterable[Action],
    remembered: Iterable[PlannedAction],
    generation: int,
    aws_state: str,
    now: datetime,
) -> Held:
    by_key = {entry_key(e): e for e in remembered}
    kept = []
    for action in actions:
        e = by_key.get(key(action))
        if e is None:
            continue
        if (e.state is PlannedState.IN_FLIGHT and now - _parse(e.since) < IN_FLIGHT_GRACE) or (
            e.state is PlannedState.REFUSED
            and e.generation == generation
            and e.aws_state == aws_state
        ):
            kept.append(e)
    return Held(tuple(kept))


def refused(
    action: Action, failure: AwsFailure, generation: int, aws_state: str, now: str
) -> PlannedAction:
    return entry(
        action,
        PlannedState.REFUSED,
        now,
        reason=failure.reason,
        message=f"{failure.code}: {failure.message}",
        generation=generation,
        awsState=aws_state,
    )


def _parse(t: str) -> datetime:
    try:
        return datetime.strptime(t, TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)  # unreadable: as if long ago
