"""The one clock: now, and the two ways Kubernetes writes a time (RFC 3339 in seconds, and
with microseconds for a Lease's MicroTime)."""

from __future__ import annotations

from datetime import UTC, datetime

_SECONDS = "%Y-%m-%dT%H:%M:%SZ"
_MICROSECONDS = "%Y-%m-%dT%H:%M:%S.%fZ"


def utcnow() -> datetime:
    return datetime.now(UTC)


def rfc3339(t: datetime) -> str:
    return t.strftime(_SECONDS)


def micro_time(t: datetime) -> str:
    return t.strftime(_MICROSECONDS)


def parse(t: str) -> datetime:
    """A time as `rfc3339` writes it; an unreadable one reads as long ago."""
    try:
        return datetime.strptime(t, _SECONDS).replace(tzinfo=UTC)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
