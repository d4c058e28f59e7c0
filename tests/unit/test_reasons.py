"""Every condition reason the reconcile can report, with Ready, Synced and the retry class it
comes with: one row each, against the in-memory AWS."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from awsorg_operator.api import Status
from awsorg_operator.failures import CallFailure, Kind, Retry
from awsorg_operator.observed import AccountStatus
from awsorg_operator.ownership import Holder
from awsorg_operator.resource import Claim
from tests.fake_aws import AUDIT, DENIED, MGMT, ORG_ID, THROTTLED, WORKLOADS, FakeAws, FakeRegion
from tests.unit.test_reconciler import ADOPT, EXPIRED, REFUSED_FOR_GOOD, Org

pytestmark = pytest.mark.unit


def failure(code: str, kind: Kind) -> CallFailure:
    return CallFailure("Any", code, "m", kind)


SERVER = failure("InternalServerException", Kind.UNAVAILABLE)
CONCURRENT = failure("ConcurrentModificationException", Kind.CONCURRENT_MODIFICATION)
CONSTRAINT = failure("ConstraintViolationException", Kind.CONSTRAINT_VIOLATION)
UNKNOWN = failure("SomethingNew", Kind.REFUSED)


@dataclass
class Case:
    reason: str
    ready: str
    synced: str
    retry: Retry | None
    setup: Callable[[Org], None]
    spec: dict[str, object] | None = None


def write_fails(f: CallFailure) -> Callable[[Org], None]:
    def setup(org: Org) -> None:
        org.aws.maintenance_mode = False
        org.aws.regions["eu-west-1"].admin = None
        org.aws.fail(f, "RegisterOrganizationAdminAccount")

    return setup


def read_fails(f: CallFailure, operation: str = "GetAccountStatus") -> Callable[[Org], None]:
    def setup(org: Org) -> None:
        org.aws.fail(f, operation, "eu-west-1" if operation == "GetAccountStatus" else "*")

    return setup


def held_by_another(org: Org) -> None:
    org.leases.create(ORG_ID, Holder("uid-other", "other"))
    org.others = [Claim("other", "uid-other", "2026-01-01T00:00:00Z", ORG_ID)]


def nothing(org: Org) -> None:
    return None


CASES = [
    Case("Reconciled", "True", "True", None, nothing),
    Case("NotManagementAccount", "False", "False", None, lambda o: setattr(o.aws, "caller", AUDIT)),
    Case(
        "AllFeaturesRequired",
        "False",
        "False",
        None,
        lambda o: setattr(o.aws, "feature_set", "CONSOLIDATED_BILLING"),
    ),
    Case(
        "OrganizationMismatch",
        "False",
        "False",
        None,
        lambda o: setattr(o, "status", Status(organization_id="o-elsewhere")),
    ),
    Case(
        "InvalidDelegatedAdmin",
        "False",
        "False",
        None,
        nothing,
        {**ADOPT, "delegatedAdminAccountID": "999999999999"},
    ),
    Case("Conflict", "False", "False", None, held_by_another),
    Case(
        "AdminChangeBlocked",
        "False",
        "True",
        None,
        nothing,
        {**ADOPT, "delegatedAdminAccountID": WORKLOADS},
    ),
    Case(
        "DelegatedAdminElsewhere",
        "False",
        "True",
        None,
        lambda o: o.aws.regions.update({"eu-central-1": FakeRegion(AccountStatus.ACTIVE, AUDIT)}),
        {"trustedAccess": "Disabled", "regions": ["us-east-1", "eu-west-1"]},
    ),
    Case(
        "Drifted",
        "False",
        "True",
        None,
        lambda o: setattr(o.aws.regions["eu-west-1"], "admin", None),
        {**ADOPT, "managementPolicy": "Observe"},
    ),
    Case(
        "MaintenanceMode",
        "False",
        "False",
        None,
        nothing,
        {**ADOPT, "regions": ["us-east-1", "eu-west-1", "eu-central-1"]},
    ),
    Case("ValidationFailed", "False", "False", None, write_fails(REFUSED_FOR_GOOD)),
    Case("ConstraintViolation", "False", "False", None, write_fails(CONSTRAINT)),
    Case("AwsRefused", "False", "False", None, write_fails(UNKNOWN)),
    Case("ConcurrentModification", "False", "False", Retry.SOON, write_fails(CONCURRENT)),
    Case("Throttled", "Unknown", "False", Retry.SOON, read_fails(THROTTLED)),
    Case("AwsError", "Unknown", "False", Retry.SOON, read_fails(SERVER)),
    Case("AccessDenied", "Unknown", "False", Retry.SLOWLY, read_fails(DENIED)),
    Case(
        "AwsCredentialsExpired",
        "Unknown",
        "False",
        Retry.SOON,
        read_fails(EXPIRED, "GetCallerIdentity"),
    ),
    Case(
        "InternalError",
        "Unknown",
        "False",
        Retry.SOON,
        lambda o: o.aws.bugs.update({"DescribeOrganization": KeyError("Id")}),
    ),
    Case(
        "Pending",
        "False",
        "True",
        Retry.SOON,
        lambda o: setattr(o.aws.regions["eu-west-1"], "status", AccountStatus.PENDING_ACTIVATION),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.reason for c in CASES])
def test_each_reason_with_its_ready_synced_and_retry(case: Case) -> None:
    org = Org(aws=FakeAws(), spec=dict(case.spec or ADOPT))
    case.setup(org)
    out = org.reconcile()
    ready = org.status.condition("Ready")
    synced = org.status.condition("Synced")
    assert ready is not None and synced is not None
    assert (ready.status, ready.reason) == (case.ready, case.reason), ready.message
    assert synced.status == case.synced, synced
    assert out.retry is case.retry
    # A Warning for a reason that needs attention, once: not again at the next re-check.
    warned = [e.reason for e in out.events if e.type == "Warning"]
    if case.ready != "True" and case.reason not in ("Pending",):
        assert case.reason in warned or "Drifted" in warned, out.events
    if case.setup is nothing or case.reason in ("AdminChangeBlocked", "MaintenanceMode"):
        again = org.reconcile()
        assert [e for e in again.events if e.type == "Warning"] == []


def test_deleting_is_its_own_reason() -> None:
    org = Org(aws=FakeAws(), spec={**ADOPT, "deletionPolicy": "Delete"})
    org.reconcile()
    out = org.delete()
    ready = org.status.condition("Ready")
    assert ready is not None and (ready.status, ready.reason) == ("False", "Deleting")
    assert out.retry is None and MGMT not in {r.admin for r in org.aws.regions.values()}
