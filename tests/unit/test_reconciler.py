"""The reconcile and its report, with the in-memory AWS behind the seam: no process.

Table-driven where the cases share a shape; each case names the behaviour it proves.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import kubernetes
import pytest

from awsorg_operator.api import PlannedAction, PlannedState, Spec, Status
from awsorg_operator.external import Identity
from awsorg_operator.failures import CallFailure, Kind, Retry
from awsorg_operator.kube.status_journal import StatusJournal
from awsorg_operator.reconciler import Reconciler
from awsorg_operator.resource import Claim, Outcome, Resource
from tests.fake_aws import AUDIT, DENIED, THROTTLED, WORKLOADS, FakeAws, FakeConnector
from tests.memory_kube import MemoryJournal, MemoryLeases
from tests.unit.fake_settings import FakeAdminAccount

pytestmark = pytest.mark.unit

REGIONS = ["us-east-1", "eu-west-1"]
ADOPT = {"trustedAccess": "Enabled", "delegatedAdminAccountID": AUDIT, "regions": REGIONS}
REFUSED_FOR_GOOD = CallFailure("Any", "ValidationException", "no", Kind.INVALID)
EXPIRED = CallFailure("Any", "ExpiredTokenException", "expired", Kind.CREDENTIALS_EXPIRED)


@dataclass
class Clock:
    at: datetime = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.at += timedelta(seconds=1)
        return self.at


@dataclass
class Org:
    """One resource as the API server keeps it between reconciles."""

    aws: FakeAws = field(default_factory=FakeAws)
    spec: dict[str, Any] = field(default_factory=lambda: dict(ADOPT))
    annotations: dict[str, str] = field(default_factory=dict)
    generation: int = 1
    status: Status = field(default_factory=Status)
    clock: Clock = field(default_factory=Clock)
    leases: MemoryLeases = field(default_factory=MemoryLeases)
    journal: MemoryJournal = field(default_factory=MemoryJournal)
    others: list[Claim] = field(default_factory=list)  # the other resources, as kopf indexes them
    settings: bool = False  # the administrator's account wired, for spec.adminCredentials
    admin_identities: list[Identity] = field(default_factory=list)

    def reconcile(self) -> Outcome:
        return self._run(deleting=False)

    def delete(self) -> Outcome:
        return self._run(deleting=True)

    def _run(self, deleting: bool) -> Outcome:
        reconciler = Reconciler(
            FakeConnector(self.aws),
            self.leases,
            self.journal,
            "us-east-1",
            now=self.clock,
            settings=self._admin if self.settings else None,
        )
        res = Resource(
            "org",
            "uid",
            self.generation,
            "2026-11-30T00:00:00Z",
            Spec.model_validate(self.spec),
            self.annotations,
            self.status,
        )
        step = reconciler.delete if deleting else reconciler.reconcile
        out = step(res, self.others)
        self.status = out.status
        return out

    def _admin(self, identity: Identity) -> FakeAdminAccount:
        self.admin_identities.append(identity)
        return FakeAdminAccount(self.aws, identity)

    def cond(self, type_: str) -> tuple[str, str]:
        c = self.status.condition(type_)
        assert c is not None
        return (c.status, c.reason)


def test_adopting_a_matching_setup_is_ready_with_reads_only() -> None:
    org = Org()
    out = org.reconcile()
    assert org.cond("Ready") == ("True", "Reconciled") and org.cond("Synced")[0] == "True"
    assert org.aws.writes() == [] and out.retry is None
    assert [e.reason for e in out.events] == ["Claimed"]


@pytest.mark.parametrize(
    ("fault", "where", "ready", "synced", "retry"),
    [
        # A read that fails: whether AWS matches is unknown, not False.
        (THROTTLED, ("GetAccountStatus", "eu-west-1"), "Unknown", "Throttled", Retry.SOON),
        (DENIED, ("GetOrganizationAdminAccount", "*"), "Unknown", "AccessDenied", Retry.SLOWLY),
        (THROTTLED, ("DescribeOrganization", "*"), "Unknown", "Throttled", Retry.SOON),
        (EXPIRED, ("GetCallerIdentity", "*"), "Unknown", "AwsCredentialsExpired", Retry.SOON),
        # Refused for good while reading: no retry loop, the next re-check reads again.
        (REFUSED_FOR_GOOD, ("GetAccountStatus", "eu-west-1"), "Unknown", "ValidationFailed", None),
    ],
)
def test_a_failed_read_makes_ready_unknown_and_synced_false(
    fault: CallFailure, where: tuple[str, str], ready: str, synced: str, retry: Retry | None
) -> None:
    org = Org()
    org.aws.fail(fault, *where)
    out = org.reconcile()
    assert org.cond("Ready") == (ready, synced)
    assert org.cond("Synced") == ("False", synced)
    assert out.retry is retry and org.aws.writes() == []


def test_a_bug_or_an_undocumented_answer_still_writes_status_and_an_event() -> None:
    org = Org()
    org.reconcile()
    assert org.cond("Ready") == ("True", "Reconciled")

    org.aws.bugs["DescribeOrganization"] = KeyError("MasterAccountId")
    out = org.reconcile()
    # Never a stale Ready=True: the reconcile says it could not tell.
    assert org.cond("Ready") == ("Unknown", "InternalError")
    assert org.cond("Synced") == ("False", "InternalError")
    assert out.retry is Retry.SOON
    assert [e.reason for e in out.events] == ["InternalError"]
    assert org.status.organization_id is not None  # what was known is kept


@pytest.mark.parametrize("operation", ["GetSettings", "RegisterOrganizationAdminAccount"])
def test_a_bug_in_one_region_or_one_write_is_reported_there(operation: str) -> None:
    aws = FakeAws(maintenance_mode=False)
    aws.regions["eu-west-1"].admin = None
    aws.bugs[operation] = ValueError("unexpected")
    org = Org(aws=aws)
    out = org.reconcile()
    assert org.cond("Synced") == ("False", "InternalError") and out.retry is Retry.SOON
    assert "ValueError" in (org.status.regions[1].message or "")


def test_a_write_refused_for_good_is_not_sent_again_until_something_changes() -> None:
    org = Org(spec={**ADOPT, "regions": [*REGIONS, "eu-central-1"]})
    first = org.reconcile()
    assert org.cond("Ready") == ("False", "MaintenanceMode")
    assert [e.reason for e in first.events if e.type == "Warning"] == ["MaintenanceMode"]
    assert first.retry is None
    (refused,) = org.status.planned_actions
    assert (refused.operation, refused.state) == ("RegisterAccount", PlannedState.REFUSED)
    sent = len(org.aws.writes())

    for _ in range(3):  # the periodic re-checks
        again = org.reconcile()
        assert len(org.aws.writes()) == sent, "a refused write was sent again"
        assert [e for e in again.events if e.type == "Warning"] == []
        assert org.cond("Ready") == ("False", "MaintenanceMode")
        assert org.cond("Synced")[0] == "True"  # AWS answered every call it was sent

    org.aws.maintenance_mode = False  # AWS changes nothing visible: still held
    org.reconcile()
    assert len(org.aws.writes()) == sent
    org.generation += 1  # the spec changes: tried again, and it works now
    org.reconcile()
    assert len(org.aws.writes()) > sent
    assert org.cond("Ready") == ("True", "Reconciled")


def test_a_write_in_flight_is_not_sent_again_while_reads_lag() -> None:
    aws = FakeAws(maintenance_mode=False, stale_reads=2)
    aws.regions["eu-west-1"].admin = None
    org = Org(aws=aws)
    org.reconcile()
    assert aws.writes() == [("RegisterOrganizationAdminAccount", "eu-west-1")]
    assert org.cond("Ready") == ("False", "Pending")
    (entry,) = org.status.planned_actions
    assert entry.state is PlannedState.IN_FLIGHT
    out = org.reconcile()  # the read still lags
    assert aws.writes() == [("RegisterOrganizationAdminAccount", "eu-west-1")]
    assert out.retry is Retry.SOON
    org.reconcile()  # the read caught up
    assert org.cond("Ready") == ("True", "Reconciled") and org.status.planned_actions == ()
    assert len(aws.writes()) == 1


def test_killed_after_a_write_before_its_status_write_the_write_is_not_sent_again() -> None:
    aws = FakeAws(maintenance_mode=False, stale_reads=2)
    aws.regions["eu-west-1"].admin = None
    org = Org(aws=aws)
    org.reconcile()
    # Killed before the final status write: the API server holds only what the reconcile
    # recorded before sending the write. The restarted operator reads that, and AWS lags.
    org.status = Status(planned_actions=org.journal.recorded["org"])
    out = org.reconcile()
    assert aws.writes() == [("RegisterOrganizationAdminAccount", "eu-west-1")]
    assert org.cond("Ready") == ("False", "Pending") and out.retry is Retry.SOON


def test_a_write_whose_answer_was_lost_counts_as_in_flight() -> None:
    aws = FakeAws(maintenance_mode=False, stale_reads=1)
    aws.lost_answers.add("RegisterOrganizationAdminAccount")
    aws.regions["eu-west-1"].admin = None
    org = Org(aws=aws)
    first = org.reconcile()
    assert org.cond("Synced") == ("False", "AwsError") and first.retry is Retry.SOON
    assert [p.state for p in org.status.planned_actions] == [PlannedState.IN_FLIGHT]
    org.reconcile()  # AWS still shows no administrator: the write may have landed
    assert aws.writes() == [("RegisterOrganizationAdminAccount", "eu-west-1")]
    org.reconcile()
    assert org.cond("Ready") == ("True", "Reconciled")


def test_no_record_no_write() -> None:
    """If the record cannot be made, the write is not sent."""

    class Refusing(MemoryJournal):
        def in_flight(self, res: Resource, entries: tuple[PlannedAction, ...]) -> None:
            raise RuntimeError("the API server refused the status patch")

    aws = FakeAws(maintenance_mode=False)
    aws.regions["eu-west-1"].admin = None
    org = Org(aws=aws, journal=Refusing())
    out = org.reconcile()
    assert aws.writes() == [] and out.retry is Retry.SOON
    assert org.cond("Synced") == ("False", "InternalError")


def test_an_api_server_that_cannot_be_reached_is_its_own_reason_not_a_bug() -> None:
    """The real status journal and kubernetes client, against a port that refuses."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: every connection is refused
        config = kubernetes.client.Configuration()
        config.host = f"http://127.0.0.1:{closed.getsockname()[1]}"
        previous = kubernetes.client.Configuration.get_default_copy()
        kubernetes.client.Configuration.set_default(config)
        try:
            aws = FakeAws(maintenance_mode=False)
            aws.regions["eu-west-1"].admin = None
            org = Org(aws=aws, journal=StatusJournal())  # type: ignore[arg-type]
            out = org.reconcile()
        finally:
            kubernetes.client.Configuration.set_default(previous)
    out = org.reconcile()
    assert org.cond("Synced") == ("False", "KubernetesError") and out.retry is Retry.SOON
    assert aws.writes() == []


def test_a_write_in_flight_is_sent_again_after_its_grace() -> None:
    aws = FakeAws(maintenance_mode=False, stale_reads=10)
    aws.regions["eu-west-1"].admin = None
    org = Org(aws=aws)
    org.reconcile()
    org.clock.at += timedelta(minutes=6)
    org.reconcile()
    assert len(aws.writes()) == 2


def test_an_approval_approves_the_one_change_it_names() -> None:
    aws = FakeAws(maintenance_mode=False)
    org = Org(aws=aws, spec={**ADOPT, "delegatedAdminAccountID": WORKLOADS})
    org.reconcile()
    assert org.cond("Ready") == ("False", "AdminChangeBlocked") and aws.writes() == []
    # What approving would do is shown, in order, for each Region.
    assert [(p.operation, p.region, p.state) for p in org.status.planned_actions] == [
        (op, r, PlannedState.AWAITING_APPROVAL)
        for r in REGIONS
        for op in ("DeregisterOrganizationAdminAccount", "RegisterOrganizationAdminAccount")
    ]
    org.annotations["awsorg.io/allow-admin-change"] = "true"  # approves nothing in particular
    org.reconcile()
    assert aws.writes() == []
    org.annotations["awsorg.io/allow-admin-change"] = AUDIT
    org.reconcile()
    assert org.cond("Ready") == ("True", "Reconciled")
    # The approval stays in Git; it must not approve the next change.
    org.spec = {**ADOPT, "delegatedAdminAccountID": AUDIT}
    org.generation += 1
    writes = len(aws.writes())
    org.reconcile()
    assert org.cond("Ready") == ("False", "AdminChangeBlocked")
    assert len(aws.writes()) == writes


def test_under_observe_the_plan_is_shown_and_nothing_is_written() -> None:
    aws = FakeAws()
    aws.regions["eu-west-1"].admin = None
    org = Org(aws=aws, spec={**ADOPT, "managementPolicy": "Observe"})
    org.reconcile()
    assert org.cond("Ready") == ("False", "Drifted") and aws.writes() == []
    assert [(p.operation, p.state) for p in org.status.planned_actions] == [
        ("RegisterOrganizationAdminAccount", PlannedState.NOT_APPLIED)
    ]
    assert org.status.planned_action_count == 1


def test_a_throttled_write_keeps_the_other_regions_progress_and_is_retried_soon() -> None:
    aws = FakeAws(maintenance_mode=False)
    for r in REGIONS:
        aws.regions[r].admin = None
    aws.fail(THROTTLED, "RegisterOrganizationAdminAccount", "eu-west-1")
    org = Org(aws=aws)
    out = org.reconcile()
    assert aws.regions["us-east-1"].admin == AUDIT and aws.regions["eu-west-1"].admin is None
    assert org.cond("Ready") == ("False", "Throttled") and out.retry is Retry.SOON
    org.reconcile()
    assert org.cond("Ready") == ("True", "Reconciled")


def test_a_warning_for_a_failure_is_posted_once_not_at_every_recheck() -> None:
    org = Org()
    org.aws.fail(DENIED, "GetOrganizationAdminAccount", "*", times=3)
    warnings = [[e.reason for e in org.reconcile().events if e.type == "Warning"] for _ in range(3)]
    assert warnings == [["AccessDenied"], [], []]


def test_failures_of_the_first_observe_do_not_stay_after_the_second_succeeded() -> None:
    aws = FakeAws(maintenance_mode=False)
    aws.regions["us-east-1"].admin = None
    # eu-west-1 fails on the first read only; the write in us-east-1 makes a second read.
    aws.fail(THROTTLED, "GetAccountStatus", "eu-west-1")
    org = Org(aws=aws)
    org.reconcile()
    assert [r.message for r in org.status.regions] == [None, None]
    assert org.cond("Synced") == ("True", "Reconciled")
