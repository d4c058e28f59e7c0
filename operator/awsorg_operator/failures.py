"""Failures as data: what went wrong talking to AWS, and whether waiting fixes it.

Pure: the plan, the snapshot and the report read these without importing botocore.
`aws/errors.py` is the one place that turns botocore's exceptions into them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Retry(StrEnum):
    NEVER = "never"  # until the spec or the observed AWS state changes
    SOON = "soon"  # throttling, concurrent modification, 5xx, timeouts: back off briefly
    SLOWLY = "slowly"  # access denied, bad credentials: a person has to act; check now and then


@dataclass(frozen=True)
class AwsFailure:
    """A failed call: to AWS, or (reason KubernetesError) to the Kubernetes API."""

    operation: str
    code: str
    message: str
    reason: str  # the condition reason a person acts on
    retry: Retry

    def describe(self) -> str:
        return f"{self.operation}: {self.code}: {self.message}"

    @property
    def maybe_applied(self) -> bool:
        """A write that failed this way may still have landed in AWS: the request went out and
        no answer came back (a read timeout, a dropped connection), or something unexpected
        broke after it was sent."""
        lost = self.code.endswith("TimeoutError") or self.code in _ANSWER_LOST
        return lost or self.reason == "InternalError"


_ANSWER_LOST = {"ConnectionClosedError", "ResponseStreamingError", "IncompleteReadError"}


class AwsCallError(Exception):
    """An AWS call failed; raised by the AWS side, caught by the reconciler."""

    def __init__(self, failure: AwsFailure) -> None:
        super().__init__(failure.describe())
        self.failure = failure


class KubernetesCallError(Exception):
    """A call to the Kubernetes API made inside a reconcile (an organization's claim, the
    record of a write before it is sent) failed: retried soon, with its own reason, so an API
    server restart is not mistaken for a bug."""

    def __init__(self, operation: str, error: BaseException) -> None:
        code = str(getattr(error, "status", "") or type(error).__name__)
        self.failure = AwsFailure(operation, code, str(error), "KubernetesError", Retry.SOON)
        super().__init__(self.failure.describe())


def internal_failure(operation: str, error: BaseException) -> AwsFailure:
    """An exception nobody expected (a bug, or an answer AWS never documented): reported
    like an AWS failure, so status and an Event always say what happened, and retried."""
    return AwsFailure(operation, type(error).__name__, str(error), "InternalError", Retry.SOON)
