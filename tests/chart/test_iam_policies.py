"""The IAM documents in docs/iam are well-formed policies without wildcard actions.

Whether the operator's policy holds exactly the actions the code calls is checked elsewhere,
against the code.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from .helm import REPO

pytestmark = pytest.mark.unit

IAM = REPO / "docs" / "iam"
POLICIES = sorted(IAM.glob("*.json"))
TRUST_POLICIES = [p for p in POLICIES if p.name.startswith("trust-")]
SERVICES = {"organizations", "auditmanager", "iam", "sts"}
ACTION = re.compile(r"^(?P<service>[a-z0-9-]+):(?P<name>[A-Za-z]+)$")


def _load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def _statements(path: Path) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = _load(path)["Statement"]
    return statements


def test_expected_documents_exist() -> None:
    assert {p.name for p in POLICIES} >= {
        "operator-policy.json",
        "trust-irsa.json",
        "trust-pod-identity.json",
        "trust-cross-account.json",
    }


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_policy_is_well_formed(path: Path) -> None:
    policy = _load(path)
    assert set(policy) == {"Version", "Statement"}
    assert policy["Version"] == "2012-10-17"
    statements = policy["Statement"]
    assert isinstance(statements, list)
    assert statements
    sids = [s.get("Sid") for s in statements]
    assert all(isinstance(s, str) and re.fullmatch(r"[A-Za-z0-9]+", s) for s in sids), sids
    assert len(set(sids)) == len(sids), "Sids must be unique"
    for statement in statements:
        assert statement["Effect"] in ("Allow", "Deny")
        assert "Action" in statement
        assert "NotAction" not in statement


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_actions_are_named_and_never_wildcards(path: Path) -> None:
    for statement in _statements(path):
        for action in _as_list(statement["Action"]):
            assert not set("*?") & set(action), f"{statement['Sid']}: {action}"
            match = ACTION.match(action)
            assert match, f"{statement['Sid']}: {action!r} is not service:Action"
            assert match["service"] in SERVICES, action


@pytest.mark.parametrize("path", TRUST_POLICIES, ids=lambda p: p.name)
def test_trust_policy_names_one_principal_and_no_resource(path: Path) -> None:
    for statement in _statements(path):
        assert "Resource" not in statement
        principal = statement["Principal"]
        assert "*" not in json.dumps(principal)


def test_identity_policies_name_resources() -> None:
    for path in set(POLICIES) - set(TRUST_POLICIES):
        for statement in _statements(path):
            assert "Resource" in statement, statement["Sid"]
            assert "Principal" not in statement, statement["Sid"]


def test_mutating_organizations_calls_are_limited_to_audit_manager() -> None:
    mutating = {
        "organizations:EnableAWSServiceAccess",
        "organizations:DisableAWSServiceAccess",
        "organizations:RegisterDelegatedAdministrator",
        "organizations:DeregisterDelegatedAdministrator",
    }
    for statement in _statements(IAM / "operator-policy.json"):
        if mutating & set(_as_list(statement["Action"])):
            condition = statement["Condition"]["StringEquals"]
            assert condition == {"organizations:ServicePrincipal": "auditmanager.amazonaws.com"}


def test_cross_account_trust_requires_external_id() -> None:
    assume = [
        s
        for s in _statements(IAM / "trust-cross-account.json")
        if "sts:AssumeRole" in _as_list(s["Action"])
    ]
    assert assume
    for statement in assume:
        assert "sts:ExternalId" in statement["Condition"]["StringEquals"]


def test_pod_identity_trust_is_scoped_to_the_service_account() -> None:
    (statement,) = _statements(IAM / "trust-pod-identity.json")
    assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert set(_as_list(statement["Action"])) == {"sts:AssumeRole", "sts:TagSession"}
    tags = statement["Condition"]["StringEquals"]
    assert {
        "aws:RequestTag/kubernetes-namespace",
        "aws:RequestTag/kubernetes-service-account",
    } <= set(tags)


def test_irsa_trust_is_scoped_to_the_service_account_and_sts_audience() -> None:
    (statement,) = _statements(IAM / "trust-irsa.json")
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    keys = statement["Condition"]["StringEquals"]
    assert any(
        k.endswith(":sub") and v.startswith("system:serviceaccount:") for k, v in keys.items()
    )
    assert any(k.endswith(":aud") and v == "sts.amazonaws.com" for k, v in keys.items())
