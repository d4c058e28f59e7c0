"""The IAM documents in docs/iam are well-formed policies without wildcard actions, each in
the account and on the role docs/aws-permissions.md puts it.

Whether each role's policy holds exactly what the code does with that role is checked against
the code, in tests/unit/test_iam_policy_covers_code.py.
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
SERVICES = {"organizations", "auditmanager", "iam", "sts", "kms"}
DOC = REPO / "docs" / "aws-permissions.md"
MANAGEMENT, CLUSTER = "123456789012", "111122223333"  # the doc's placeholders
ADMIN = "210987654321"  # the delegated administrator (spec.adminCredentials)
# Where each file goes (docs/aws-permissions.md, "Which file goes where"): the role, the
# account of that role, and the accounts whose ARNs the file names.
WHERE = {
    "operator-policy.json": ("awsorg-operator-management", MANAGEMENT, set()),
    "trust-cross-account.json": ("awsorg-operator-management", MANAGEMENT, {CLUSTER}),
    "assume-management-role-policy.json": ("awsorg-operator", CLUSTER, {MANAGEMENT}),
    "trust-irsa.json": ("awsorg-operator", CLUSTER, {CLUSTER}),
    "trust-pod-identity.json": ("awsorg-operator", CLUSTER, {CLUSTER}),
    "admin-settings-policy.json": ("awsorg-operator-admin", ADMIN, set()),
    "trust-admin-settings.json": ("awsorg-operator-admin", ADMIN, {CLUSTER}),
    "assume-admin-role-policy.json": ("awsorg-operator", CLUSTER, {ADMIN}),
}
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
        "assume-management-role-policy.json",
        "admin-settings-policy.json",
        "trust-admin-settings.json",
        "assume-admin-role-policy.json",
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


@pytest.mark.parametrize("name", ["trust-cross-account.json", "trust-admin-settings.json"])
def test_cross_account_trust_requires_external_id(name: str) -> None:
    assume = [s for s in _statements(IAM / name) if "sts:AssumeRole" in _as_list(s["Action"])]
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


@pytest.mark.parametrize("name", ["operator-policy.json", "admin-settings-policy.json"])
def test_the_grant_on_a_kms_key_is_only_for_audit_manager(name: str) -> None:
    """Audit Manager creates the grant through the caller; nobody else may use the role for it
    (the conditions of AWS's managed policy AWSAuditManagerAdministratorAccess)."""
    (statement,) = [
        s for s in _statements(IAM / name) if "kms:CreateGrant" in _as_list(s["Action"])
    ]
    assert _as_list(statement["Action"]) == ["kms:CreateGrant"]
    assert statement["Condition"] == {
        "Bool": {"kms:GrantIsForAWSResource": "true"},
        "StringLike": {"kms:ViaService": "auditmanager.*.amazonaws.com"},
    }


def test_the_cross_account_trust_admits_the_cluster_role_with_a_made_external_id() -> None:
    cluster_role = f"arn:aws:iam::{CLUSTER}:role/awsorg-operator"
    statements = _statements(IAM / "trust-cross-account.json")
    assert all(s["Principal"] == {"AWS": cluster_role} for s in statements)
    (assume,) = [s for s in statements if "sts:AssumeRole" in _as_list(s["Action"])]
    external_id = assume["Condition"]["StringEquals"]["sts:ExternalId"]
    # A placeholder that says how to make the real one, never a value one could keep.
    assert external_id == "REPLACE-with-openssl-rand-hex-16"
    assert "openssl rand -hex 16" in DOC.read_text()


def _table_rows() -> dict[str, list[str]]:
    rows = {}
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        name = re.fullmatch(r"\[`iam/([\w.-]+)`\]\(iam/[\w.-]+\)", cells[0])
        if name and len(cells) == 5:
            rows[name[1]] = cells
    return rows


def test_every_file_is_in_the_table_of_where_it_goes() -> None:
    assert set(_table_rows()) == {p.name for p in POLICIES} == set(WHERE)


@pytest.mark.parametrize("name", sorted(WHERE))
def test_the_table_names_the_role_and_account_of_each_file(name: str) -> None:
    role, account, _ = WHERE[name]
    _, _, roles, accounts, _ = _table_rows()[name]
    assert f"`{role}`" in roles, roles
    assert f"`{account}`" in accounts, accounts


@pytest.mark.parametrize("name", sorted(WHERE))
def test_each_file_names_the_accounts_of_its_setup(name: str) -> None:
    """The issue this guards against: a trust policy for one account next to steps that
    create its role in the other one."""
    named = set(re.findall(r"arn:aws:[a-z]+:[a-z0-9-]*:(\d{12}):", (IAM / name).read_text()))
    assert named == WHERE[name][2]
