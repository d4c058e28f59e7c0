"""Every reason the `Ready` and `Synced` conditions can carry: the operator's runtime contract
with people, alert rules and Argo CD. What each one means is `meanings.py`'s table; the code
that sets a condition names a member here, so mypy keeps an ad-hoc string out.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    # All is well, or on its way.
    RECONCILED = "Reconciled"
    PENDING = "Pending"
    DELETING = "Deleting"
    # The checks before any write (`checks.py`, `ownership.py`) and the spec itself.
    NOT_MANAGEMENT_ACCOUNT = "NotManagementAccount"
    ALL_FEATURES_REQUIRED = "AllFeaturesRequired"
    ORGANIZATION_MISMATCH = "OrganizationMismatch"
    INVALID_DELEGATED_ADMIN = "InvalidDelegatedAdmin"
    CONFLICT = "Conflict"
    INVALID_SPEC = "InvalidSpec"
    # Differences the operator will not close on its own (`plan.py`).
    ADMIN_CHANGE_BLOCKED = "AdminChangeBlocked"
    DELEGATED_ADMIN_ELSEWHERE = "DelegatedAdminElsewhere"
    DRIFTED = "Drifted"
    IRREVERSIBLE_SETTING_BLOCKED = "IrreversibleSettingBlocked"
    ADMIN_CREDENTIALS_MISMATCH = "AdminCredentialsMismatch"
    # A failed call, by its kind (`conditions.reason`).
    THROTTLED = "Throttled"
    CONCURRENT_MODIFICATION = "ConcurrentModification"
    AWS_ERROR = "AwsError"
    ACCESS_DENIED = "AccessDenied"
    AWS_CREDENTIALS = "AwsCredentials"  # missing or refused: a person fixes them
    AWS_CREDENTIALS_EXPIRED = "AwsCredentialsExpired"  # fresh ones fix it
    MAINTENANCE_MODE = "MaintenanceMode"
    ORGANIZATION_NOT_FOUND = "OrganizationNotFound"
    CONSTRAINT_VIOLATION = "ConstraintViolation"
    VALIDATION_FAILED = "ValidationFailed"
    AWS_REFUSED = "AwsRefused"
    KUBERNETES_ERROR = "KubernetesError"
    INTERNAL_ERROR = "InternalError"


def recorded(value: str | None) -> Reason:
    """A reason kept in status by an earlier reconcile (a refused write's); one this version
    does not know, or none, reads as `AWS_REFUSED`."""
    known = {r.value: r for r in Reason}
    return known.get(value or "", Reason.AWS_REFUSED)
