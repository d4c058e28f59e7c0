"""Kubernetes conditions: `lastTransitionTime` moves only when `status` does."""

from __future__ import annotations

from collections.abc import Iterable

from awsorg_operator.api import Condition, ConditionStatus

READY = "Ready"
SYNCED = "Synced"


def set_condition(
    previous: Iterable[Condition],
    type_: str,
    status: ConditionStatus,
    reason: str,
    message: str,
    generation: int,
    now: str,
) -> Condition:
    old = next((c for c in previous if c.type == type_), None)
    moved = old is None or old.status != status
    return Condition(
        type=type_,
        status=status,
        reason=reason,
        message=message,
        observed_generation=generation,
        last_transition_time=now if moved or old is None else old.last_transition_time,
    )
