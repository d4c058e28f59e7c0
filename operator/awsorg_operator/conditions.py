"""Kubernetes conditions: `lastTransitionTime` moves only when `status` does; and the reason a
failed call gives a condition, chosen here alone (the sides name failures in their own terms).
"""

from __future__ import annotations

from collections.abc import Iterable

from awsorg_operator.api import Condition, ConditionStatus
from awsorg_operator.failures import CallFailure, Kind

READY = "Ready"
SYNCED = "Synced"

# The condition reason a person acts on, for each kind of failed call
# (docs/troubleshooting.md says what to do about each).
_REASONS = {
    Kind.THROTTLED: "Throttled",
    Kind.CONCURRENT_MODIFICATION: "ConcurrentModification",
    Kind.UNAVAILABLE: "AwsError",
    Kind.DENIED: "AccessDenied",
    Kind.CREDENTIALS_EXPIRED: "AwsCredentials",
    Kind.CREDENTIALS_REFUSED: "AwsCredentials",
    Kind.MAINTENANCE_MODE: "MaintenanceMode",
    Kind.NO_ORGANIZATION: "OrganizationNotFound",
    Kind.ACCOUNT_NOT_FOUND: "InvalidDelegatedAdmin",
    Kind.CONSTRAINT_VIOLATION: "ConstraintViolation",
    Kind.INVALID: "ValidationFailed",
    Kind.REFUSED: "AwsRefused",
    Kind.KUBERNETES: "KubernetesError",
    Kind.UNEXPECTED: "InternalError",
}


def reason(failure: CallFailure) -> str:
    return _REASONS[failure.kind]


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
