"""Kubernetes conditions: `lastTransitionTime` moves only when `status` does; and the reason a
failed call gives a condition, chosen here alone (the sides name failures in their own terms).
"""

from __future__ import annotations

from collections.abc import Iterable

from awsorg_operator.api import Condition, ConditionStatus
from awsorg_operator.failures import CallFailure, Kind
from awsorg_operator.reasons import Reason

READY = "Ready"
SYNCED = "Synced"

# The condition reason a person acts on, for each kind of failed call
# (docs/troubleshooting.md says what to do about each).
# (docs/troubleshooting.md says what to do about each). Expired and refused credentials have
# reasons of their own: the first passes by itself, the second needs a person (`meanings.py`).
REASONS = {
    Kind.THROTTLED: Reason.THROTTLED,
    Kind.CONCURRENT_MODIFICATION: Reason.CONCURRENT_MODIFICATION,
    Kind.UNAVAILABLE: Reason.AWS_ERROR,
    Kind.DENIED: Reason.ACCESS_DENIED,
    Kind.CREDENTIALS_EXPIRED: Reason.AWS_CREDENTIALS_EXPIRED,
    Kind.CREDENTIALS_REFUSED: Reason.AWS_CREDENTIALS,
    Kind.MAINTENANCE_MODE: Reason.MAINTENANCE_MODE,
    Kind.NO_ORGANIZATION: Reason.ORGANIZATION_NOT_FOUND,
    Kind.ACCOUNT_NOT_FOUND: Reason.INVALID_DELEGATED_ADMIN,
    Kind.CONSTRAINT_VIOLATION: Reason.CONSTRAINT_VIOLATION,
    Kind.INVALID: Reason.VALIDATION_FAILED,
    Kind.REFUSED: Reason.AWS_REFUSED,
    Kind.KUBERNETES: Reason.KUBERNETES_ERROR,
    Kind.UNEXPECTED: Reason.INTERNAL_ERROR,
}


def reason(failure: CallFailure) -> Reason:
    return REASONS[failure.kind]


def set_condition(
    previous: Iterable[Condition],
    type_: str,
    status: ConditionStatus,
    reason: Reason,
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
