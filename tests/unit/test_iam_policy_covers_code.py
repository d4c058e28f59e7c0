"""The IAM policy users attach grants exactly what the operator's code calls."""

from __future__ import annotations

import json
import re
from pathlib import Path

import botocore.session
import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).parents[2]
AWS_CODE = REPO / "operator" / "awsorg_operator" / "aws"
POLICY = REPO / "docs" / "iam" / "operator-policy.json"
SERVICES = ("sts", "organizations", "auditmanager")
# Called by Audit Manager's register calls with the caller's permissions (AWS-FACTS,
# "Permissions"), so the policy grants them though our code never names them.
ON_OUR_BEHALF = {
    "organizations:RegisterDelegatedAdministrator",
    "organizations:DeregisterDelegatedAdministrator",
    "iam:CreateServiceLinkedRole",
}
# Used only with spec.credentials.roleARN, and then on the operator's own identity.
ASSUME_ROLE = {"sts:AssumeRole", "sts:TagSession"}


def actions_in_code() -> set[str]:
    """Every AWS call goes through `call("<Operation>", ...)`: collect the operations."""
    session = botocore.session.get_session()
    operations = {s: set(session.get_service_model(s).operation_names) for s in SERVICES}
    found = set()
    for path in AWS_CODE.glob("*.py"):
        for op in re.findall(r'call\(\s*"(\w+)"', path.read_text()):
            (service,) = [s for s in SERVICES if op in operations[s]]
            found.add(f"{service}:{op}")
    return found


def actions_in_policy() -> set[str]:
    policy = json.loads(POLICY.read_text())
    granted: set[str] = set()
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        action = statement["Action"]
        granted |= {action} if isinstance(action, str) else set(action)
    return granted


def test_the_code_is_found() -> None:
    assert {
        "organizations:EnableAWSServiceAccess",
        "auditmanager:RegisterAccount",
        "sts:GetCallerIdentity",
    } <= actions_in_code()


def test_the_policy_grants_every_action_the_code_calls() -> None:
    missing = actions_in_code() - actions_in_policy()
    assert not missing, f"docs/iam/operator-policy.json lacks {sorted(missing)}"


def test_the_policy_grants_nothing_the_operator_does_not_need() -> None:
    extra = actions_in_policy() - actions_in_code() - ON_OUR_BEHALF - ASSUME_ROLE
    assert not extra, f"docs/iam/operator-policy.json grants unused {sorted(extra)}"
