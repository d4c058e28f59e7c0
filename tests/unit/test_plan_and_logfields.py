"""The plan command's core (preview, exit status, report) with the in-memory AWS, and the
fields of the log lines: no process."""

from __future__ import annotations

from typing import Any

import pytest

from awsorg_operator import logfields
from awsorg_operator.actions import RegisterAdmin
from awsorg_operator.api import Condition, RegionStatus, Spec, Status
from awsorg_operator.cli import output
from awsorg_operator.cli.command import ReadOnly, preview
from awsorg_operator.external import Identity
from awsorg_operator.observed import AccountStatus, Organization, OrgView
from awsorg_operator.resource import Resource
from awsorg_operator.survey import Survey
from tests.fake_aws import AUDIT, DENIED, MGMT, WORKLOADS, FakeAws, FakeConnector, FakeRegion

pytestmark = pytest.mark.unit

REGIONS = ["us-east-1", "eu-west-1"]


def resource(**spec: Any) -> Resource:
    base = {"trustedAccess": "Enabled", "delegatedAdminAccountID": AUDIT, "regions": REGIONS}
    return Resource("org", "", 1, "", Spec.model_validate(base | spec), {}, Status())


def run(aws: FakeAws, **spec: Any) -> Survey:
    return preview(FakeConnector(aws), resource(**spec), "us-east-1")


def test_the_read_only_view_has_no_way_to_write() -> None:
    view = ReadOnly(FakeConnector(FakeAws()).connect(Identity()))
    assert hasattr(FakeConnector(FakeAws()).connect(Identity()), "execute")  # what it hides
    assert not hasattr(view, "execute")
    assert [n for n in dir(view) if not n.startswith("_")] == [
        "is_member",
        "observe",
        "observe_org",
        "will_ask_member",
    ]


@pytest.mark.parametrize(
    ("aws", "spec", "code"),
    [
        (FakeAws(), {}, output.IN_SYNC),
        (FakeAws(regions={r: FakeRegion() for r in REGIONS}), {}, output.CHANGES),
        (FakeAws(), {"delegatedAdminAccountID": WORKLOADS}, output.CHANGES),  # blocked
        (FakeAws(), {"managementPolicy": "Observe"}, output.IN_SYNC),
        (FakeAws(caller=AUDIT), {}, output.ERROR),  # NotManagementAccount
        (FakeAws().fail(DENIED, "DescribeOrganization"), {}, output.ERROR),
        (FakeAws().fail(DENIED, "GetAccountStatus", "eu-west-1"), {}, output.ERROR),
    ],
    ids=["in-sync", "drift", "blocked", "observe-in-sync", "stopped", "denied", "region-unread"],
)
def test_exit_status(aws: FakeAws, spec: dict[str, Any], code: int) -> None:
    p = run(aws, **spec)
    assert output.exit_code([p]) == code, output.to_text([p])
    assert aws.writes() == []


def test_drift_lists_the_actions_in_the_plans_order_and_writes_nothing() -> None:
    aws = FakeAws()
    aws.regions["eu-west-1"].admin = None
    p = run(aws)
    data = output.to_data([p])
    (res,) = data["resources"]
    assert [(a["operation"], a["region"]) for a in res["actions"]] == [
        ("RegisterOrganizationAdminAccount", "eu-west-1")
    ]
    assert data["exitCode"] == 2 and res["wouldApply"] and aws.writes() == []
    assert "1. RegisterOrganizationAdminAccount in eu-west-1 (account 111111111111)" in (
        output.to_text([p])
    )


def test_the_worst_resource_decides_the_exit_status() -> None:
    ok, differs = run(FakeAws()), run(FakeAws(), delegatedAdminAccountID=WORKLOADS)
    failed = run(FakeAws().fail(DENIED, "DescribeOrganization"))
    assert output.exit_code([ok, differs]) == 2
    assert output.exit_code([differs, failed, ok]) == 1


def cond(type_: str, status: str, reason: str, message: str = "m") -> Condition:
    return Condition.model_validate(
        {
            "type": type_,
            "status": status,
            "reason": reason,
            "message": message,
            "lastTransitionTime": "2026-11-30T12:00:00Z",
        }
    )


def status(*conditions: Condition) -> Status:
    regions = (
        RegionStatus(region="us-east-1"),
        RegionStatus(region="eu-west-1", message="GetAccountStatus: AccessDeniedException"),
    )
    return Status(
        organization_id="o-1",
        management_account_id=MGMT,
        regions=regions,
        conditions=conditions,
    )


@pytest.mark.parametrize(
    ("before", "after", "changed"),
    [
        ((), (cond("Ready", "True", "Reconciled"),), [("Ready", None)]),
        ((cond("Ready", "True", "Reconciled"),), (cond("Ready", "True", "Reconciled", "x"),), []),
        (
            (cond("Ready", "False", "Pending"), cond("Synced", "True", "Reconciled")),
            (cond("Ready", "False", "AccessDenied"), cond("Synced", "True", "Reconciled")),
            [("Ready", "Pending")],
        ),
        (
            (cond("Synced", "True", "Reconciled"),),
            (cond("Synced", "False", "Throttled"),),
            [("Synced", "Reconciled")],
        ),
    ],
    ids=["new", "message-only", "reason", "status"],
)
def test_a_condition_change_is_a_status_or_reason_that_moved(
    before: tuple[Condition, ...], after: tuple[Condition, ...], changed: list[Any]
) -> None:
    changes = logfields.condition_changes(status(*before), status(*after))
    assert [(c.type, c.previous_reason) for c in changes] == changed


def test_the_fields_name_the_resource_organization_account_and_regions() -> None:
    after = status(cond("Ready", "Unknown", "AccessDenied"))
    (change,) = logfields.condition_changes(status(), after)
    fields = logfields.condition_change("org", after, change)
    assert fields["resource"] == "org" and fields["organization"] == "o-1"
    assert fields["account"] == MGMT and fields["regions"] == ["eu-west-1"]
    org = OrgView(MGMT, Organization("o-1", MGMT, "ALL"))
    action = RegisterAdmin("eu-west-1", AUDIT, "why")
    aws = logfields.aws_change("org", org, action, None)
    assert (aws["region"], aws["operation"], aws["adminAccount"], aws["outcome"]) == (
        "eu-west-1",
        "RegisterOrganizationAdminAccount",
        AUDIT,
        "ok",
    )
    denied = logfields.aws_change("org", org, action, DENIED)
    assert (denied["outcome"], denied["reason"]) == ("AccessDeniedException", "AccessDenied")


def test_account_status_values_reach_the_report() -> None:
    aws = FakeAws()
    aws.regions["eu-west-1"].status = AccountStatus.PENDING_ACTIVATION
    (res,) = output.to_data([run(aws)])["resources"]
    assert {r["region"]: r["accountStatus"] for r in res["aws"]["regions"]} == {
        "us-east-1": "ACTIVE",
        "eu-west-1": "PENDING_ACTIVATION",
    }
    assert res["pending"] == ["eu-west-1"] and not res["inSync"]
