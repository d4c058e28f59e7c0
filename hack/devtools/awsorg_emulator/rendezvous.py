"""Rendezvous: hold a group of calls until every one of them has arrived, then answer them.

A test that asserts "these calls were sent together" reads overlap off the call log. A fixed
per-call latency shows it only while the spread of sending stays below the latency, which a
loaded machine breaks. Held at a rendezvous, calls sent together always overlap (each arrived
before any was answered), and calls sent one after another never do: the first is held until
the rendezvous times out, and only then can the next be sent.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .faults import WILDCARD

# Below the operator's default read timeout (10 s): a client that sends the calls one by one
# still gets each answer, and the call log shows that they did not overlap.
DEFAULT_TIMEOUT_SECONDS = 8.0
MAX_TIMEOUT_SECONDS = 60.0
MAX_CALLS = 100


@dataclass(frozen=True)
class CallPattern:
    service: str = WILDCARD
    operation: str = WILDCARD
    region: str = WILDCARD  # the Region the request is signed for

    def matches(self, service: str, operation: str, region: str) -> bool:
        return (
            self.service in (WILDCARD, service)
            and self.operation in (WILDCARD, operation)
            and self.region in (WILDCARD, region)
        )


class Status(StrEnum):
    WAITING = "waiting"  # some of its calls have not arrived
    MET = "met"  # every call arrived; all were answered after the last arrived
    EXPIRED = "expired"  # a held call waited timeoutSeconds; the held ones were answered
    CLEARED = "cleared"  # DELETE /_emulator/faults or a reset ended it


@dataclass
class Rendezvous:
    """One group: each pattern stands for one call; `open` are those not arrived yet."""

    calls: tuple[CallPattern, ...]
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    status: Status = Status.WAITING
    open: list[CallPattern] = field(init=False)
    released: threading.Event = field(init=False, default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.open = list(self.calls)

    def to_json(self) -> dict[str, Any]:
        return {
            "calls": [vars(c) for c in self.calls],
            "notArrived": [vars(c) for c in self.open],
            "timeoutSeconds": self.timeout_seconds,
            "status": str(self.status),
        }


def parse_rendezvous(payload: Mapping[str, Any]) -> Rendezvous:
    """A Rendezvous from the control API's JSON; ValueError when it is malformed."""
    calls = payload.get("calls")
    if not isinstance(calls, list) or not 2 <= len(calls) <= MAX_CALLS:
        raise ValueError(f"calls must be a list of 2..{MAX_CALLS} call patterns")
    if not all(isinstance(c, dict) for c in calls):
        raise ValueError("each call is an object of service, operation and region")
    timeout = float(payload.get("timeoutSeconds", DEFAULT_TIMEOUT_SECONDS))
    if not 0.0 < timeout <= MAX_TIMEOUT_SECONDS:
        raise ValueError(f"timeoutSeconds must be within 0..{MAX_TIMEOUT_SECONDS}")
    names = ("service", "operation", "region")
    patterns = tuple(CallPattern(*(str(c.get(n, WILDCARD)) for n in names)) for c in calls)
    return Rendezvous(patterns, timeout)


class RendezvousRegistry:
    """The rendezvous of this emulator, thread-safe. An arriving call takes the first open
    pattern it matches, in the rendezvous added first, and is held there."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._all: list[Rendezvous] = []  # the ended ones too, for the view

    def add(self, rendezvous: Rendezvous) -> None:
        with self._lock:
            self._all.append(rendezvous)

    def arrive(self, service: str, operation: str, region: str) -> None:
        """Returns at once unless this call belongs to a waiting rendezvous; then once the
        last of its calls has arrived, a held call waited its timeout, or it was cleared."""
        joined = self._join(service, operation, region)
        if joined is not None and not joined.released.wait(joined.timeout_seconds):
            self._end(joined, Status.EXPIRED)

    def clear(self) -> None:
        with self._lock:
            waiting = [r for r in self._all if r.status is Status.WAITING]
            self._all.clear()
        for rendezvous in waiting:
            self._end(rendezvous, Status.CLEARED)

    def view(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.to_json() for r in self._all]

    def _join(self, service: str, operation: str, region: str) -> Rendezvous | None:
        with self._lock:
            for rendezvous in self._all:
                if rendezvous.status is not Status.WAITING:
                    continue
                for pattern in rendezvous.open:
                    if pattern.matches(service, operation, region):
                        rendezvous.open.remove(pattern)
                        if not rendezvous.open:
                            self._end_locked(rendezvous, Status.MET)
                        return rendezvous
        return None

    def _end(self, rendezvous: Rendezvous, status: Status) -> None:
        with self._lock:
            self._end_locked(rendezvous, status)

    @staticmethod
    def _end_locked(rendezvous: Rendezvous, status: Status) -> None:
        """The first end counts; the calls it holds go on, later ones pass it by."""
        if rendezvous.status is Status.WAITING:
            rendezvous.status = status
        rendezvous.released.set()
