"""Failures as data: what went wrong in a call (to AWS or to the Kubernetes API), named in the
terms of the API that answered, and whether waiting fixes it.

Pure: the plan, the snapshot and the report read these without importing botocore. The sides
(`aws/errors.py`, `kube/calls.py`) are the only places that turn their clients' exceptions
into them; the condition reason a person acts on is the report's to choose
(`conditions.reason`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Retry(StrEnum):
    NEVER = "never"  # until the spec or the observed AWS state changes
    SOON = "soon"  # throttling, concurrent modification, 5xx, timeouts: back off briefly
    SLOWLY = "slowly"  # access denied, bad credentials: a person has to act; check now and then


class Kind(StrEnum):
    """What kind of failure a call met, as the API that answered would say it."""

    THROTTLED = "throttled"
    CONCURRENT_MODIFICATION = "concurrent-modification"
    UNAVAILABLE = "unavailable"  # 5xx, a connection refused or timed out
    DENIED = "denied"
    CREDENTIALS_EXPIRED = "credentials-expired"  # fixed by fresh credentials
    CREDENTIALS_REFUSED = "credentials-refused"  # missing, malformed or unknown to AWS
    MAINTENANCE_MODE = "maintenance-mode"  # Audit Manager takes no new accounts or Regions
    NO_ORGANIZATION = "no-organization"  # the account is in no organization
    ACCOUNT_NOT_FOUND = "account-not-found"  # not a member of the organization
    CONSTRAINT_VIOLATION = "constraint-violation"
    INVALID = "invalid"  # the request was refused as invalid
    REFUSED = "refused"  # any other refusal: the same call gets the same answer
    KUBERNETES = "kubernetes"  # the Kubernetes API could not be reached or refused
    UNEXPECTED = "unexpected"  # an exception nobody expected: a bug, or an undocumented answer


_RETRY = {
    Kind.THROTTLED: Retry.SOON,
    Kind.CONCURRENT_MODIFICATION: Retry.SOON,
    Kind.UNAVAILABLE: Retry.SOON,
    Kind.CREDENTIALS_EXPIRED: Retry.SOON,
    Kind.KUBERNETES: Retry.SOON,
    Kind.UNEXPECTED: Retry.SOON,
    # A person has to act; never terminal, since a token file mounted late fixes itself.
    Kind.DENIED: Retry.SLOWLY,
    Kind.CREDENTIALS_REFUSED: Retry.SLOWLY,
}


@dataclass(frozen=True)
class CallFailure:
    """A failed call, to AWS or to the Kubernetes API."""

    operation: str
    code: str
    message: str
    kind: Kind

    @property
    def retry(self) -> Retry:
        return _RETRY.get(self.kind, Retry.NEVER)

    def describe(self) -> str:
        return f"{self.operation}: {self.code}: {self.message}"

    @property
    def maybe_applied(self) -> bool:
        """A write that failed this way may still have landed in AWS: the request went out and
        no answer came back (a read timeout, a dropped connection), or something unexpected
        broke after it was sent."""
        lost = self.code.endswith("TimeoutError") or self.code in _ANSWER_LOST
        return lost or self.kind is Kind.UNEXPECTED


_ANSWER_LOST = {"ConnectionClosedError", "ResponseStreamingError", "IncompleteReadError"}


class CallError(Exception):
    """A call failed; raised by the sides, caught by the reconciler."""

    def __init__(self, failure: CallFailure) -> None:
        super().__init__(failure.describe())
        self.failure = failure


def unexpected(operation: str, error: BaseException) -> CallFailure:
    """An exception nobody expected (a bug, or an answer AWS never documented): reported
    like any failed call, so status and an Event always say what happened, and retried."""
    return CallFailure(operation, type(error).__name__, str(error), Kind.UNEXPECTED)
