"""Audit Manager's settings over HTTP: held per account and Region, UpdateSettings' validation as
botocore's model states it, GetSettings' shapes, evidence finder's states over time."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from awsorg_devbase.polling import wait_for
from awsorg_emulator import AUDIT_ACCOUNT_ID, MANAGEMENT_ACCOUNT_ID, EmulatorControl
from tests.emulator.emulator_helpers import ClientFactory, aws_error

pytestmark = pytest.mark.integration

TOPIC = f"arn:aws:sns:us-east-1:{AUDIT_ACCOUNT_ID}:audit-manager-notices"
REPORTS = {"destinationType": "S3", "destination": "s3://audit-reports/assessments"}
EXPORTS = {"destinationType": "S3", "destination": "s3://audit-exports"}
OWNER = {"roleType": "PROCESS_OWNER", "roleArn": f"arn:aws:iam::{AUDIT_ACCOUNT_ID}:role/Auditor"}
STORE = (
    f"arn:aws:cloudtrail:us-east-1:{AUDIT_ACCOUNT_ID}"
    f":eventdatastore/auditmanager-{AUDIT_ACCOUNT_ID}"
)


def admin_am(aws: ClientFactory, region: str = "us-east-1") -> Any:
    return aws("auditmanager", account=AUDIT_ACCOUNT_ID, region=region)


def test_every_setting_round_trips_for_the_calling_account_only(aws: ClientFactory) -> None:
    am = admin_am(aws)

    am.update_settings(
        snsTopic=TOPIC,
        defaultAssessmentReportsDestination=REPORTS,
        defaultProcessOwners=[OWNER],
        deregistrationPolicy={"deleteResources": "ALL"},
        defaultExportDestination=EXPORTS,
    )

    settings = am.get_settings(attribute="ALL")["settings"]
    assert settings == {
        "isAwsOrgEnabled": True,
        "snsTopic": "audit-manager-notices",  # AWS answers a name-like value, not the ARN
        "defaultAssessmentReportsDestination": REPORTS,
        "defaultProcessOwners": [OWNER],
        "kmsKey": "DEFAULT",
        "evidenceFinderEnablement": {
            "enablementStatus": "ENABLED",
            "backfillStatus": "COMPLETED",
            "eventDataStoreArn": STORE,
        },
        "deregistrationPolicy": {"deleteResources": "ALL"},
        "defaultExportDestination": EXPORTS,
    }
    # The management account's settings in the same Region, and the admin's elsewhere, stay.
    management = aws("auditmanager").get_settings(attribute="ALL")["settings"]
    assert "snsTopic" not in management and management["defaultProcessOwners"] == []
    other_region = admin_am(aws, "eu-west-1").get_settings(attribute="DEREGISTRATION_POLICY")
    assert other_region["settings"] == {"deregistrationPolicy": {"deleteResources": "DEFAULT"}}


@pytest.mark.parametrize(
    ("attribute", "expected"),
    [
        ("IS_AWS_ORG_ENABLED", {"isAwsOrgEnabled": True}),
        ("SNS_TOPIC", {"snsTopic": "audit-manager-notices"}),
        (
            "DEFAULT_ASSESSMENT_REPORTS_DESTINATION",
            {"defaultAssessmentReportsDestination": REPORTS},
        ),
        ("DEFAULT_PROCESS_OWNERS", {"defaultProcessOwners": [OWNER]}),
        ("DEREGISTRATION_POLICY", {"deregistrationPolicy": {"deleteResources": "DEFAULT"}}),
        ("DEFAULT_EXPORT_DESTINATION", {}),  # never set: no member at all
        (
            "EVIDENCE_FINDER_ENABLEMENT",
            {
                "evidenceFinderEnablement": {
                    "enablementStatus": "ENABLED",
                    "backfillStatus": "COMPLETED",
                    "eventDataStoreArn": STORE,
                }
            },
        ),
    ],
)
def test_a_single_attribute_answers_only_its_member(
    aws: ClientFactory, attribute: str, expected: dict[str, Any]
) -> None:
    am = admin_am(aws)
    am.update_settings(snsTopic=TOPIC, defaultAssessmentReportsDestination=REPORTS)
    am.update_settings(defaultProcessOwners=[OWNER])  # an absent member is left alone

    assert am.get_settings(attribute=attribute)["settings"] == expected


def test_sns_topic_none_clears_it(aws: ClientFactory) -> None:
    am = admin_am(aws)
    am.update_settings(snsTopic=TOPIC)

    answer = am.update_settings(snsTopic="NONE")["settings"]

    assert "snsTopic" not in answer
    assert am.get_settings(attribute="SNS_TOPIC")["settings"] == {}


BAD_UPDATES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("topic not an ARN", {"snsTopic": "audit-topic"}, ["snsTopic"]),
    (
        "topic of another Region",
        {"snsTopic": TOPIC.replace("us-east-1", "eu-west-1")},
        ["snsTopic"],
    ),
    (
        "reports not in S3",
        {
            "defaultAssessmentReportsDestination": {
                "destinationType": "S3",
                "destination": "https://x",
            }
        },
        ["defaultAssessmentReportsDestination.destination"],
    ),
    (
        "export destination without its URI",
        {"defaultExportDestination": {"destinationType": "S3"}},
        ["defaultExportDestination.destination"],
    ),
    (
        "a resource owner as process owner",
        {"defaultProcessOwners": [{**OWNER, "roleType": "RESOURCE_OWNER"}]},
        ["defaultProcessOwners.1.member.roleType"],
    ),
    (
        "an owner that is no IAM ARN",
        {"defaultProcessOwners": [OWNER, {**OWNER, "roleArn": "arn:aws:sts::111111111111:x/y"}]},
        ["defaultProcessOwners.2.member.roleArn"],
    ),
    ("a KMS alias", {"kmsKey": "alias/audit-manager"}, ["kmsKey"]),
    (
        "two problems at once",
        {"kmsKey": "alias/x", "snsTopic": "topic"},
        ["snsTopic", "kmsKey"],
    ),
]


@pytest.mark.parametrize(
    ("params", "fields"), [c[1:] for c in BAD_UPDATES], ids=[c[0] for c in BAD_UPDATES]
)
def test_a_malformed_update_names_its_fields_and_changes_nothing(
    aws: ClientFactory, control: EmulatorControl, params: dict[str, Any], fields: list[str]
) -> None:
    am = admin_am(aws)
    before = control.state()["auditManager"]

    failure = aws_error(
        lambda: am.update_settings(deregistrationPolicy={"deleteResources": "ALL"}, **params)
    )

    assert (failure.code, failure.status) == ("ValidationException", 400)
    assert failure.response["reason"] == "fieldValidationFailed"
    assert [f["name"] for f in failure.response["fields"]] == fields
    assert control.state()["auditManager"] == before


def test_unknown_deletion_policy_is_refused_by_the_service(aws: ClientFactory) -> None:
    """botocore checks enums on neither side; the service does."""
    am = admin_am(aws)

    failure = aws_error(
        lambda: am.update_settings(deregistrationPolicy={"deleteResources": "SOME"})
    )

    assert [f["name"] for f in failure.response["fields"]] == [
        "deregistrationPolicy.deleteResources"
    ]


def test_evidence_finder_disables_over_time_and_never_comes_back(
    aws: ClientFactory, control: EmulatorControl
) -> None:
    control.configure(evidence_finder_seconds=None)  # steps finish only when settled
    am = admin_am(aws)

    answer = am.update_settings(evidenceFinderEnabled=False)["settings"]
    during = am.get_settings(attribute="EVIDENCE_FINDER_ENABLEMENT")["settings"]
    refused_during = aws_error(lambda: am.update_settings(evidenceFinderEnabled=True))
    control.settle_evidence_finder()
    after = am.get_settings(attribute="EVIDENCE_FINDER_ENABLEMENT")["settings"]
    refused_after = aws_error(lambda: am.update_settings(evidenceFinderEnabled=True))

    assert answer["evidenceFinderEnablement"]["enablementStatus"] == "DISABLE_IN_PROGRESS"
    assert during["evidenceFinderEnablement"]["enablementStatus"] == "DISABLE_IN_PROGRESS"
    assert after == {"evidenceFinderEnablement": {"enablementStatus": "DISABLED"}}
    for refused in (refused_during, refused_after):
        assert refused.code == "ValidationException"
        assert "can't be enabled again" in refused.message
    assert am.update_settings(evidenceFinderEnabled=False)  # already off: nothing to do
    assert control.state()["auditManager"]["us-east-1"]["orphanedEventDataStores"] == []


def test_evidence_finder_enables_then_backfills_step_by_step(
    aws: ClientFactory, control: EmulatorControl
) -> None:
    control.configure(evidence_finder_seconds=None, cloudtrail_lake_open=True)
    am = aws("auditmanager")  # the management account never had it
    seen = []

    am.update_settings(evidenceFinderEnabled=True)
    for _ in range(3):
        seen.append(am.get_settings(attribute="EVIDENCE_FINDER_ENABLEMENT")["settings"])
        control.settle_evidence_finder()

    statuses = [
        (
            s["evidenceFinderEnablement"]["enablementStatus"],
            s["evidenceFinderEnablement"]["backfillStatus"],
        )
        for s in seen
    ]
    assert statuses == [
        ("ENABLE_IN_PROGRESS", "NOT_STARTED"),
        ("ENABLED", "COMPLETED"),  # one settle finishes every step in progress
        ("ENABLED", "COMPLETED"),
    ]


def test_evidence_finder_steps_take_the_configured_time(
    aws: ClientFactory, control: EmulatorControl
) -> None:
    control.configure(evidence_finder_seconds=0.5)
    am = admin_am(aws)

    answer = am.update_settings(evidenceFinderEnabled=False)["settings"]
    status = wait_for_status(am, "DISABLED")

    assert answer["evidenceFinderEnablement"]["enablementStatus"] == "DISABLE_IN_PROGRESS"
    assert status == {"enablementStatus": "DISABLED"}


def test_evidence_finder_steps_are_immediate_by_default(aws: ClientFactory) -> None:
    answer = admin_am(aws).update_settings(evidenceFinderEnabled=False)["settings"]

    assert answer["evidenceFinderEnablement"] == {"enablementStatus": "DISABLED"}


def wait_for_status(am: Any, status: str) -> dict[str, Any]:
    def enablement() -> dict[str, Any] | None:
        seen: dict[str, Any] = am.get_settings(attribute="EVIDENCE_FINDER_ENABLEMENT")
        found: dict[str, Any] = seen["settings"]["evidenceFinderEnablement"]
        return found if found["enablementStatus"] == status else None

    return wait_for(f"evidence finder {status}", enablement, timeout=30, every=0.1)


def test_a_new_evidence_finder_is_refused_while_cloudtrail_lake_is_closed(
    aws: ClientFactory, control: EmulatorControl
) -> None:
    am = aws("auditmanager")

    failure = aws_error(lambda: am.update_settings(evidenceFinderEnabled=True))

    assert failure.code == "ValidationException"
    assert "CloudTrail Lake is no longer open" in failure.message
    assert control.config()["cloudTrailLakeOpen"] is False


@pytest.mark.parametrize("attribute", ["KMS_KEY", "all"])
def test_an_unknown_attribute_is_a_validation_error(aws: ClientFactory, attribute: str) -> None:
    failure = aws_error(lambda: aws("auditmanager").get_settings(attribute=attribute))

    assert (failure.code, failure.response["fields"][0]["name"]) == (
        "ValidationException",
        "attribute",
    )


def test_the_management_account_sees_the_state_of_every_account(
    aws: ClientFactory, control: EmulatorControl
) -> None:
    admin_am(aws).update_settings(snsTopic=TOPIC)

    stored = control.state()["auditManager"]["us-east-1"]["settings"]

    assert stored[AUDIT_ACCOUNT_ID]["snsTopic"] == TOPIC  # as set: the ARN
    assert stored[MANAGEMENT_ACCOUNT_ID]["evidenceFinderEnablement"] == {
        "enablementStatus": "DISABLED"
    }


def test_an_evidence_finder_error_is_shown_until_the_next_request(
    aws: ClientFactory, control: EmulatorControl
) -> None:
    am = admin_am(aws)
    control.set_evidence_finder_error(AUDIT_ACCOUNT_ID, "us-east-1", "Backfill failed")

    shown = am.get_settings(attribute="EVIDENCE_FINDER_ENABLEMENT")["settings"]
    after = am.update_settings(evidenceFinderEnabled=False)["settings"]

    assert shown["evidenceFinderEnablement"]["error"] == "Backfill failed"
    assert "error" not in after["evidenceFinderEnablement"]


@pytest.mark.parametrize(
    "body",
    [{"evidenceFinderSeconds": -1}, {"evidenceFinderSeconds": True}, {"cloudTrailLakeOpen": 1}],
)
def test_the_evidence_finder_controls_refuse_bad_values(
    control: EmulatorControl, body: dict[str, Any]
) -> None:
    response = requests.post(f"{control.endpoint_url}/_emulator/config", json=body, timeout=10)

    assert response.status_code == 400
    assert control.config()["evidenceFinderSeconds"] == 0.0
