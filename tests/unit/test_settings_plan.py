"""The plan of Audit Manager's settings in the administrator's account: only the fields that
differ, absent fields left alone, the topic compared by name, and the two changes that cannot be
undone held until an approval names them, for this account and this generation only."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from pydantic import ValidationError

from awsorg_operator.actions import UpdateAuditSettings, fields, key_of
from awsorg_operator.api import Spec
from awsorg_operator.auditsettings import AuditSettings, SettingsDesired
from awsorg_operator.aws.admin_settings import request
from awsorg_operator.failures import CallFailure, Kind
from awsorg_operator.observed import (
    AccountStatus,
    Observed,
    Organization,
    OrgView,
    RegionFailure,
    RegionView,
    SettingsView,
)
from awsorg_operator.plan import Desired
from awsorg_operator.reasons import Reason
from awsorg_operator.settingsplan import plan_all

pytestmark = pytest.mark.unit

MGMT, ADMIN = "123456789012", "111111111111"
ORG = OrgView(MGMT, Organization("o-abc", MGMT, "ALL"))
TOPIC = "arn:aws:sns:us-east-1:111111111111:audit-events"
ROLE = "arn:aws:iam::111111111111:role/auditor"
STORE = "arn:aws:cloudtrail:us-east-1:111111111111:eventdatastore/abc"

# As GetSettings answers in an account set up long ago: evidence finder on, nothing else set.
SEEN = SettingsView(
    "us-east-1",
    ADMIN,
    True,
    evidence_finder="ENABLED",
    backfill="COMPLETED",
    event_data_store=STORE,
)


def desired(generation: int = 3, approved: frozenset[str] = frozenset(), **want: Any) -> Desired:
    settings = AuditSettings.model_validate(want)
    wanted = SettingsDesired(ADMIN, {"us-east-1": settings}, approved, generation)
    return Desired(True, ADMIN, ("us-east-1",), settings=wanted)


def seen(view: SettingsView | RegionFailure | None = SEEN, admin: str | None = ADMIN) -> Observed:
    region = RegionView("us-east-1", AccountStatus.ACTIVE, admin, "DEFAULT")
    settings = {} if view is None else {"us-east-1": view}
    return Observed(ORG, True, frozenset({ADMIN}), {"us-east-1": region}, settings=settings)


@pytest.mark.parametrize(
    ("want", "changes"),
    [
        ({"snsTopic": TOPIC}, (("snsTopic", TOPIC),)),
        (
            {"defaultAssessmentReportsDestination": "s3://reports/audit"},
            (("defaultAssessmentReportsDestination", "s3://reports/audit"),),
        ),
        ({"defaultProcessOwners": [ROLE]}, (("defaultProcessOwners", ROLE),)),
        (
            {"kmsKey": "arn:aws:kms:us-east-1:111111111111:key/k"},
            (("kmsKey", "arn:aws:kms:us-east-1:111111111111:key/k"),),
        ),
        (
            {"defaultExportDestination": "s3://exports"},
            (("defaultExportDestination", "s3://exports"),),
        ),
        ({"deleteResources": "Default", "evidenceFinder": "Enabled"}, None),  # as AWS has it
        ({}, None),  # nothing declared: nothing touched
    ],
)
def test_only_the_fields_that_differ_are_sent(
    want: dict[str, Any], changes: tuple[tuple[str, str], ...] | None
) -> None:
    p = plan_all(desired(**want), seen())
    assert not p.blockers
    if changes is None:
        assert p.converged
    else:
        (action,) = p.actions
        assert action == UpdateAuditSettings("us-east-1", ADMIN, changes, action.why)


def test_the_topic_is_compared_by_name_as_get_settings_answers_it() -> None:
    named = replace(SEEN, sns_topic="audit-events")
    assert plan_all(desired(snsTopic=TOPIC), seen(named)).converged
    assert plan_all(desired(snsTopic="NONE"), seen(SEEN)).converged  # none set is NONE


def test_process_owners_are_a_set_and_s3_uris_ignore_the_schemes_case() -> None:
    other = "arn:aws:iam::111111111111:role/second"
    have = replace(SEEN, process_owners=(other, ROLE), reports_destination="S3://reports")
    want = desired(
        defaultProcessOwners=[ROLE, other], defaultAssessmentReportsDestination="s3://reports"
    )
    assert plan_all(want, seen(have)).converged


@pytest.mark.parametrize(
    ("want", "words", "loses"),
    [
        (
            {"evidenceFinder": "Disabled"},
            "evidenceFinder=Disabled",
            "CloudTrail Lake event data store",
        ),
        ({"deleteResources": "All"}, "deleteResources=All", "within 7 days"),
    ],
)
def test_an_irreversible_setting_waits_for_an_approval_bound_to_account_and_generation(
    want: dict[str, Any], words: str, loses: str
) -> None:
    approval = f"{ADMIN}:{words}@3"
    blocked = plan_all(desired(**want), seen())
    (blocker,) = blocked.blockers
    assert blocker.reason is Reason.IRREVERSIBLE_SETTING_BLOCKED
    assert (
        loses in blocker.message
        and f'awsorg.io/allow-irreversible-settings: "{approval}"' in blocker.message
    )
    assert not blocked.actions and len(blocker.would) == 1  # shown as what approval would do
    approved = plan_all(desired(approved=frozenset({approval}), **want), seen())
    assert approved.actions == blocker.would and not approved.blockers
    # Not carried over: another generation, or another account, needs its own approval.
    later = plan_all(desired(generation=4, approved=frozenset({approval}), **want), seen())
    assert later.blockers and not later.actions
    elsewhere = frozenset({approval.replace(ADMIN, "222222222222")})
    assert plan_all(desired(approved=elsewhere, **want), seen()).blockers


def test_a_reversible_change_is_not_held_up_by_an_irreversible_one() -> None:
    p = plan_all(desired(evidenceFinder="Disabled", snsTopic=TOPIC), seen())
    assert [a.changes for a in p.actions] == [(("snsTopic", TOPIC),)]  # type: ignore[union-attr]
    assert [b.reason for b in p.blockers] == [Reason.IRREVERSIBLE_SETTING_BLOCKED]


def test_back_to_the_reversible_value_needs_no_approval() -> None:
    have = replace(SEEN, delete_resources="ALL", evidence_finder="DISABLED")
    p = plan_all(desired(deleteResources="Default", evidenceFinder="Enabled"), seen(have))
    (action,) = p.actions
    assert action.changes == (  # type: ignore[union-attr]
        ("evidenceFinderEnabled", "true"),
        ("deregistrationPolicy", "DEFAULT"),
    )
    assert not p.blockers


def test_evidence_finder_on_its_way_is_waited_for() -> None:
    moving = replace(SEEN, evidence_finder="DISABLE_IN_PROGRESS")
    p = plan_all(desired(evidenceFinder="Disabled"), seen(moving))
    assert not p.actions and [b.reason for b in p.blockers] == [Reason.PENDING]


def test_settings_wait_for_the_administrator_and_name_a_role_in_the_wrong_account() -> None:
    waiting = plan_all(desired(snsTopic=TOPIC), seen(None, admin=None))
    assert any(b.reason is Reason.PENDING for b in waiting.blockers)  # registered first
    wrong = plan_all(
        replace(desired(snsTopic=TOPIC), admin_account_id=None), seen(None, "222222222222")
    )
    assert [b.reason for b in wrong.blockers] == [Reason.ADMIN_CREDENTIALS_MISMATCH]


def test_an_unreadable_region_plans_nothing_for_its_settings() -> None:
    failure = RegionFailure(
        "us-east-1", CallFailure("GetSettings", "AccessDeniedException", "no", Kind.DENIED)
    )
    assert plan_all(desired(snsTopic=TOPIC), seen(failure)).converged


def test_the_action_as_data_and_as_the_request() -> None:
    action = UpdateAuditSettings(
        "us-east-1",
        ADMIN,
        (
            ("evidenceFinderEnabled", "false"),
            ("deregistrationPolicy", "ALL"),
            ("defaultProcessOwners", ROLE),
            ("defaultExportDestination", "s3://x"),
        ),
        "why",
    )
    assert fields(action)["settings"] == (
        f"evidenceFinderEnabled=false; deregistrationPolicy=ALL; defaultProcessOwners={ROLE}; "
        "defaultExportDestination=s3://x"
    )
    assert key_of(action).endswith(fields(action)["settings"] or "")
    assert request(action.changes) == {
        "evidenceFinderEnabled": False,
        "deregistrationPolicy": {"deleteResources": "ALL"},
        "defaultProcessOwners": [{"roleType": "PROCESS_OWNER", "roleArn": ROLE}],
        "defaultExportDestination": {"destinationType": "S3", "destination": "s3://x"},
    }


def test_region_overrides_merge_field_by_field() -> None:
    spec = Spec.model_validate(
        {
            "trustedAccess": "Enabled",
            "regions": ["us-east-1", "eu-west-1"],
            "settings": {
                "evidenceFinder": "Enabled",
                "defaultExportDestination": "s3://all-exports",
            },
            "regionSettings": {"eu-west-1": {"defaultExportDestination": "s3://eu-exports"}},
            "adminCredentials": {"roleARN": "arn:aws:iam::111111111111:role/a", "externalID": "xx"},
        }
    )
    merged = spec.effective_settings("us-east-1")
    assert merged["eu-west-1"].default_export_destination == "s3://eu-exports"
    assert merged["eu-west-1"].evidence_finder == "Enabled"
    assert merged["us-east-1"].default_export_destination == "s3://all-exports"


ADMIN_CREDS = {"roleARN": "arn:aws:iam::111111111111:role/a", "externalID": "xx"}


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ({"settings": {"snsTopic": "NONE"}}, "require adminCredentials"),
        (
            {"adminCredentials": ADMIN_CREDS | {"roleARN": "arn:aws:iam::111111111111:user/a"}},
            "roleARN",
        ),
        ({"adminCredentials": {"roleARN": ADMIN_CREDS["roleARN"]}}, "externalID"),
        (
            {"delegatedAdminAccountID": "222222222222", "adminCredentials": ADMIN_CREDS},
            "delegated administrator's account",
        ),
        (
            {"adminCredentials": ADMIN_CREDS, "settings": {"defaultExportDestination": "bucket"}},
            "defaultExportDestination",
        ),
        (
            {
                "adminCredentials": ADMIN_CREDS,
                "regions": ["eu-west-1"],
                "settings": {"snsTopic": TOPIC},
            },
            "a snsTopic ARN works in its own Region only",
        ),
        (
            {
                "adminCredentials": ADMIN_CREDS,
                "regions": ["eu-west-1"],
                "regionSettings": {"eu-west-1": {"snsTopic": TOPIC}},
            },
            "is an ARN of another Region",
        ),
        (
            {
                "adminCredentials": ADMIN_CREDS,
                "regions": ["eu-west-1"],
                "regionSettings": {"us-east-1": {}},
            },
            "us-east-1 is not in regions",
        ),
        (
            {"adminCredentials": ADMIN_CREDS, "settings": {"evidenceFinder": "Off"}},
            "evidenceFinder",
        ),
    ],
)
def test_spec_refuses_malformed_settings(spec: dict[str, Any], error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        Spec.model_validate({"trustedAccess": "Enabled", **spec})
