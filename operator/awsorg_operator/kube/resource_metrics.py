"""The per-resource series (`awsorg_resource_*`), from the status a reconcile wrote: set from
the handler side after each reconcile, and removed when the resource's deletion is done.
Bounded: one series per resource and condition status, reason or planned state; a changed
reason's old series is removed; never an AWS message.

They are plain values here, one record per resource, served by one collector in
prometheus_client's registry. Not prometheus_client's labelled Gauges: at a thousand
resources (13 000 series) collecting and formatting those took about a second of CPU per
scrape (py-spy, docs/performance.md). Each resource's lines are formatted once, when a
reconcile records it, and a rendering joins them (`Family.exposition`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from prometheus_client import REGISTRY
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

from awsorg_operator.api import Condition, PlannedState, Status
from awsorg_operator.conditions import READY, SYNCED

STATUSES = ("True", "False", "Unknown")
CONDITIONS = (READY, SYNCED)
# Name, help and label names of each family, in the order /metrics shows them.
FAMILIES = (
    (
        "awsorg_resource_condition",
        "1 for the status a resource's condition has, 0 for the other two (all three always "
        "present, so a status change never restarts an alert's `for`).",
        ("name", "condition", "status"),
    ),
    (
        "awsorg_resource_condition_reason",
        "1 for the current reason of a resource's condition; one series per condition.",
        ("name", "condition", "reason"),
    ),
    (
        "awsorg_resource_last_success_timestamp_seconds",
        "When a reconcile of the resource last talked to AWS without a failed call (Synced True).",
        ("name",),
    ),
    (
        "awsorg_resource_regions_differing",
        "Regions of the resource with a change in status.plannedActions: AWS differs there.",
        ("name",),
    ),
    (
        "awsorg_resource_planned_actions",
        "Changes the operator would make and has not, by state (status.plannedActions).",
        ("name", "state"),
    ),
)

_Row = tuple[tuple[str, ...], float]  # label values, value
_number: Callable[[float], str] = floatToGoString  # as prometheus_client writes values


@dataclass
class _Record:
    """One resource's values; `rows[i]` are its samples of family i, `lines[i]` their text."""

    conditions: dict[str, tuple[str, str]] = field(default_factory=dict)  # type: status, reason
    last_success: float | None = None
    rows: tuple[list[_Row], ...] = ()
    lines: tuple[str, ...] = ()

    def refresh(self, name: str, regions: int, planned: dict[str, int]) -> None:
        rows: tuple[list[_Row], ...] = ([], [], [], [], [])
        for type_, (status, reason) in self.conditions.items():
            rows[0].extend(((name, type_, s), float(s == status)) for s in STATUSES)
            rows[1].append(((name, type_, reason), 1.0))
        if self.last_success is not None:
            rows[2].append(((name,), self.last_success))
        rows[3].append(((name,), float(regions)))
        rows[4].extend(((name, state), float(n)) for state, n in planned.items())
        self.rows = rows
        self.lines = tuple(
            "".join(_line(i, row) for row in family) for i, family in enumerate(rows)
        )


def _line(family: int, row: _Row) -> str:
    name, _, labels = FAMILIES[family]
    values, value = row
    # Label names sorted, as prometheus_client writes them.
    pairs = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(zip(labels, values, strict=True)))
    return f"{name}{{{pairs}}} {_number(value)}\n"


def _escape(value: str) -> str:
    """A label value as the text format quotes it."""
    return value.replace("\\", r"\\").replace('"', r"\"").replace("\n", r"\n")


class Family(Metric):
    """A gauge family whose text is already formatted (`exposition`). Its samples, which
    cost far more to build, are built only when something reads them (a filtered query, a
    test): the rendering of /metrics never does (`metrics_endpoint.render`)."""

    def __init__(self, index: int, records: list[_Record]) -> None:
        name, help_, _ = FAMILIES[index]
        super().__init__(name, help_, "gauge")
        self._index = index
        self._records = records
        head = f"# HELP {name} {help_}\n# TYPE {name} gauge\n"
        self.exposition = (head + "".join(r.lines[index] for r in records)).encode()

    @property
    def samples(self) -> list[Sample]:
        _, _, labels = FAMILIES[self._index]
        return [
            Sample(self.name, dict(zip(labels, values, strict=True)), value)
            for r in self._records
            for values, value in r.rows[self._index]
        ]

    @samples.setter
    def samples(self, _: list[Sample]) -> None:
        pass  # Metric.__init__ sets an empty list: the records are the samples


class ResourceSeries(Collector):
    """Every resource's record. A lock, since reconciles may report from threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, _Record] = {}

    def record(self, name: str, status: Status, now: float) -> None:
        with self._lock:
            record = self._records.setdefault(name, _Record())
            # Only the conditions the status has; one it lacks keeps its last series.
            for c in _known(status.conditions):
                record.conditions[c.type] = (c.status, c.reason)
            synced = status.condition(SYNCED)
            if synced is not None and synced.status == "True":
                record.last_success = now
            planned = status.planned_actions
            regions = len({e.region for e in planned if e.region is not None})
            counts = {s.value: sum(1 for e in planned if e.state is s) for s in PlannedState}
            record.refresh(name, regions, counts)

    def forget(self, name: str) -> None:
        with self._lock:
            self._records.pop(name, None)

    def describe(self) -> Iterable[Metric]:
        return [Family(i, []) for i in range(len(FAMILIES))]

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            records = list(self._records.values())
        return iter([Family(i, records) for i in range(len(FAMILIES))])


def _known(conditions: Iterable[Condition]) -> Iterator[Condition]:
    return (c for c in conditions if c.type in CONDITIONS)


_SERIES = ResourceSeries()
REGISTRY.register(_SERIES)


def record_status(name: str, status: Status, now: float) -> None:
    """The series of one resource after a reconcile wrote `status`; `now` in Unix seconds."""
    _SERIES.record(name, status, now)


def forget_resource(name: str) -> None:
    """Removes every series of a resource whose deletion is done."""
    _SERIES.forget(name)
