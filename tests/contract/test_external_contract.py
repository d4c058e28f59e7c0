"""One contract, two implementations: the in-memory fake the unit tests use and the real seam
(`AwsExternal`, boto3) against the HTTP emulator. Where they agree, a unit test of the
reconciler with the fake says something true of the operator against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import pytest

from awsorg_emulator import EmulatorProcess
from awsorg_operator.actions import DeregisterAdmin, RegisterAccount, RegisterAdmin
from awsorg_operator.aws.clients import ClientFactory
from awsorg_operator.aws.connector import AwsConnector
from awsorg_operator.conditions import reason
from awsorg_operator.external import External, Identity
from awsorg_operator.failures import CallError, Retry
from awsorg_operator.observed import AccountStatus, RegionFailure, RegionView
from awsorg_operator.settings import ClientSettings
from tests.fake_aws import (
    AUDIT,
    DENIED,
    MGMT,
    ORG_ID,
    THROTTLED,
    WORKLOADS,
    FakeAws,
    FakeConnector,
)

REGIONS = ("us-east-1", "eu-west-1")


class World(Protocol):
    external: External

    def throttle_region(self, region: str) -> None: ...
    def deny_region(self, region: str) -> None: ...
    def maintenance_mode(self, on: bool) -> None: ...
    def audit_manager_regions_called(self) -> set[str]: ...


@dataclass
class FakeWorld:
    aws: FakeAws
    external: External

    def throttle_region(self, region: str) -> None:
        self.aws.fail(THROTTLED, "GetAccountStatus", region)

    def deny_region(self, region: str) -> None:
        self.aws.fail(DENIED, "*", region, times=10)

    def maintenance_mode(self, on: bool) -> None:
        self.aws.maintenance_mode = on

    def audit_manager_regions_called(self) -> set[str]:
        return {region for _, region in self.aws.calls if region}


@dataclass
class EmulatorWorld:
    emulator: EmulatorProcess
    external: External

    def throttle_region(self, region: str) -> None:
        self.emulator.control.add_fault(
            "throttle", service="auditmanager", operation="GetAccountStatus", region=region
        )

    def deny_region(self, region: str) -> None:
        control = self.emulator.control
        control.add_fault("accessDenied", service="auditmanager", region=region, count=10)

    def maintenance_mode(self, on: bool) -> None:
        self.emulator.control.configure(maintenance_mode=on)

    def audit_manager_regions_called(self) -> set[str]:
        calls = self.emulator.control.calls()
        return {c["region"] for c in calls if c["service"] == "auditmanager"}


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
def world(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> World:
    if request.param == "fake":
        aws = FakeAws()
        return FakeWorld(aws, FakeConnector(aws).connect(Identity()))
    emulator: EmulatorProcess = request.getfixturevalue("emulator")
    emulator.control.reset(seed="existing-customer", maintenance_mode=True)
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", MGMT)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    factory = ClientFactory(ClientSettings("us-east-1", max_attempts=1))
    return EmulatorWorld(emulator, AwsConnector(factory).connect(Identity()))


def test_observes_the_existing_setup(world: World) -> None:
    org = world.external.observe_org()
    assert (org.caller_account_id, org.organization.id) == (MGMT, ORG_ID)
    assert org.organization.management_account_id == MGMT
    observed = world.external.observe(org, REGIONS, scan=False)
    assert observed.trusted_access and observed.org_delegated_admins == {AUDIT}
    assert observed.regions == {
        r: RegionView(r, AccountStatus.ACTIVE, AUDIT, "DEFAULT") for r in REGIONS
    }


def test_membership(world: World) -> None:
    assert world.external.is_member(AUDIT)
    assert not world.external.is_member("999999999999")


def test_registering_another_admin_over_an_active_one_is_refused_for_good(world: World) -> None:
    with pytest.raises(CallError) as raised:
        world.external.execute(RegisterAdmin("us-east-1", WORKLOADS, "why"))
    f = raised.value.failure
    assert (f.operation, f.code, f.retry) == (
        "RegisterOrganizationAdminAccount",
        "ValidationException",
        Retry.NEVER,
    )


def test_maintenance_mode_refuses_a_new_administrator_after_the_old_one_left(
    world: World,
) -> None:
    world.external.execute(DeregisterAdmin("us-east-1", AUDIT, "why"))
    with pytest.raises(CallError) as raised:
        world.external.execute(RegisterAdmin("us-east-1", WORKLOADS, "why"))
    assert reason(raised.value.failure) == "MaintenanceMode"
    world.external.execute(RegisterAdmin("us-east-1", AUDIT, "the old one may come back"))


def test_replacing_takes_deregister_then_register_in_that_region_only(world: World) -> None:
    world.maintenance_mode(False)
    world.external.execute(DeregisterAdmin("us-east-1", AUDIT, "why"))
    world.external.execute(DeregisterAdmin("us-east-1", AUDIT, "again: already gone is done"))
    world.external.execute(RegisterAdmin("us-east-1", WORKLOADS, "why"))
    org = world.external.observe_org()
    regions = world.external.observe(org, REGIONS, scan=False).regions
    assert [regions[r].admin_account_id for r in REGIONS] == [WORKLOADS, AUDIT]  # type: ignore[union-attr]


def test_maintenance_mode_refuses_a_new_region(world: World) -> None:
    with pytest.raises(CallError) as raised:
        world.external.execute(RegisterAccount("eu-central-1", "why", AUDIT))
    assert (reason(raised.value.failure), raised.value.failure.retry) == (
        "MaintenanceMode",
        Retry.NEVER,
    )


def test_a_region_that_fails_is_kept_and_the_others_are_read(world: World) -> None:
    world.throttle_region("eu-west-1")
    org = world.external.observe_org()
    observed = world.external.observe(org, REGIONS, scan=False)
    failed = observed.regions["eu-west-1"]
    assert isinstance(failed, RegionFailure) and reason(failed.failure) == "Throttled"
    assert isinstance(observed.regions["us-east-1"], RegionView)


def test_the_scan_keeps_a_denied_region_as_unreadable_and_never_calls_a_skipped_one(
    world: World,
) -> None:
    """Before disabling trusted access: every other Region is read, but those skipped on the
    spec's word; a denial is kept with its failure, never read as "no administrator"."""
    world.deny_region("eu-central-1")
    org = world.external.observe_org()
    observed = world.external.observe(org, ["us-east-1"], scan=True, skip={"ap-southeast-2"})
    assert observed.admins_elsewhere == {"eu-west-1": AUDIT}
    (unread,) = observed.unreadable_elsewhere
    assert (unread.region, reason(unread.failure)) == ("eu-central-1", "AccessDenied")
    called = world.audit_manager_regions_called()
    assert "ap-southeast-2" not in called and {"us-east-1", "eu-central-1"} <= called
