"""Injected faults: the next N matching calls fail (or are delayed) in a chosen way."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from .errors import AwsError, Protocol, protocol_of

WILDCARD = "*"
MAX_LATENCY_SECONDS = 60.0


class FaultKind(StrEnum):
    THROTTLE = "throttle"
    INTERNAL = "internal"
    ACCESS_DENIED = "accessDenied"
    CONCURRENT_MODIFICATION = "concurrentModification"
    LATENCY = "latency"
    EXPIRED_TOKEN = "expiredToken"


@dataclass
class Fault:
    service: str
    operation: str
    kind: FaultKind
    count: int
    latency_seconds: float = 0.0
    region: str = WILDCARD  # the Region the request is signed for; a black-holed Region

    def matches(self, service: str, operation: str, region: str) -> bool:
        return (
            self.service in (WILDCARD, service)
            and self.operation in (WILDCARD, operation)
            and self.region in (WILDCARD, region)
        )

    def to_json(self) -> dict[str, Any]:
        view = asdict(self)
        view["kind"] = str(self.kind)
        view["latencySeconds"] = view.pop("latency_seconds")
        return view


def parse_fault(payload: Mapping[str, Any]) -> Fault:
    """Build a Fault from the control API's JSON; ValueError when it is malformed."""
    kind = FaultKind(str(payload.get("kind", "")))
    count = int(payload.get("count", 1))
    latency = float(payload.get("latencySeconds", 0.0))
    if count < 1:
        raise ValueError("count must be at least 1")
    if not 0.0 <= latency <= MAX_LATENCY_SECONDS:
        raise ValueError(f"latencySeconds must be within 0..{MAX_LATENCY_SECONDS}")
    if kind is FaultKind.LATENCY and latency == 0.0:
        raise ValueError("a latency fault needs latencySeconds > 0")
    service = str(payload.get("service", WILDCARD))
    operation = str(payload.get("operation", WILDCARD))
    region = str(payload.get("region", WILDCARD))
    return Fault(service, operation, kind, count, latency, region)


class FaultRegistry:
    """Thread-safe list of pending faults, consumed first-registered first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        # Set when the faults are cleared: the hangs in flight end with them, so that no
        # injected hang outlives the test that asked for it (and lands in a later call log).
        self._cleared = threading.Event()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self._cleared.set()
            self._cleared = threading.Event()

    def hang(self, seconds: float) -> None:
        """Waits `seconds`, or until the faults are cleared."""
        with self._lock:
            cleared = self._cleared
        cleared.wait(seconds)

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.to_json() for fault in self._faults]

    def take(self, service: str, operation: str, region: str = WILDCARD) -> Fault | None:
        """Consume one use of the first fault matching this call, if any."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(service, operation, region):
                    fault.count -= 1
                    if fault.count == 0:
                        self._faults.remove(fault)
                    return fault
        return None


# (service or protocol) -> (code, HTTP status) per kind; services first, then protocols.
_ERRORS: Mapping[FaultKind, Mapping[str, tuple[str, int]]] = {
    FaultKind.THROTTLE: {
        "auditmanager": ("ThrottlingException", 429),
        "organizations": ("TooManyRequestsException", 400),
        Protocol.QUERY: ("Throttling", 400),
        WILDCARD: ("ThrottlingException", 400),
    },
    FaultKind.INTERNAL: {
        "auditmanager": ("InternalServerException", 500),
        "organizations": ("ServiceException", 500),
        WILDCARD: ("InternalFailure", 500),
    },
    FaultKind.ACCESS_DENIED: {
        Protocol.QUERY: ("AccessDenied", 403),
        WILDCARD: ("AccessDeniedException", 403),
    },
    FaultKind.CONCURRENT_MODIFICATION: {
        "iam": ("ConcurrentModification", 409),
        WILDCARD: ("ConcurrentModificationException", 400),
    },
    # What AWS answers when the request's session token has expired.
    FaultKind.EXPIRED_TOKEN: {
        Protocol.QUERY: ("ExpiredToken", 400),
        WILDCARD: ("ExpiredTokenException", 403),
    },
}

_MESSAGES: Mapping[FaultKind, str] = {
    FaultKind.THROTTLE: "Rate exceeded",
    FaultKind.INTERNAL: "We encountered an internal error. Please try again.",
    FaultKind.ACCESS_DENIED: "User: arn:aws:iam::{account}:root is not authorized to perform: "
    "{service}:{operation}",
    FaultKind.CONCURRENT_MODIFICATION: "AWS can't complete your request because it conflicts "
    "with another attempt to modify the same entity. Try again later.",
    FaultKind.EXPIRED_TOKEN: "The security token included in the request is expired",
}


def fault_error(kind: FaultKind, service: str, operation: str, account: str) -> AwsError:
    """The error an injected fault of ``kind`` produces for this call."""
    table = _ERRORS[kind]
    protocol = protocol_of(service)
    code, status = table.get(service) or table.get(protocol) or table[WILDCARD]
    message = _MESSAGES[kind].format(account=account, service=service, operation=operation)
    return AwsError(code, message, status)
