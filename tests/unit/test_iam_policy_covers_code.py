"""Each IAM role's policy grants exactly what the operator's code does with that role.

The roles (docs/aws-permissions.md): the role that acts in the management account holds
operator-policy.json, in both setups; with the cluster in another account, the pod's own role
holds assume-management-role-policy.json and only assumes the first. With spec.adminCredentials,
the role in the delegated administrator's account holds admin-settings-policy.json (the calls
of aws/admin_settings.py), and the pod's own role assume-admin-role-policy.json.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import botocore.session
import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).parents[2]
AWS_CODE = REPO / "operator" / "awsorg_operator" / "aws"
IAM = REPO / "docs" / "iam"
MANAGEMENT_ROLE_POLICY = IAM / "operator-policy.json"
CLUSTER_ROLE_POLICY = IAM / "assume-management-role-policy.json"
ADMIN_ROLE_POLICY = IAM / "admin-settings-policy.json"
ASSUME_ADMIN_POLICY = IAM / "assume-admin-role-policy.json"
ADMIN_CODE = AWS_CODE / "admin_settings.py"  # the calls made as the administrator's account
SERVICES = ("sts", "organizations", "auditmanager")
# The code hands a customer managed key to Audit Manager (spec.kmsKey, spec.kmsKeys).
PASSES_KMS_KEY = "auditmanager:*(kmsKey)"
# Granted to the management role though our code never names them: AWS performs them with the
# caller's permissions when our code does what the first element says.
ON_OUR_BEHALF = {
    "organizations:RegisterDelegatedAdministrator": (
        "auditmanager:RegisterOrganizationAdminAccount",
        "Audit Manager registers the administrator in Organizations; AWS's managed policy "
        "AWSAuditManagerAdministratorAccess grants it for auditmanager.amazonaws.com",
    ),
    "organizations:DeregisterDelegatedAdministrator": (
        "auditmanager:DeregisterOrganizationAdminAccount",
        "the same, for removing the administrator",
    ),
    "iam:CreateServiceLinkedRole": (
        "auditmanager:RegisterAccount",
        "enabling Audit Manager creates its service-linked role AWSServiceRoleForAuditManager",
    ),
    "kms:CreateGrant": (
        PASSES_KMS_KEY,
        "with a customer managed key Audit Manager creates a grant on it "
        "(https://docs.aws.amazon.com/audit-manager/latest/userguide/data-protection.html), "
        "through the caller: the managed policy allows it only with kms:ViaService "
        "auditmanager.*.amazonaws.com",
    ),
}
# The cluster account's role only assumes the management role; the session tags of EKS Pod
# Identity are transitive and go along into that session, so it may also tag it
# (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-assign-target-role.html).
CHAINED_TAGS = "sts:TagSession"


def _operations() -> dict[str, set[str]]:
    session = botocore.session.get_session()
    return {s: set(session.get_service_model(s).operation_names) for s in SERVICES}


def _code() -> str:
    """The code that calls AWS as the management account: all of aws/ but the settings of the
    administrator's account."""
    return "\n".join(p.read_text() for p in sorted(AWS_CODE.glob("*.py")) if p != ADMIN_CODE)


def actions_in_code(code: str | None = None) -> set[str]:
    """Every AWS call goes through `call("<Operation>", ...)`."""
    operations = _operations()
    found = set()
    for op in re.findall(r'call\(\s*"(\w+)"', _code() if code is None else code):
        (service,) = [s for s in SERVICES if op in operations[s]]
        found.add(f"{service}:{op}")
    return found


def what_the_code_does() -> set[str]:
    """The calls, and whether any of them hands Audit Manager a KMS key."""
    session = botocore.session.get_session()
    model = session.get_service_model("auditmanager")
    inputs = {op: model.operation_model(op).input_shape for op in model.operation_names}
    takes_key = {
        f"auditmanager:{op}" for op, shape in inputs.items() if shape and "kmsKey" in shape.members
    }
    done = actions_in_code()
    passes = re.search(r'(\bkmsKey\s*=|\["kmsKey"\]\s*=)', _code())
    return done | ({PASSES_KMS_KEY} if passes and done & takes_key else set())


def assumes_a_role_in_code() -> bool:
    """spec.credentials: botocore's assume-role fetcher, with the pod's own identity."""
    return "AssumeRoleCredentialFetcher(" in _code()


def statements(path: Path) -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads(path.read_text())["Statement"]
    return loaded


def actions_in(path: Path) -> set[str]:
    granted: set[str] = set()
    for statement in statements(path):
        assert statement["Effect"] == "Allow"
        action = statement["Action"]
        granted |= {action} if isinstance(action, str) else set(action)
    return granted


def test_the_code_is_found() -> None:
    assert {
        "organizations:EnableAWSServiceAccess",
        "auditmanager:RegisterAccount",
        "sts:GetCallerIdentity",
        PASSES_KMS_KEY,
    } <= what_the_code_does()
    assert assumes_a_role_in_code()


def test_the_management_role_may_do_every_call_of_the_code() -> None:
    missing = actions_in_code() - actions_in(MANAGEMENT_ROLE_POLICY)
    assert not missing, f"{MANAGEMENT_ROLE_POLICY.name} lacks {sorted(missing)}"


@pytest.mark.parametrize("action", sorted(ON_OUR_BEHALF))
def test_the_management_role_may_do_what_aws_does_for_the_code(action: str) -> None:
    because, reason = ON_OUR_BEHALF[action]
    assert because in what_the_code_does(), f"{action} is granted for {because}: {reason}"
    assert action in actions_in(MANAGEMENT_ROLE_POLICY), f"{action} is needed: {reason}"


def test_the_management_role_is_granted_nothing_else() -> None:
    extra = actions_in(MANAGEMENT_ROLE_POLICY) - actions_in_code() - set(ON_OUR_BEHALF)
    assert not extra, f"{MANAGEMENT_ROLE_POLICY.name} grants unused {sorted(extra)}"


def test_the_cluster_role_only_assumes_the_management_role() -> None:
    """It makes no call of its own in the management account: everything is done with the
    assumed role's credentials, so it needs none of operator-policy.json."""
    assert actions_in(CLUSTER_ROLE_POLICY) == {"sts:AssumeRole", CHAINED_TAGS}
    for statement in statements(CLUSTER_ROLE_POLICY):
        resources = statement["Resource"]
        for arn in [resources] if isinstance(resources, str) else resources:
            assert re.fullmatch(r"arn:aws:iam::\d{12}:role/awsorg-operator-management", arn)


def test_the_management_role_assumes_nothing() -> None:
    assert not actions_in(MANAGEMENT_ROLE_POLICY) & actions_in(CLUSTER_ROLE_POLICY)


def test_the_admin_role_may_do_exactly_the_calls_of_its_code() -> None:
    """Its calls, and the KMS grant Audit Manager creates through it when settings.kmsKey is
    a customer managed key (UpdateSettings takes kmsKey; request() passes it through)."""
    code = ADMIN_CODE.read_text()
    calls = actions_in_code(code)
    assert calls == {"auditmanager:GetSettings", "auditmanager:UpdateSettings"}
    assert '"kmsKey"' in code
    assert actions_in(ADMIN_ROLE_POLICY) == calls | {"kms:CreateGrant"}


def test_the_operators_own_role_only_assumes_the_admin_role() -> None:
    assert actions_in(ASSUME_ADMIN_POLICY) == {"sts:AssumeRole", CHAINED_TAGS}
    for statement in statements(ASSUME_ADMIN_POLICY):
        assert re.fullmatch(
            r"arn:aws:iam::\d{12}:role/awsorg-operator-admin", statement["Resource"]
        )
