"""Audit Manager's settings through the whole reconcile and report, against the in-memory AWS:
set, drift corrected under Manage and reported under Observe, the irreversible ones held until
approved, and status showing what AWS has, per Region."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from awsorg_operator.api import PlannedState
from awsorg_operator.auditsettings import ALLOW_IRREVERSIBLE_ANNOTATION
from awsorg_operator.external import Identity
from awsorg_operator.failures import CallFailure, Kind
from tests.fake_aws import AUDIT, WORKLOADS
from tests.unit.fake_settings import STORE, FakeSettings
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
    return Org(spec=wanted, settings=FakeSettings(AUDIT))


def admin(o: Org) -> FakeSettings:
    assert o.settings is not None
    return o.settings


def test_settings_are_set_in_the_administrators_account_then_ready() -> None:
    o = org(regionSettings={"us-east-1": {"snsTopic": TOPIC}})
    o.reconcile()
    assert o.cond("Ready") == ("True", "Reconciled"), o.status.conditions
    assert admin(o).identities[0] == Identity(ROLE, "ext-1234")
    by_region = {w.region: dict(w.changes) for w in admin(o).writes}
    assert by_region["us-east-1"]["snsTopic"] == TOPIC
    assert "snsTopic" not in by_region["eu-west-1"]  # the override is us-east-1's only
    assert by_region["eu-west-1"]["defaultProcessOwners"] == OWNER
    assert "evidenceFinderEnabled" not in by_region["eu-west-1"]  # already as wanted
    assert o.aws.writes() == []  # nothing through the management account
    (east,) = [r for r in o.status.regions if r.region == "us-east-1"]
    assert east.settings is not None and east.settings.sns_topic == "audit"
    assert east.settings.account_id == AUDIT and east.settings.is_aws_org_enabled
    assert east.settings.evidence_finder is not None
    assert east.settings.evidence_finder.event_data_store_arn == STORE
    assert east.settings.evidence_finder.backfill_status == "COMPLETED"
    o.reconcile()  # in sync: no write
    assert len(admin(o).writes) == 2


def test_an_absent_field_is_left_alone() -> None:
    o = org(settings={"defaultExportDestination": "s3://audit-exports"})
    admin(o).views["us-east-1"] = replace(admin(o).region("us-east-1"), sns_topic="someone-elses")
    o.reconcile()
    assert all(
        w.changes == (("defaultExportDestination", "s3://audit-exports"),) for w in admin(o).writes
    )
    assert admin(o).views["us-east-1"].sns_topic == "someone-elses"


def test_drift_is_corrected_under_manage() -> None:
    o = org()
    o.reconcile()
    admin(o).views["eu-west-1"] = replace(admin(o).views["eu-west-1"], export_destination=None)
    out = o.reconcile()
    assert o.cond("Ready") == ("True", "Reconciled")
    assert any(
        e.reason == "Drifted" and "defaultExportDestination" in e.message for e in out.events
    )
    assert admin(o).writes[-1].changes == (("defaultExportDestination", "s3://audit-exports"),)


def test_drift_is_reported_under_observe_and_nothing_is_written() -> None:
    o = org(managementPolicy="Observe")
    o.reconcile()
    assert o.cond("Ready") == ("False", "Drifted")
    c = o.status.condition("Ready")
    assert c is not None and "defaultProcessOwners" in c.message
    assert admin(o).writes == []
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
    assert admin(o).writes == []
    (waiting,) = o.status.planned_actions
    assert waiting.state is PlannedState.AWAITING_APPROVAL and waiting.account_id == AUDIT
    # An approval for another generation (the spec changed since) approves nothing.
    o.annotations[ALLOW_IRREVERSIBLE_ANNOTATION] = f"{AUDIT}:{approval}@0"
    o.reconcile()
    assert admin(o).writes == []
    o.annotations[ALLOW_IRREVERSIBLE_ANNOTATION] = f"{AUDIT}:{approval}@{o.generation}"
    o.reconcile()
    assert len(admin(o).writes) == 1
    assert o.cond("Ready") == ("True", "Reconciled"), o.status.conditions


def test_a_read_that_fails_in_the_administrators_account_is_reported() -> None:
    o = org()
    denied = CallFailure("GetSettings", "AccessDeniedException", "not authorized", Kind.DENIED)
    admin(o).failures["eu-west-1"] = denied
    o.reconcile()
    assert o.cond("Synced") == ("False", "AccessDenied")
    assert [w.region for w in admin(o).writes] == ["us-east-1"]  # the other Region goes on


def test_a_role_outside_the_administrators_account_changes_nothing() -> None:
    creds = {"roleARN": f"arn:aws:iam::{WORKLOADS}:role/x", "externalID": "ext-1234"}
    spec = {k: v for k, v in ADOPT.items() if k != "delegatedAdminAccountID"}
    o = Org(
        spec={**spec, "adminCredentials": creds, "settings": SETTINGS},
        settings=FakeSettings(WORKLOADS),
    )
    o.reconcile()
    assert o.cond("Ready") == ("False", "AdminCredentialsMismatch")
    assert admin(o).writes == []
