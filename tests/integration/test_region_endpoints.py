"""Audit Manager endpoints per Region, through the real path (issue 17, finding 5): each
Region's calls reach that Region's endpoint and no other. Two TCP proxies in front of the
emulator stand for two Regions' VPC endpoints; Organizations and STS go to the emulator itself
(AWS_ENDPOINT_URL), as they would to their own endpoints."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from awsorg_devstack.faultproxy import FaultProxy
from awsorg_emulator import EmulatorControl, EmulatorProcess
from awsorg_operator.aws.clients import ClientFactory
from awsorg_operator.aws.connector import AwsConnector
from awsorg_operator.reconciler import Reconciler
from awsorg_operator.settings import client_settings, parse
from tests.integration.conftest import AUDIT, REGIONS, Clock, Harness
from tests.integration.test_reconcile import adopt
from tests.memory_kube import MemoryJournal, MemoryLeases

pytestmark = pytest.mark.integration


@pytest.fixture
def endpoints(emulator: EmulatorProcess) -> Iterator[dict[str, FaultProxy]]:
    port = int(emulator.endpoint_url.rsplit(":", 1)[1].rstrip("/"))
    with FaultProxy("127.0.0.1", port) as east, FaultProxy("127.0.0.1", port) as west:
        yield {"us-east-1": east, "eu-west-1": west}


def harness(control: EmulatorControl, endpoints: dict[str, FaultProxy]) -> Harness:
    # The operator's own parsing, from the variable the chart sets.
    value = ",".join(f"{region}=http://127.0.0.1:{p.port}" for region, p in endpoints.items())
    env = {"AWSORG_AUDITMANAGER_ENDPOINTS": value, "AWSORG_AWS_MAX_ATTEMPTS": "1"}
    settings = parse([], env=env)
    reconciler = Reconciler(
        AwsConnector(ClientFactory(client_settings(settings))),
        MemoryLeases(),
        MemoryJournal(),
        default_region="us-east-1",
        now=Clock(),
    )
    return Harness(reconciler, control)


def test_each_regions_calls_reach_its_own_endpoint(
    aws_env: None, control: EmulatorControl, endpoints: dict[str, FaultProxy]
) -> None:
    org = harness(control, endpoints)
    adopt(org).reconcile()
    assert org.condition("Ready")[0:2] == ("True", "Reconciled"), org.condition("Ready")
    reached = {region: p.connections > 0 for region, p in endpoints.items()}
    assert reached == dict.fromkeys(REGIONS, True), reached
    # The emulator saw the calls of both Regions, each signed for its Region.
    regions = {c["region"] for c in control.calls() if c["service"] == "auditmanager"}
    assert regions == set(REGIONS), regions


def test_an_endpoint_that_is_gone_fails_its_region_only(
    aws_env: None, control: EmulatorControl, endpoints: dict[str, FaultProxy]
) -> None:
    org = harness(control, endpoints)
    endpoints["eu-west-1"].stop()  # eu-west-1's endpoint refuses connections from now on
    control.clear_calls()
    out = adopt(org).reconcile()
    by_region = {r.region: r for r in out.status.regions}
    assert by_region["us-east-1"].delegated_admin_account_id == AUDIT
    assert by_region["eu-west-1"].message, by_region["eu-west-1"]
    assert org.condition("Ready")[0] != "True"
    # Nothing of eu-west-1 reached AWS, through another endpoint or otherwise.
    called = {c["region"] for c in control.calls() if c["service"] == "auditmanager"}
    assert called == {"us-east-1"}, called
