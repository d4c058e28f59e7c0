"""The per-resource series of `metrics.py`, from the status a reconcile wrote: set from the
handler side after each reconcile, and removed when the resource's deletion is done.
Bounded: one series per resource and condition status, reason or planned state; a changed
reason's old series is removed; never an AWS message."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable

from prometheus_client import Gauge

from awsorg_operator.api import Condition, PlannedState, Status
from awsorg_operator.conditions import READY, SYNCED
from awsorg_operator.metrics import (
    RESOURCE_CONDITION,
    RESOURCE_CONDITION_REASON,
    RESOURCE_LAST_SUCCESS,
    RESOURCE_PLANNED_ACTIONS,
    RESOURCE_REGIONS_DIFFERING,
)

STATUSES = ("True", "False", "Unknown")
CONDITIONS = (READY, SYNCED)


class _ResourceSeries:
    """Which reason series each resource has, so a changed reason's old series goes, and a
    deleted resource's series all go. A lock, since reconciles may report from threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reasons: dict[tuple[str, str], str] = {}

    def conditions(self, name: str, conditions: Iterable[Condition]) -> None:
        with self._lock:
            for c in conditions:
                if c.type not in CONDITIONS:
                    continue
                for status in STATUSES:
                    RESOURCE_CONDITION.labels(name, c.type, status).set(c.status == status)
                old = self._reasons.get((name, c.type))
                if old is not None and old != c.reason:
                    RESOURCE_CONDITION_REASON.remove(name, c.type, old)
                RESOURCE_CONDITION_REASON.labels(name, c.type, c.reason).set(1)
                self._reasons[(name, c.type)] = c.reason

    def forget(self, name: str) -> None:
        with self._lock:
            for condition in CONDITIONS:
                reason = self._reasons.pop((name, condition), None)
                if reason is not None:
                    RESOURCE_CONDITION_REASON.remove(name, condition, reason)
                for status in STATUSES:
                    _remove(RESOURCE_CONDITION, name, condition, status)
            for state in PlannedState:
                _remove(RESOURCE_PLANNED_ACTIONS, name, state.value)
            _remove(RESOURCE_LAST_SUCCESS, name)
            _remove(RESOURCE_REGIONS_DIFFERING, name)


def _remove(metric: Gauge, *labels: str) -> None:
    with contextlib.suppress(KeyError):  # never set: nothing to remove
        metric.remove(*labels)


_SERIES = _ResourceSeries()


def record_conditions(name: str, conditions: Iterable[Condition]) -> None:
    _SERIES.conditions(name, conditions)


def record_status(name: str, status: Status, now: float) -> None:
    """The series of one resource after a reconcile wrote `status`; `now` in Unix seconds."""
    record_conditions(name, status.conditions)
    synced = status.condition(SYNCED)
    if synced is not None and synced.status == "True":
        RESOURCE_LAST_SUCCESS.labels(name).set(now)
    planned = status.planned_actions
    regions = {e.region for e in planned if e.region is not None}
    RESOURCE_REGIONS_DIFFERING.labels(name).set(len(regions))
    for state in PlannedState:
        count = sum(1 for e in planned if e.state is state)
        RESOURCE_PLANNED_ACTIONS.labels(name, state.value).set(count)


def forget_resource(name: str) -> None:
    """Removes every series of a resource whose deletion is done."""
    _SERIES.forget(name)
