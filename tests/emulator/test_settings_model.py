"""The pure settings model the emulator and the fake share: evidence finder's steps on a clock
the test moves, and UpdateSettings' validation case by case."""

from __future__ import annotations

from typing import Any

import pytest

from awsorg_emulator.auditmanager_settings import AccountSettings, Timing
from awsorg_emulator.auditmanager_validation import check_update
from awsorg_emulator.errors import AwsError

pytestmark = pytest.mark.unit

ACCOUNT = "111111111111"


def finder_at(settings: AccountSettings, now: float, seconds: float | None = 10.0) -> Any:
    timing = Timing(now, seconds, lake_open=True)
    return settings.view(True, timing)["evidenceFinderEnablement"]


def test_each_step_takes_its_time_and_no_more() -> None:
    settings = AccountSettings(ACCOUNT, "us-east-1")
    settings.update({"evidenceFinderEnabled": True}, Timing(100.0, 10.0, lake_open=True))

    seen = [
        (f["enablementStatus"], f.get("backfillStatus"))
        for f in (finder_at(settings, t) for t in (109.9, 110.0, 119.9, 120.0, 500.0))
    ]

    assert seen == [
        ("ENABLE_IN_PROGRESS", "NOT_STARTED"),
        ("ENABLED", "IN_PROGRESS"),
        ("ENABLED", "IN_PROGRESS"),
        ("ENABLED", "COMPLETED"),
        ("ENABLED", "COMPLETED"),
    ]


def test_a_long_wait_finishes_every_step_at_once() -> None:
    settings = AccountSettings(ACCOUNT, "us-east-1")
    settings.update({"evidenceFinderEnabled": True}, Timing(0.0, 10.0, lake_open=True))

    assert finder_at(settings, 1000.0)["backfillStatus"] == "COMPLETED"


def test_without_a_step_time_nothing_moves_until_settled() -> None:
    settings = AccountSettings(ACCOUNT, "us-east-1")
    settings.update({"evidenceFinderEnabled": True}, Timing(0.0, None, lake_open=True))

    before = finder_at(settings, 1e9, seconds=None)["enablementStatus"]
    settings.evidence_finder.settle()

    assert before == "ENABLE_IN_PROGRESS"
    assert finder_at(settings, 0.0, seconds=None)["enablementStatus"] == "ENABLED"


def test_disabling_deletes_the_store_when_done() -> None:
    settings = AccountSettings(ACCOUNT, "eu-west-1")
    settings.update({"evidenceFinderEnabled": True}, Timing(0.0, 0.0, lake_open=True))
    settings.update({"evidenceFinderEnabled": False}, Timing(5.0, 10.0))

    during, after = finder_at(settings, 14.0), finder_at(settings, 15.0)

    assert during["eventDataStoreArn"].startswith("arn:aws:cloudtrail:eu-west-1:")
    assert after == {"enablementStatus": "DISABLED"}


def test_turning_it_off_while_it_is_being_turned_on_is_refused() -> None:
    settings = AccountSettings(ACCOUNT, "us-east-1")
    settings.update({"evidenceFinderEnabled": True}, Timing(0.0, None, lake_open=True))

    with pytest.raises(AwsError) as raised:
        settings.update({"evidenceFinderEnabled": False, "kmsKey": "DEFAULT"}, Timing(1.0, None))

    assert raised.value.code == "ValidationException"
    assert "being enabled" in raised.value.message


VALID: dict[str, Any] = {
    "snsTopic": f"arn:aws:sns:us-east-1:{ACCOUNT}:t",
    "defaultAssessmentReportsDestination": {"destinationType": "S3", "destination": "S3://b/p"},
    "defaultExportDestination": {"destinationType": "S3", "destination": "s3://b"},
    "defaultProcessOwners": [
        {"roleType": "PROCESS_OWNER", "roleArn": f"arn:aws:iam::{ACCOUNT}:role/r"}
    ],
    "kmsKey": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k",
    "evidenceFinderEnabled": False,
    "deregistrationPolicy": {"deleteResources": "ALL"},
}
S3 = "defaultAssessmentReportsDestination"
OWNER = {"roleType": "PROCESS_OWNER", "roleArn": "arn:aws:iam::1:r"}  # too short an ARN
# (what is wrong, the change to VALID, the fields named)
INVALID: list[tuple[str, dict[str, Any], list[str]]] = [
    ("NONE is the only word", {"snsTopic": "none"}, ["snsTopic"]),
    (
        "destination type",
        {"defaultExportDestination": {"destinationType": "s3", "destination": "s3://b"}},
        ["defaultExportDestination.destinationType"],
    ),
    (
        "a bucket name alone",
        {S3: {"destinationType": "S3", "destination": "bucket"}},
        [f"{S3}.destination"],
    ),
    ("no structure", {"defaultExportDestination": "s3://b"}, ["defaultExportDestination"]),
    ("no list", {"defaultProcessOwners": {"roleArn": "x"}}, ["defaultProcessOwners"]),
    (
        "a short role ARN",
        {"defaultProcessOwners": [OWNER]},
        ["defaultProcessOwners.1.member.roleArn"],
    ),
    ("a key too short, and no key", {"kmsKey": "DEF"}, ["kmsKey", "kmsKey"]),
    ("a string for a boolean", {"evidenceFinderEnabled": "false"}, ["evidenceFinderEnabled"]),
    (
        "a policy in lower case",
        {"deregistrationPolicy": {"deleteResources": "all"}},
        ["deregistrationPolicy.deleteResources"],
    ),
]


def test_every_documented_value_is_accepted() -> None:
    assert check_update(VALID, "us-east-1") == []
    assert check_update({"snsTopic": "NONE", "deregistrationPolicy": {}}, "us-east-1") == []


@pytest.mark.parametrize(
    ("change", "fields"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_each_malformed_value_is_named(change: dict[str, Any], fields: list[str]) -> None:
    problems = check_update({**VALID, **change}, "us-east-1")

    assert [p.name for p in problems] == fields
