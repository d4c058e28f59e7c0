"""Audit Manager's settings through the whole reconcile and report, against the in-memory AWS:
set, drift corrected under Manage and reported under Observe, the irreversible ones held until
approved, and status showing what AWS has, per Region."""

from __future__ import annotations

from typing import Any

import pytest

from awsorg_operator.api import PlannedState
from awsorg_operator.auditsettings import ALLOW_IRREVERSIBLE_ANNOTATION
from awsorg_operator.external import Identity
from tests.fake_aws import AUDIT, MGMT, WORKLOADS
from tests.unit.test_reconciler import ADOPT, Org

pytestmark = pytest.mark.unit

ROLE = f"arn:aws:iam::{AUDIT}:role/awsorg-operator-admin"
CREDS = {"roleARN": ROLE, "externalID": "ext-1234"}
TOPIC = f"arn:aws:sns:us-east-1:{AUDIT}:audit"
OWNER = f"arn:aws:iam::{AUDIT}:role/auditor"
SETTINGS = {
    "defaultAssessmentReportsDestination": "s3://audit-reports/org",
    "defaultProcessOwners": [OWNER],
    "defaultExportDestination": "s3://audit-exports",
    "deleteResources": "Default",
    "evidenceFinder": "Enabled",
}


def org(**spec: Any) -> Org:
    wanted = {**ADOPT, "adminCredentials": CREDS, "settings": SETTINGS, **spec}
    return Org(spec=wanted, settings=True)


def stored(o: Org, region: str, account: str = AUDIT) -> dict[str, Any]:
    """The administrator's settings as the in-memory AWS holds them (snsTopic as its ARN)."""
    return o.aws.settings.of(account, region).stored_view()


def updates(o: Org) -> list[str]:
    return [str(region) for op, region in o.aws.calls if op == "UpdateSettings"]


def test_settings_are_set_in_the_administrators_account_then_ready() -> None:
    o = org(regionSettings={"us-east-1": {"snsTopic": TOPIC}})
    o.reconcile()
    assert o.cond("Ready") == ("True", "Reconciled"), o.status.conditions
    assert o.admin_identities[0] == Identity(ROLE, "ext-1234")
    east, west = stored(o, "us-east-1"), stored(o, "eu-west-1")
    assert east["snsTopic"] == TOPIC and "snsTopic" not in west  # us-east-1's override only
    assert west["defaultProcessOwners"] == [{"roleType": "PROCESS_OWNER", "roleArn": OWNER}]
    assert west["defaultExportDestination"]["destination"] == "s3://audit-exports"
    assert stored(o, "us-east-1", MGMT).get("snsTopic") is None  # not the management account's
    assert sorted(updates(o)) == ["eu-west-1", "us-east-1"]
    (shown,) = [r for r in o.status.regions if r.region == "us-east-1"]
    assert shown.settings is not None and shown.settings.sns_topic == "audit"
    assert shown.settings.account_id == AUDIT and shown.settings.is_aws_org_enabled
    finder = shown.settings.evidence_finder
    assert finder is not None and finder.enablement_status == "ENABLED"
    assert finder.event_data_store_arn and finder.backfill_status == "COMPLETED"
    o.reconcile()  # in sync: no write
    assert len(updates(o)) == 2


def test_an_absent_field_is_left_alone() -> None:
    o = org(settings={"defaultExportDestination": "s3://audit-exports"})
    o.aws.settings.of(AUDIT, "us-east-1").values["snsTopic"] = "arn:aws:sns:us-east-1:1:theirs"
    o.reconcile()
    assert stored(o, "us-east-1")["snsTopic"] == "arn:aws:sns:us-east-1:1:theirs"
    assert o.cond("Ready") == ("True", "Reconciled")


def test_drift_is_corrected_under_manage() -> None:
    o = org()
    o.reconcile()
    del o.aws.settings.of(AUDIT, "eu-west-1").values["defaultExportDestination"]
    out = o.reconcile()
    assert o.cond("Ready") == ("True", "Reconciled")
    assert any(
        e.reason == "Drifted" and "defaultExportDestination" in e.message for e in out.events
    )
    assert stored(o, "eu-west-1")["defaultExportDestination"]["destination"] == "s3://audit-exports"


def test_drift_is_reported_under_observe_and_nothing_is_written() -> None:
    o = org(managementPolicy="Observe")
    o.reconcile()
    assert o.cond("Ready") == ("False", "Drifted")
    c = o.status.condition("Ready")
    assert c is not None and "defaultProcessOwners" in c.message
    assert updates(o) == []
    assert {p.state for p in o.status.planned_actions} == {PlannedState.NOT_APPLIED}
    assert any(
        p.settings and "defaultExportDestination=s3://audit-exports" in p.settings
        for p in o.status.planned_actions
    )


@pytest.mark.parametrize(
    ("field", "approval", "loses"),
    [
        ({"evidenceFinder": "Disabled"}, "evidenceFinder=Disabled", "CloudTrail Lake"),
        ({"deleteResources": "All"}, "deleteResources=All", "within 7 days"),
    ],
)
def test_an_irreversible_setting_waits_for_its_own_approval(
    field: dict[str, str], approval: str, loses: str
) -> None:
    o = org(settings=field, regions=["us-east-1"])
    o.reconcile()
    assert o.cond("Ready") == ("False", "IrreversibleSettingBlocked")
    c = o.status.condition("Ready")
    assert c is not None and loses in c.message
    assert updates(o) == []
    (waiting,) = o.status.planned_actions
    assert waiting.state is PlannedState.AWAITING_APPROVAL and waiting.account_id == AUDIT
    # An approval for another generation (the spec changed since) approves nothing.
    o.annotations[ALLOW_IRREVERSIBLE_ANNOTATION] = f"{AUDIT}:{approval}@0"
    o.reconcile()
    assert updates(o) == []
    o.annotations[ALLOW_IRREVERSIBLE_ANNOTATION] = f"{AUDIT}:{approval}@{o.generation}"
    o.reconcile()
    assert updates(o) == ["us-east-1"]
    assert o.cond("Ready") == ("True", "Reconciled"), o.status.conditions


def test_a_read_that_fails_in_the_administrators_account_is_reported() -> None:
    o = org()
    # AWS refuses the administrator's read there (as for an account it does not count as
    # registered): the Region's failure is reported, the other Region goes on.
    o.aws.regions["eu-west-1"].active.discard(AUDIT)
    o.reconcile()
    assert o.cond("Synced") == ("False", "AccessDenied")
    assert updates(o) == ["us-east-1"]  # the other Region goes on


def test_a_role_outside_the_administrators_account_changes_nothing() -> None:
    creds = {"roleARN": f"arn:aws:iam::{WORKLOADS}:role/x", "externalID": "ext-1234"}
    spec = {k: v for k, v in ADOPT.items() if k != "delegatedAdminAccountID"}
    o = Org(spec={**spec, "adminCredentials": creds, "settings": SETTINGS}, settings=True)
    o.reconcile()
    assert o.cond("Ready") == ("False", "AdminCredentialsMismatch")
    assert updates(o) == []


def test_while_evidence_finder_moves_the_resource_is_not_ready() -> None:
    """AWS takes a while to delete the event data store: Pending until it shows DISABLED, not
    Ready=True on the strength of a write AWS has not finished."""
    o = org(settings={"evidenceFinder": "Disabled"}, regions=["us-east-1"])
    o.aws.settings.evidence_finder_seconds = None  # a step ends on settle()
    o.annotations[ALLOW_IRREVERSIBLE_ANNOTATION] = f"{AUDIT}:evidenceFinder=Disabled@{o.generation}"
    o.reconcile()
    assert updates(o) == ["us-east-1"]
    assert o.cond("Ready") == ("False", "Pending"), o.status.conditions
    o.aws.settings.settle()
    o.reconcile()
    assert o.cond("Ready") == ("True", "Reconciled"), o.status.conditions
    assert updates(o) == ["us-east-1"]
