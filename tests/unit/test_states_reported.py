"""The report produces exactly the states `meanings.py` lists: every kind of failed call at
every place a call can fail (the organization's read, a Region's read, a write, a deletion's
write), every check, blocker and wait, each through the real reconcile and report against the
in-memory AWS. A state the report produces and the table lacks fails here, and so does a state
the table lists and nothing produces."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import pytest

from awsorg_operator.api import Status
from awsorg_operator.failures import CallFailure, Kind
from awsorg_operator.meanings import Meaning, states
from awsorg_operator.observed import AccountStatus
from awsorg_operator.reasons import Reason
from awsorg_operator.report import invalid_spec
from tests.fake_aws import AUDIT, THROTTLED, WORKLOADS, FakeAws
from tests.unit.test_reasons import CASES, read_fails, write_fails
from tests.unit.test_reconciler import ADOPT, Clock, Org

pytestmark = pytest.mark.unit

Triple = tuple[str, str, str]  # Ready's status, Synced's status, Ready's reason


def fails(kind: Kind) -> CallFailure:
    return CallFailure("Any", f"{kind.value}-code", "m", kind)


def state(status: Status) -> Triple:
    ready, synced = status.condition("Ready"), status.condition("Synced")
    assert ready is not None and synced is not None
    return (ready.status, synced.status, ready.reason)


def runs(
    setup: Callable[[Org], None],
    spec: Mapping[str, object],
    times: int = 2,
    settings: bool = False,
) -> Iterator[Status]:
    """The statuses of `times` reconciles of one resource, the fault set up before the first."""
    org = Org(aws=FakeAws(), spec=dict(spec), settings=settings)
    setup(org)
    for _ in range(times):
        org.reconcile()
        yield org.status


def deletion(setup: Callable[[Org], None]) -> Iterator[Status]:
    org = Org(aws=FakeAws(), spec={**ADOPT, "deletionPolicy": "Delete"})
    org.reconcile()
    setup(org)
    org.delete()
    yield org.status


def write_fails_on_deletion(f: CallFailure) -> Callable[[Org], None]:
    def setup(org: Org) -> None:
        org.aws.fail(f, "DeregisterOrganizationAdminAccount")

    return setup


def activating(region: str) -> Callable[[Org], None]:
    def setup(org: Org) -> None:
        org.aws.regions[region].status = AccountStatus.PENDING_ACTIVATION

    return setup


def admin_gone(org: Org) -> None:
    org.aws.regions["us-east-1"].admin = None


def both(*setups: Callable[[Org], None]) -> Callable[[Org], None]:
    def setup(org: Org) -> None:
        for one in setups:
            one(org)

    return setup


def another_region_unreadable(org: Org) -> None:
    org.aws.fail(THROTTLED, "GetAccountStatus", "eu-central-1")


# A difference in us-east-1, and eu-west-1 cannot be read: Synced says so beside Ready's reason.
EU_UNREAD = read_fails(THROTTLED)
BESIDE_A_FAILED_READ = [
    (activating("us-east-1"), ADOPT),
    (both(EU_UNREAD, activating("us-east-1")), ADOPT),
    (EU_UNREAD, {**ADOPT, "delegatedAdminAccountID": WORKLOADS}),  # AdminChangeBlocked
    (both(EU_UNREAD, admin_gone), {**ADOPT, "managementPolicy": "Observe"}),  # Drifted
]
DISABLED = {"trustedAccess": "Disabled", "regions": ["us-east-1", "eu-west-1"]}
# The administrator's settings: evidence finder off waits for approval; a role in an account that
# is not the administrator changes nothing.
IRREVERSIBLE = {
    **ADOPT,
    "adminCredentials": {"roleARN": f"arn:aws:iam::{AUDIT}:role/a", "externalID": "ext"},
    "settings": {"evidenceFinder": "Disabled"},
}
OTHER_ROLE = {
    "trustedAccess": "Enabled",
    "regions": ["us-east-1", "eu-west-1"],
    "adminCredentials": {"roleARN": f"arn:aws:iam::{WORKLOADS}:role/a", "externalID": "ext"},
    "settings": {"evidenceFinder": "Enabled"},
}


def statuses() -> Iterator[Status]:
    for kind in Kind:
        f = fails(kind)
        yield from runs(read_fails(f, "DescribeOrganization"), ADOPT)
        yield from runs(read_fails(f), ADOPT)
        yield from runs(write_fails(f), ADOPT)  # the second: a refusal held, or sent again
        yield from deletion(write_fails_on_deletion(f))
    for case in CASES:
        yield from runs(case.setup, case.spec or ADOPT)
    for setup, spec in BESIDE_A_FAILED_READ:
        yield from runs(setup, spec, 1)
    # Disabling trusted access waits for a Region the spec does not list to be read.
    yield from runs(another_region_unreadable, DISABLED, 1)
    yield from deletion(lambda o: None)
    for setup in (lambda o: None, EU_UNREAD):
        yield from runs(setup, IRREVERSIBLE, 1, True)
        yield from runs(setup, OTHER_ROLE, 1, True)
    yield invalid_spec(Status(), 1, "spec.regions: not a list", Clock()()).status


def produced() -> dict[Triple, Status]:
    """One status the report wrote for each state it produced."""
    return {state(status): status for status in statuses()}


def reported_statuses() -> list[Status]:
    return list(produced().values())


def test_the_report_produces_exactly_the_tables_states() -> None:
    table = {(s.ready, s.synced, str(s.reason)) for s in states()}
    got = set(produced())
    assert got - table == set(), "produced, but missing from meanings.TABLE"
    assert table - got == set(), "in meanings.TABLE, but nothing produces it"


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        (Kind.DENIED, Reason.ACCESS_DENIED),
        (Kind.CREDENTIALS_REFUSED, Reason.AWS_CREDENTIALS),
        (Kind.NO_ORGANIZATION, Reason.ORGANIZATION_NOT_FOUND),
    ],
)
def test_a_read_refused_for_good_is_unknown_and_needs_a_person(kind: Kind, reason: Reason) -> None:
    """Ready stays Unknown (what AWS has is not known), but the state needs a person: Argo CD
    shows it Degraded, with the reason and the message."""
    (status,) = runs(read_fails(fails(kind), "DescribeOrganization"), ADOPT, 1)
    assert state(status) == ("Unknown", "False", reason)
    assert _meaning(state(status)) is Meaning.NEEDS_PERSON


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        (Kind.UNEXPECTED, Reason.INTERNAL_ERROR),
        (Kind.CREDENTIALS_EXPIRED, Reason.AWS_CREDENTIALS_EXPIRED),
        (Kind.UNAVAILABLE, Reason.AWS_ERROR),
    ],
)
def test_a_write_that_fails_for_a_passing_reason_is_false_and_temporary(
    kind: Kind, reason: Reason
) -> None:
    (status, _) = runs(write_fails(fails(kind)), ADOPT)
    assert state(status) == ("False", "False", reason)
    assert _meaning(state(status)) is Meaning.TEMPORARY


def _meaning(triple: Triple) -> Meaning:
    (found,) = [s.meaning for s in states() if (s.ready, s.synced, s.reason) == triple]
    return found
