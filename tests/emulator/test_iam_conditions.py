"""IAM enforcement for Audit Manager evaluates aws:RequestedRegion as AWS documents it: a
Region-restricting policy denies exactly the Regions it names, over HTTP as the operator meets
it; and the evaluation rules themselves, case by case."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from awsorg_emulator import EmulatorControl
from awsorg_emulator.iam_policy import NotEmulatedError, decide
from tests.emulator.emulator_helpers import ClientFactory, Credentials, aws_error

ACTION = "auditmanager:GetAccountStatus"
ALLOW_ALL = {"Effect": "Allow", "Action": "auditmanager:*", "Resource": "*"}


def deny(operator: str, regions: str | list[str], **extra: Any) -> dict[str, Any]:
    return {
        "Effect": "Deny",
        "Action": "auditmanager:*",
        "Resource": "*",
        "Condition": {operator: {"aws:RequestedRegion": regions}},
        **extra,
    }


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


# (name, statements, Region, allowed, explicit deny)
CASES = [
    ("no policy: implicit deny", [], "us-east-1", False, False),
    ("allowed everywhere", [ALLOW_ALL], "eu-west-2", True, False),
    (
        "deny for the Region",
        [ALLOW_ALL, deny("StringEquals", "eu-west-2")],
        "eu-west-2",
        False,
        True,
    ),
    (
        "deny for another Region",
        [ALLOW_ALL, deny("StringEquals", "eu-west-2")],
        "us-east-1",
        True,
        False,
    ),
    (
        "deny outside a list (AWS's example), inside it",
        [ALLOW_ALL, deny("StringNotEquals", ["us-east-1", "eu-west-1"])],
        "eu-west-1",
        True,
        False,
    ),
    (
        "deny outside a list (AWS's example), outside it",
        [ALLOW_ALL, deny("StringNotEquals", ["us-east-1", "eu-west-1"])],
        "ap-south-1",
        False,
        True,
    ),
    (
        "StringLike with a wildcard",
        [ALLOW_ALL, deny("StringLike", "eu-*")],
        "eu-central-1",
        False,
        True,
    ),
    ("StringLike, no match", [ALLOW_ALL, deny("StringLike", "eu-*")], "us-west-2", True, False),
    (
        "IgnoreCase",
        [ALLOW_ALL, deny("StringEqualsIgnoreCase", "EU-WEST-2")],
        "eu-west-2",
        False,
        True,
    ),
    (
        "StringEquals is case-sensitive",
        [ALLOW_ALL, deny("StringEquals", "EU-WEST-2")],
        "eu-west-2",
        True,
        False,
    ),
    (
        "an Allow whose condition fails allows nothing",
        [{**ALLOW_ALL, "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}}],
        "eu-west-2",
        False,
        False,
    ),
    (
        "a Deny of another action",
        [ALLOW_ALL, {**deny("StringEquals", "eu-west-2"), "Action": "auditmanager:Register*"}],
        "eu-west-2",
        True,
        False,
    ),
    (
        "NotAction excludes the action from the Deny",
        [
            ALLOW_ALL,
            {**deny("StringEquals", "eu-west-2"), "Action": None, "NotAction": "auditmanager:Get*"},
        ],
        "eu-west-2",
        True,
        False,
    ),
    (
        "the key name is case-insensitive",
        [
            ALLOW_ALL,
            {
                **deny("StringEquals", "x"),
                "Condition": {"StringEquals": {"AWS:requestedregion": "eu-west-2"}},
            },
        ],
        "eu-west-2",
        False,
        True,
    ),
]


@pytest.mark.unit
@pytest.mark.parametrize(
    ("name", "statements", "region", "allowed", "explicit"), CASES, ids=[c[0] for c in CASES]
)
def test_the_evaluation_follows_aws_rules(
    name: str, statements: list[dict[str, Any]], region: str, allowed: bool, explicit: bool
) -> None:
    cleaned = [{k: v for k, v in s.items() if v is not None} for s in statements]
    decision = decide([doc(*cleaned)], ACTION, {"aws:RequestedRegion": region})
    assert (decision.allowed, decision.explicit_deny) == (allowed, explicit)


@pytest.mark.unit
@pytest.mark.parametrize(
    "condition",
    [{"StringEquals": {"aws:PrincipalArn": "x"}}, {"IpAddress": {"aws:RequestedRegion": "x"}}],
)
def test_a_condition_it_does_not_know_is_refused_not_guessed(condition: dict[str, Any]) -> None:
    with pytest.raises(NotEmulatedError):
        decide([doc({**ALLOW_ALL, "Condition": condition})], ACTION, {"aws:RequestedRegion": "x"})


@pytest.fixture
def region_denied_user(aws: ClientFactory, control: EmulatorControl) -> Iterator[Credentials]:
    """An IAM user that may use Audit Manager anywhere but eu-west-2; IAM enforced."""
    iam = aws("iam")
    iam.create_user(UserName="regional")
    policy = doc(ALLOW_ALL, deny("StringEquals", "eu-west-2"))
    iam.put_user_policy(UserName="regional", PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="regional")["AccessKey"]
    control.configure(enforce_iam=True)
    try:
        yield Credentials(key["AccessKeyId"], key["SecretAccessKey"])
    finally:
        control.configure(enforce_iam=False)


@pytest.mark.integration
def test_a_region_denied_by_requested_region_answers_access_denied_over_http(
    aws: ClientFactory, region_denied_user: Credentials
) -> None:
    allowed = aws("auditmanager", region="us-east-1", credentials=region_denied_user)
    assert allowed.get_account_status()["status"] == "ACTIVE"
    denied = aws("auditmanager", region="eu-west-2", credentials=region_denied_user)
    failure = aws_error(denied.get_account_status)
    assert (failure.code, failure.status) == ("AccessDeniedException", 403)
    assert "auditmanager:GetAccountStatus with an explicit deny" in failure.message
