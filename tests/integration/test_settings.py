"""Audit Manager's settings over HTTP against the emulator, for every field: set, drift
corrected under Manage, drift reported under Observe, and the approval the two irreversible
ones wait for; and what `awsorg-operator plan` shows of them. The operator reaches the
administrator's account by assuming spec.adminCredentials' role from its own identity (the
management account's), as it runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from awsorg_emulator import EmulatorControl, EmulatorProcess
from awsorg_emulator.schema import CallRecord
from awsorg_operator.actions import UpdateAuditSettings
from awsorg_operator.auditsettings import ALLOW_IRREVERSIBLE_ANNOTATION
from awsorg_operator.aws.clients import ClientFactory
from awsorg_operator.aws.connector import AwsConnector
from awsorg_operator.external import Identity
from awsorg_operator.observed import SettingsView
from awsorg_operator.settings import ClientSettings
from tests.integration.conftest import ADMIN_EXTERNAL_ID, AUDIT, Harness
from tests.integration.test_plan_command import manifest, parsed, run_plan

pytestmark = pytest.mark.integration

REGION = "us-east-1"
TOPIC = f"arn:aws:sns:{REGION}:{AUDIT}:audit-events"
OWNER = f"arn:aws:iam::{AUDIT}:role/auditor"
KEY = f"arn:aws:kms:{REGION}:{AUDIT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"

# Each field: the value the spec sets, and how someone changes it outside Kubernetes
# (UpdateSettings' own parameters, sent as the administrator).
FIELDS: list[tuple[str, Any, dict[str, Any]]] = [
    ("snsTopic", TOPIC, {"snsTopic": f"arn:aws:sns:{REGION}:{AUDIT}:other"}),
    (
        "defaultAssessmentReportsDestination",
        "s3://audit-reports/org",
        {
            "defaultAssessmentReportsDestination": {
                "destinationType": "S3",
                "destination": "s3://elsewhere",
            }
        },
    ),
    (
        "defaultProcessOwners",
        [OWNER],
        {"defaultProcessOwners": [{"roleType": "PROCESS_OWNER", "roleArn": f"{OWNER}-2"}]},
    ),
    ("kmsKey", KEY, {"kmsKey": "DEFAULT"}),
    ("deleteResources", "Default", {"deregistrationPolicy": {"deleteResources": "ALL"}}),
    (
        "defaultExportDestination",
        "s3://audit-exports",
        {"defaultExportDestination": {"destinationType": "S3", "destination": "s3://elsewhere"}},
    ),
]
IDS = [f[0] for f in FIELDS]


def as_admin(endpoint: str, service: str) -> Any:
    """Someone working in the administrator's account, outside Kubernetes."""
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=endpoint,  # type: ignore[call-overload]
        aws_access_key_id=AUDIT,
        aws_secret_access_key="x",
    )


def spec(role: str, **extra: Any) -> dict[str, Any]:
    return {
        "trustedAccess": "Enabled",
        "delegatedAdminAccountID": AUDIT,
        "regions": [REGION],
        "adminCredentials": {"roleARN": role, "externalID": ADMIN_EXTERNAL_ID},
        **extra,
    }


def stored(control: EmulatorControl) -> dict[str, Any]:
    """The administrator's settings as the emulator holds them."""
    return control.state()["auditManager"][REGION]["settings"].get(AUDIT, {})


def updates(control: EmulatorControl) -> list[CallRecord]:
    return [c for c in control.calls() if c["operation"] == "UpdateSettings"]


def ready(org: Harness) -> tuple[str, str]:
    return org.condition("Ready")[0:2]


@pytest.mark.parametrize(("field", "value", "outside"), FIELDS, ids=IDS)
def test_a_setting_is_set_then_its_drift_corrected(
    org: Harness,
    control: EmulatorControl,
    emulator: EmulatorProcess,
    admin_role: str,
    field: str,
    value: Any,
    outside: dict[str, Any],
) -> None:
    org.apply(**spec(admin_role, settings={field: value})).reconcile()
    assert ready(org) == ("True", "Reconciled"), org.condition("Ready")
    first = stored(control)
    as_admin(emulator.endpoint_url, "auditmanager").update_settings(**outside)
    assert stored(control) != first
    control.clear_calls()
    out = org.reconcile()
    assert ready(org) == ("True", "Reconciled"), org.condition("Ready")
    assert any(e.reason == "Drifted" for e in out.events), out.events
    assert [c["account"] for c in updates(control)] == [AUDIT]
    assert stored(control) == first
    control.clear_calls()
    org.reconcile()
    assert updates(control) == []  # in sync: reads only


@pytest.mark.parametrize(("field", "value", "outside"), FIELDS, ids=IDS)
def test_drift_is_reported_under_observe_and_nothing_is_written(
    org: Harness,
    control: EmulatorControl,
    emulator: EmulatorProcess,
    admin_role: str,
    field: str,
    value: Any,
    outside: dict[str, Any],
) -> None:
    org.apply(**spec(admin_role, settings={field: value})).reconcile()
    as_admin(emulator.endpoint_url, "auditmanager").update_settings(**outside)
    control.clear_calls()
    org.apply(**spec(admin_role, settings={field: value}, managementPolicy="Observe"))
    org.reconcile()
    assert ready(org) == ("False", "Drifted"), org.condition("Ready")
    assert f"{field} is " in org.condition("Ready")[2]
    assert updates(control) == []


def test_evidence_finder_turned_off_outside_cannot_be_turned_on_again(
    org: Harness, control: EmulatorControl, emulator: EmulatorProcess, admin_role: str
) -> None:
    """Evidence finder Enabled in the spec: the seed has it on, so nothing to do; turned off
    outside, AWS refuses to turn it on again (CloudTrail Lake is closed), and the refusal is
    held, not sent at every re-check."""
    org.apply(**spec(admin_role, settings={"evidenceFinder": "Enabled"})).reconcile()
    assert ready(org) == ("True", "Reconciled"), org.condition("Ready")
    as_admin(emulator.endpoint_url, "auditmanager").update_settings(evidenceFinderEnabled=False)
    control.settle_evidence_finder()
    org.reconcile()
    assert ready(org) == ("False", "ValidationFailed"), org.condition("Ready")
    control.clear_calls()
    org.reconcile()
    assert updates(control) == []


@pytest.mark.parametrize(
    ("field", "approval", "after"),
    [
        ({"evidenceFinder": "Disabled"}, "evidenceFinder=Disabled", "DISABLE"),
        ({"deleteResources": "All"}, "deleteResources=All", "ALL"),
    ],
)
def test_an_irreversible_setting_waits_for_an_approval_that_names_it(
    org: Harness,
    control: EmulatorControl,
    admin_role: str,
    field: dict[str, str],
    approval: str,
    after: str,
) -> None:
    org.apply(**spec(admin_role, settings=field)).reconcile()
    assert ready(org) == ("False", "IrreversibleSettingBlocked"), org.condition("Ready")
    assert updates(control) == []
    waiting = org.status.planned_actions
    assert [(p.state.value, p.account_id) for p in waiting] == [("AwaitingApproval", AUDIT)]
    # "true", or an approval of an earlier generation, approves nothing.
    for wrong in ("true", f"{AUDIT}:{approval}@{org.generation - 1}"):
        org.annotations[ALLOW_IRREVERSIBLE_ANNOTATION] = wrong
        org.reconcile()
        assert updates(control) == [], wrong
    org.annotations[ALLOW_IRREVERSIBLE_ANNOTATION] = f"{AUDIT}:{approval}@{org.generation}"
    org.reconcile()
    assert len(updates(control)) == 1
    control.settle_evidence_finder()
    org.reconcile()
    assert ready(org) == ("True", "Reconciled"), org.condition("Ready")
    assert after in json.dumps(stored(control))


def test_status_shows_the_settings_aws_has(
    org: Harness, control: EmulatorControl, admin_role: str
) -> None:
    org.apply(**spec(admin_role, settings={"snsTopic": TOPIC})).reconcile()
    (region,) = org.status.regions
    assert region.settings is not None
    assert region.settings.account_id == AUDIT
    assert region.settings.sns_topic == "audit-events"  # GetSettings answers the name
    assert region.settings.is_aws_org_enabled is True
    finder = region.settings.evidence_finder
    assert finder is not None and finder.enablement_status == "ENABLED"
    assert finder.backfill_status and finder.event_data_store_arn
    assumed = [c for c in control.calls() if c["operation"] == "AssumeRole"]
    assert assumed and all(c["account"] != AUDIT for c in assumed)  # from the operator's own


def test_the_plan_command_shows_the_settings_and_what_it_would_send(
    tmp_path: Path, emulator: EmulatorProcess, control: EmulatorControl, admin_role: str
) -> None:
    resource = manifest(
        regions=[REGION],
        adminCredentials={"roleARN": admin_role, "externalID": ADMIN_EXTERNAL_ID},
        settings={"snsTopic": TOPIC, "evidenceFinder": "Disabled"},
    )
    control.clear_calls()
    done = run_plan(tmp_path, emulator.endpoint_url, resource)
    out = parsed(done)
    assert done.returncode == 2, done
    (r,) = out["resources"]
    (action,) = r["actions"]
    assert action["operation"] == "UpdateSettings" and action["accountID"] == AUDIT
    assert action["settings"] == f"snsTopic={TOPIC}"
    (blocked,) = r["blocked"]
    assert blocked["reason"] == "IrreversibleSettingBlocked"
    assert blocked["actions"][0]["settings"] == "evidenceFinderEnabled=false"
    (region,) = r["aws"]["regions"]
    assert region["settings"]["evidenceFinder"]["enablementStatus"] == "ENABLED"
    assert updates(control) == []
    text = run_plan(tmp_path, emulator.endpoint_url, resource, output="text").stdout
    assert f"UpdateSettings in {REGION} (account {AUDIT}, snsTopic={TOPIC})" in text
    assert "approving would:" in text and "evidenceFinderEnabled=false" in text
    assert f"settings of {AUDIT}: evidence finder ENABLED" in text


ADMIN_POLICY = Path(__file__).parents[2] / "docs" / "iam" / "admin-settings-policy.json"


def test_the_documented_admin_policy_allows_every_settings_call_and_nothing_more(
    emulator: EmulatorProcess,
    control: EmulatorControl,
    aws_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """IAM enforced: a principal of the administrator's account that holds only
    admin-settings-policy.json reads and writes every setting through the operator's own
    calls, and is refused a call the policy does not name."""
    iam = as_admin(emulator.endpoint_url, "iam")
    iam.create_user(UserName="awsorg-operator-admin")
    iam.put_user_policy(
        UserName="awsorg-operator-admin",
        PolicyName="settings",
        PolicyDocument=ADMIN_POLICY.read_text(),
    )
    key = iam.create_access_key(UserName="awsorg-operator-admin")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    changes = (
        ("snsTopic", TOPIC),
        ("defaultAssessmentReportsDestination", "s3://audit-reports"),
        ("defaultProcessOwners", OWNER),
        ("kmsKey", KEY),
        ("deregistrationPolicy", "DEFAULT"),
        ("defaultExportDestination", "s3://audit-exports"),
    )
    connector = AwsConnector(ClientFactory(ClientSettings(default_region=REGION, max_attempts=1)))
    control.configure(enforce_iam=True)
    try:
        account = connector.connect_settings(Identity())
        account.update_settings(UpdateAuditSettings(REGION, AUDIT, changes, "why"))
        (view,) = account.read_settings([REGION]).values()
        assert isinstance(view, SettingsView), view
        assert view.sns_topic == "audit-events" and view.kms_key == KEY
        # An Audit Manager call the policy does not name, with the same key: refused.
        am = boto3.client(
            "auditmanager",
            region_name=REGION,
            endpoint_url=emulator.endpoint_url,
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
        )
        with pytest.raises(am.exceptions.AccessDeniedException):
            am.get_account_status()
    finally:
        control.configure(enforce_iam=False)
        connector.close()
