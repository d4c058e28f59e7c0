"""Audit Manager's settings, evidence finder and DeregisterAccount: the in-memory fake
(`tests/fake_aws_settings.py`) and the HTTP emulator give the same answers, and refuse with
the same failure as the operator's seam classifies it (`awsorg_operator.aws.errors`).

Spoken at the level of the AWS calls, account by account, since the settings are the calling
account's: the management account's and the delegated administrator's are apart."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from awsorg_emulator import EmulatorProcess
from awsorg_operator.actions import DeregisterAdmin, RegisterAccount
from awsorg_operator.aws.errors import classify
from awsorg_operator.external import Identity
from awsorg_operator.failures import CallError, CallFailure, Kind
from tests import fake_aws_settings as fake_am
from tests.fake_aws import AUDIT, MGMT, THROTTLED, FakeAws, FakeConnector

T = TypeVar("T")
TOPIC = f"arn:aws:sns:us-east-1:{AUDIT}:audit-notices"
REPORTS = {"destinationType": "S3", "destination": "s3://audit-reports/assessments"}
OWNERS = [{"roleType": "PROCESS_OWNER", "roleArn": f"arn:aws:iam::{AUDIT}:role/Auditor"}]


class World(Protocol):
    def get(self, account: str, attribute: str = "ALL", region: str = "us-east-1") -> Any: ...
    def update(self, account: str, region: str = "us-east-1", **params: Any) -> Any: ...
    def deregister(self, account: str, region: str = "us-east-1") -> str: ...
    def register_management(self, region: str) -> None: ...
    def deregister_admin(self, region: str) -> None: ...
    def evidence_finder(self, *, seconds: float | None, lake_open: bool) -> None: ...
    def settle(self) -> None: ...
    def fail_evidence_finder(self, account: str, error: str) -> None: ...
    # (admin in the Region, deregistrations there, orphaned event data stores there)
    def aftermath(self, region: str) -> tuple[str | None, dict[str, str], list[str]]: ...


@dataclass
class FakeWorld:
    aws: FakeAws

    def get(self, account: str, attribute: str = "ALL", region: str = "us-east-1") -> Any:
        return fake_am.get_settings(self.aws, account, region, attribute)

    def update(self, account: str, region: str = "us-east-1", **params: Any) -> Any:
        return fake_am.update_settings(self.aws, account, region, params)

    def deregister(self, account: str, region: str = "us-east-1") -> str:
        return fake_am.deregister_account(self.aws, account, region)

    def register_management(self, region: str) -> None:
        FakeConnector(self.aws).connect(Identity()).execute(RegisterAccount(region, "why"))

    def deregister_admin(self, region: str) -> None:
        FakeConnector(self.aws).connect(Identity()).execute(DeregisterAdmin(region, AUDIT, "why"))

    def evidence_finder(self, *, seconds: float | None, lake_open: bool) -> None:
        self.aws.settings.evidence_finder_seconds = seconds
        self.aws.settings.cloudtrail_lake_open = lake_open

    def settle(self) -> None:
        self.aws.settings.settle()

    def fail_evidence_finder(self, account: str, error: str) -> None:
        self.aws.settings.set_evidence_finder_error(account, "us-east-1", error)

    def aftermath(self, region: str) -> tuple[str | None, dict[str, str], list[str]]:
        book = self.aws.settings
        gone = {a: p for (a, r), p in book.deregistrations.items() if r == region}
        return self.aws.region(region).admin, gone, [s for s in book.orphaned_stores if region in s]


@dataclass
class EmulatorWorld:
    emulator: EmulatorProcess

    def _am(self, account: str, region: str) -> Any:
        return boto3.client(
            "auditmanager",
            endpoint_url=self.emulator.endpoint_url,
            region_name=region,
            aws_access_key_id=account,  # a 12-digit key is that account to the emulator
            aws_secret_access_key="secret",
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
        )

    def get(self, account: str, attribute: str = "ALL", region: str = "us-east-1") -> Any:
        am = self._am(account, region)
        return seam("GetSettings", lambda: am.get_settings(attribute=attribute))["settings"]

    def update(self, account: str, region: str = "us-east-1", **params: Any) -> Any:
        am = self._am(account, region)
        return seam("UpdateSettings", lambda: am.update_settings(**params))["settings"]

    def deregister(self, account: str, region: str = "us-east-1") -> str:
        am = self._am(account, region)
        return str(seam("DeregisterAccount", am.deregister_account)["status"])

    def register_management(self, region: str) -> None:
        self._am(MGMT, region).register_account()

    def deregister_admin(self, region: str) -> None:
        self._am(MGMT, region).deregister_organization_admin_account(adminAccountId=AUDIT)

    def evidence_finder(self, *, seconds: float | None, lake_open: bool) -> None:
        control = self.emulator.control
        control.configure(evidence_finder_seconds=seconds, cloudtrail_lake_open=lake_open)

    def settle(self) -> None:
        self.emulator.control.settle_evidence_finder()

    def fail_evidence_finder(self, account: str, error: str) -> None:
        self.emulator.control.set_evidence_finder_error(account, "us-east-1", error)

    def aftermath(self, region: str) -> tuple[str | None, dict[str, str], list[str]]:
        view = self.emulator.control.state()["auditManager"][region]
        return view["adminAccountID"], view["deregistrations"], view["orphanedEventDataStores"]


def seam(operation: str, fn: Callable[[], T]) -> T:
    """A boto3 call whose refusal is classified as the operator's seam does."""
    try:
        return fn()
    except ClientError as e:
        raise CallError(classify(operation, e)) from None


def refused(fn: Callable[[], object]) -> CallFailure:
    with pytest.raises(CallError) as raised:
        fn()
    return raised.value.failure


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    with EmulatorProcess(log_path=tmp_path_factory.mktemp("emulator") / "log") as process:
        yield process


@pytest.fixture(
    params=[
        pytest.param("fake", marks=pytest.mark.unit),
        pytest.param("emulator", marks=pytest.mark.integration),
    ]
)
def world(request: pytest.FixtureRequest) -> World:
    if request.param == "fake":
        return FakeWorld(FakeAws())
    emulator: EmulatorProcess = request.getfixturevalue("emulator")
    emulator.control.reset(seed="existing-customer", maintenance_mode=True)
    return EmulatorWorld(emulator)


def test_the_seed_has_evidence_finder_on_in_the_administrators_account_only(world: World) -> None:
    admin = world.get(AUDIT, "EVIDENCE_FINDER_ENABLEMENT")["evidenceFinderEnablement"]
    management = world.get(MGMT)

    assert (admin["enablementStatus"], admin["backfillStatus"]) == ("ENABLED", "COMPLETED")
    assert admin["eventDataStoreArn"].startswith(f"arn:aws:cloudtrail:us-east-1:{AUDIT}:")
    assert management == {
        "isAwsOrgEnabled": True,
        "kmsKey": "DEFAULT",
        "defaultProcessOwners": [],
        "evidenceFinderEnablement": {"enablementStatus": "DISABLED"},
        "deregistrationPolicy": {"deleteResources": "DEFAULT"},
    }


def test_settings_are_the_calling_accounts_and_answered_as_aws_does(world: World) -> None:
    answer = world.update(AUDIT, snsTopic=TOPIC, defaultAssessmentReportsDestination=REPORTS)
    world.update(AUDIT, defaultProcessOwners=OWNERS)

    assert answer["snsTopic"] == "audit-notices"
    assert world.get(AUDIT, "SNS_TOPIC") == {"snsTopic": "audit-notices"}
    assert world.get(AUDIT, "DEFAULT_PROCESS_OWNERS") == {"defaultProcessOwners": OWNERS}
    assert world.get(AUDIT)["defaultAssessmentReportsDestination"] == REPORTS
    assert world.get(AUDIT, "DEFAULT_EXPORT_DESTINATION") == {}
    assert "snsTopic" not in world.get(MGMT)
    assert "snsTopic" not in world.get(AUDIT, region="eu-west-1")


@pytest.mark.parametrize(
    "params",
    [
        {"snsTopic": TOPIC.replace("us-east-1", "eu-west-1")},
        {"defaultAssessmentReportsDestination": {"destinationType": "S3", "destination": "x"}},
        {"defaultProcessOwners": [{**OWNERS[0], "roleType": "RESOURCE_OWNER"}]},
        {"deregistrationPolicy": {"deleteResources": "EVERYTHING"}},
    ],
)
def test_a_malformed_update_is_refused_for_good_and_changes_nothing(
    world: World, params: dict[str, Any]
) -> None:
    before = world.get(AUDIT)

    failure = refused(lambda: world.update(AUDIT, kmsKey="DEFAULT", **params))

    assert (failure.code, failure.kind) == ("ValidationException", Kind.INVALID)
    assert world.get(AUDIT) == before


def test_an_unregistered_account_is_denied(world: World) -> None:
    failure = refused(lambda: world.get(MGMT, region="ap-southeast-2"))

    assert (failure.code, failure.kind) == ("AccessDeniedException", Kind.DENIED)


def test_evidence_finder_off_takes_a_step_and_cannot_be_turned_on_again(world: World) -> None:
    world.evidence_finder(seconds=None, lake_open=True)

    answer = world.update(AUDIT, evidenceFinderEnabled=False)["evidenceFinderEnablement"]
    world.settle()
    after = world.get(AUDIT, "EVIDENCE_FINDER_ENABLEMENT")
    failure = refused(lambda: world.update(AUDIT, evidenceFinderEnabled=True))

    assert answer["enablementStatus"] == "DISABLE_IN_PROGRESS"
    assert after == {"evidenceFinderEnablement": {"enablementStatus": "DISABLED"}}
    assert (failure.code, failure.kind) == ("ValidationException", Kind.INVALID)


def test_a_new_evidence_finder_needs_cloudtrail_lake_open(world: World) -> None:
    closed = refused(lambda: world.update(MGMT, evidenceFinderEnabled=True))
    world.evidence_finder(seconds=None, lake_open=True)
    answer = world.update(MGMT, evidenceFinderEnabled=True)["evidenceFinderEnablement"]
    world.settle()
    settled = world.get(MGMT, "EVIDENCE_FINDER_ENABLEMENT")["evidenceFinderEnablement"]

    assert closed.code == "ValidationException"
    assert (answer["enablementStatus"], answer["backfillStatus"]) == (
        "ENABLE_IN_PROGRESS",
        "NOT_STARTED",
    )
    assert (settled["enablementStatus"], settled["backfillStatus"]) == ("ENABLED", "COMPLETED")


def test_the_management_account_deregisters_with_its_administrator_under_its_policy(
    world: World,
) -> None:
    world.update(MGMT, deregistrationPolicy={"deleteResources": "ALL"})
    world.update(AUDIT, snsTopic=TOPIC)  # the administrator's own policy stays DEFAULT

    status = world.deregister(MGMT)
    admin, gone, orphaned = world.aftermath("us-east-1")

    assert status == "INACTIVE" and admin is None
    assert gone == {MGMT: "ALL", AUDIT: "ALL"}
    assert orphaned == [f"arn:aws:cloudtrail:us-east-1:{AUDIT}:eventdatastore/auditmanager-{AUDIT}"]
    assert world.aftermath("eu-west-1") == (AUDIT, {}, [])


@pytest.mark.parametrize(("policy", "kept"), [("DEFAULT", True), ("ALL", False)])
def test_registering_again_finds_the_settings_only_when_they_were_kept(
    world: World, policy: str, kept: bool
) -> None:
    world.update(MGMT, deregistrationPolicy={"deleteResources": policy}, snsTopic=TOPIC)

    world.deregister(MGMT)
    world.register_management("us-east-1")  # pre-cutoff: maintenance mode lets it back

    assert ("snsTopic" in world.get(MGMT)) is kept


def test_removing_an_administrator_with_evidence_finder_on_leaves_its_store(world: World) -> None:
    world.deregister_admin("eu-west-1")

    admin, gone, orphaned = world.aftermath("eu-west-1")

    assert admin is None and gone == {}
    assert orphaned == [f"arn:aws:cloudtrail:eu-west-1:{AUDIT}:eventdatastore/auditmanager-{AUDIT}"]


def test_an_evidence_finder_error_is_answered_until_the_next_request(world: World) -> None:
    world.fail_evidence_finder(AUDIT, "The event data store could not be created.")

    shown = world.get(AUDIT, "EVIDENCE_FINDER_ENABLEMENT")["evidenceFinderEnablement"]
    after = world.update(AUDIT, evidenceFinderEnabled=False)["evidenceFinderEnablement"]

    assert shown["error"] == "The event data store could not be created."
    assert "error" not in after


@pytest.mark.unit
def test_the_fakes_settings_calls_fail_as_a_test_asks() -> None:
    """Faults set on the fake reach the settings calls too, as they reach every other."""
    aws = FakeAws().fail(THROTTLED, "UpdateSettings", "eu-west-1")

    failure = refused(
        lambda: fake_am.update_settings(aws, AUDIT, "eu-west-1", {"kmsKey": "DEFAULT"})
    )

    assert (failure.operation, failure.kind) == ("UpdateSettings", Kind.THROTTLED)
    assert fake_am.update_settings(aws, AUDIT, "eu-west-1", {"kmsKey": "DEFAULT"})
    assert aws.calls == [("UpdateSettings", "eu-west-1")] * 2
