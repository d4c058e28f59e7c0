"""What each state of the conditions means for a person: one row per `Reason` (the Ready
condition's), with every (Ready, Synced) pair of statuses the report gives it, what it asks of
a person, and one sentence that says it.

The one source for everything that interprets a state: Argo CD's health check
(`argocd/health/`), its test cases, and the tables in docs/troubleshooting.md and
docs/argocd.md are generated from it (`hack/devtools/awsorg_generators/states.py`), and tests
keep them, and the report, in step with it. A failed call's meaning follows from whether the
operator retries it soon (`failures.Retry`): a test checks the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from awsorg_operator.api import ConditionStatus
from awsorg_operator.reasons import Reason


class Meaning(StrEnum):
    HEALTHY = "healthy"  # AWS matches the spec
    IN_PROGRESS = "in progress"  # the operator is changing AWS, or AWS is catching up
    TEMPORARY = "temporary"  # a failure the operator retries, which passes by itself
    NEEDS_PERSON = "needs a person"  # nothing changes until someone acts

    @property
    def health(self) -> str:
        """Argo CD's health status for it."""
        return _HEALTH[self]


_HEALTH = {
    Meaning.HEALTHY: "Healthy",
    Meaning.IN_PROGRESS: "Progressing",
    Meaning.TEMPORARY: "Progressing",
    Meaning.NEEDS_PERSON: "Degraded",
}

Pair = tuple[ConditionStatus, ConditionStatus]  # Ready's status, Synced's status

_STOPPED: tuple[Pair, ...] = (("False", "False"),)  # a check stopped the reconcile
_WAITING: tuple[Pair, ...] = (("False", "True"), ("False", "False"))  # Synced: any call failed?
# A failed read (Ready Unknown) or write (Ready False).
_FAILED: tuple[Pair, ...] = (("Unknown", "False"), ("False", "False"))
# ... and a write refused for good, held until the spec or AWS changes: nothing failed since.
_REFUSED: tuple[Pair, ...] = (*_FAILED, ("False", "True"))


@dataclass(frozen=True)
class Row:
    reason: Reason
    meaning: Meaning
    pairs: tuple[Pair, ...]
    sentence: str


@dataclass(frozen=True)
class State:
    """One (Ready, Synced, reason) combination the report can produce."""

    ready: ConditionStatus
    synced: ConditionStatus
    reason: Reason
    meaning: Meaning
    sentence: str


_OK, _ON, _PASSES, _PERSON = (
    Meaning.HEALTHY,
    Meaning.IN_PROGRESS,
    Meaning.TEMPORARY,
    Meaning.NEEDS_PERSON,
)

TABLE: tuple[Row, ...] = (
    Row(Reason.RECONCILED, _OK, (("True", "True"),), "AWS matches the spec in every listed Region"),
    # A Region read before disabling trusted access that failed is the read's own reason
    # (Synced False), not Pending: scan.py.
    Row(
        Reason.PENDING,
        _ON,
        _WAITING,
        "AWS has not caught up yet (a change in flight, a Region activating): wait",
    ),
    Row(
        Reason.DELETING,
        _ON,
        _WAITING,
        "the deletion applies deletionPolicy; the message says why it waits",
    ),
    Row(Reason.THROTTLED, _PASSES, _FAILED, "AWS throttled a call; the operator retries it"),
    Row(
        Reason.CONCURRENT_MODIFICATION,
        _PASSES,
        _FAILED,
        "another change to the organization ran at the same time; retried",
    ),
    Row(
        Reason.AWS_ERROR,
        _PASSES,
        _FAILED,
        "AWS answered with a server error, or did not answer; retried",
    ),
    Row(
        Reason.AWS_CREDENTIALS_EXPIRED,
        _PASSES,
        _FAILED,
        "the credentials expired; retried with fresh ones",
    ),
    Row(
        Reason.KUBERNETES_ERROR,
        _PASSES,
        _FAILED,
        "a call to the Kubernetes API failed; nothing was written to AWS; retried",
    ),
    Row(
        Reason.INTERNAL_ERROR,
        _PASSES,
        _FAILED,
        "something nobody expected; retried; report it if it persists",
    ),
    Row(
        Reason.ACCESS_DENIED,
        _PERSON,
        _FAILED,
        "AWS denied a call: grant the IAM policy to the identity the message names",
    ),
    Row(
        Reason.AWS_CREDENTIALS,
        _PERSON,
        _FAILED,
        "no AWS credentials, or AWS refuses them: fix IRSA, Pod Identity or spec.credentials",
    ),
    Row(
        Reason.ORGANIZATION_NOT_FOUND,
        _PERSON,
        _REFUSED,
        "the credentials' account is in no AWS organization: use the management account's",
    ),
    Row(
        Reason.NOT_MANAGEMENT_ACCOUNT,
        _PERSON,
        _STOPPED,
        "the credentials are not the organization's management account",
    ),
    Row(
        Reason.ALL_FEATURES_REQUIRED,
        _PERSON,
        _STOPPED,
        "the organization has only consolidated billing: enable all features",
    ),
    Row(
        Reason.ORGANIZATION_MISMATCH,
        _PERSON,
        _STOPPED,
        "the credentials reach another organization than this resource manages",
    ),
    Row(
        Reason.INVALID_DELEGATED_ADMIN,
        _PERSON,
        _REFUSED,
        "delegatedAdminAccountID is not a member account of the organization",
    ),
    Row(
        Reason.CONFLICT,
        _PERSON,
        _STOPPED,
        "another AuditManagerOrgConfig claimed this organization first; this one changes nothing",
    ),
    Row(Reason.INVALID_SPEC, _PERSON, _STOPPED, "the stored spec does not parse: correct it"),
    Row(
        Reason.ADMIN_CHANGE_BLOCKED,
        _PERSON,
        _WAITING,
        "replacing or removing a delegated administrator waits for approval",
    ),
    Row(
        Reason.DELEGATED_ADMIN_ELSEWHERE,
        _PERSON,
        (("False", "True"),),
        "an administrator in a Region spec.regions does not list keeps trusted access on",
    ),
    Row(
        Reason.IRREVERSIBLE_SETTING_BLOCKED,
        _PERSON,
        _WAITING,
        "a setting that cannot be undone (evidence finder off, deleteResources All), or a "
        "retirement, waits for approval",
    ),
    Row(
        Reason.ADMIN_CREDENTIALS_MISMATCH,
        _PERSON,
        _WAITING,
        "spec.adminCredentials is not a role in the Region's delegated administrator account",
    ),
    Row(Reason.DRIFTED, _PERSON, _WAITING, "managementPolicy Observe: AWS differs from the spec"),
    Row(
        Reason.MAINTENANCE_MODE,
        _PERSON,
        _REFUSED,
        "Audit Manager takes no new accounts or Regions (maintenance mode): change the spec",
    ),
    Row(
        Reason.CONSTRAINT_VIOLATION,
        _PERSON,
        _REFUSED,
        "AWS Organizations refused the change for a constraint the message names",
    ),
    Row(
        Reason.VALIDATION_FAILED,
        _PERSON,
        _REFUSED,
        "Audit Manager refused a call as invalid: act on its message, usually in the spec",
    ),
    Row(Reason.AWS_REFUSED, _PERSON, _REFUSED, "AWS refused a call; the message has its error"),
)

ROWS: dict[Reason, Row] = {row.reason: row for row in TABLE}


def states() -> list[State]:
    """Every (Ready, Synced, reason) combination, in the table's order."""
    return [
        State(ready, synced, row.reason, row.meaning, row.sentence)
        for row in TABLE
        for ready, synced in row.pairs
    ]


def meaning(reason: Reason) -> Meaning:
    return ROWS[reason].meaning
