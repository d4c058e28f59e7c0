"""The reads of a reconcile go in one step (issue 19): the administrator's membership beside
AWS's state, and a Region's key and administrator beside its account status. The rule stays:
AccessDenied for an account that is not active is never read as "no administrator". Proved
with the emulator's timestamped call log, through the real client path."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from awsorg_emulator import EmulatorControl
from awsorg_emulator.schema import CallRecord
from awsorg_operator.aws.clients import ClientFactory
from awsorg_operator.aws.connector import AwsConnector
from awsorg_operator.external import Identity
from awsorg_operator.observed import AccountStatus, RegionFailure, RegionView
from awsorg_operator.settings import ClientSettings
from awsorg_operator.survey import survey
from tests.integration.conftest import REGIONS, Harness
from tests.integration.test_reconcile import adopt

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("aws_env")]


@pytest.fixture
def connector() -> Iterator[AwsConnector]:
    connector = AwsConnector(ClientFactory(ClientSettings("us-east-1", max_attempts=1)))
    try:
        yield connector
    finally:
        connector.close()


def overlap(a: CallRecord, b: CallRecord) -> bool:
    """Both were in flight at once: neither waited for the other's answer."""
    return a["started"] < b["ended"] and b["started"] < a["ended"]


def test_membership_and_region_reads_are_sent_together(
    org: Harness, control: EmulatorControl, connector: AwsConnector
) -> None:
    res = adopt(org).resource()
    # Held until all have arrived, the reads overlap in the call log if they were sent
    # together, however slowly a loaded machine sends them; one after another, they do not.
    reads = ("GetAccountStatus", "GetSettings", "GetOrganizationAdminAccount")
    control.add_rendezvous(
        [("organizations", "DescribeAccount", "us-east-1")]
        + [("auditmanager", read, region) for region in REGIONS for read in reads]
    )
    control.clear_calls()
    seen = survey(connector.connect(res.identity), res, res.desired("us-east-1"))
    assert seen.stop is None and seen.plan.converged, seen
    assert [r["status"] for r in control.rendezvous()] == ["met"]
    calls = {(c["operation"], c["region"]): c for c in control.calls()}
    described = calls[("DescribeAccount", "us-east-1")]
    for region in REGIONS:
        status = calls[("GetAccountStatus", region)]
        assert overlap(described, status)
        for detail in ("GetSettings", "GetOrganizationAdminAccount"):
            assert overlap(status, calls[(detail, region)]), (status, calls[(detail, region)])


def test_an_inactive_account_s_refused_reads_are_dropped_not_read_as_no_administrator(
    control: EmulatorControl, connector: AwsConnector
) -> None:
    (org,) = control.add_organizations(1, REGIONS, adopted=False)
    control.clear_calls()
    aws = connector.connect(Identity(org["roleARN"]))
    observed = aws.observe(aws.observe_org(), REGIONS, scan=False)
    for region in REGIONS:
        assert observed.regions[region] == RegionView(region, AccountStatus.INACTIVE), observed
    refused = {
        (c["operation"], c["outcome"]) for c in control.calls() if c["service"] == "auditmanager"
    }
    # They were sent (beside the status) and refused; their answers were not used.
    assert ("GetOrganizationAdminAccount", "AccessDeniedException") in refused, refused


def test_access_denied_for_an_active_account_stays_a_failure(
    org: Harness, control: EmulatorControl, connector: AwsConnector
) -> None:
    control.add_fault(
        "accessDenied",
        service="auditmanager",
        operation="GetOrganizationAdminAccount",
        region="eu-west-1",
    )
    res = adopt(org).resource()
    aws = connector.connect(res.identity)
    observed = aws.observe(aws.observe_org(), REGIONS, scan=False)
    failed = observed.regions["eu-west-1"]
    assert isinstance(failed, RegionFailure), failed
    assert failed.failure.code == "AccessDeniedException"
    assert isinstance(observed.regions["us-east-1"], RegionView)
