"""Disabling trusted access reads every Region first; a Region that could not be read keeps it
enabled, unless the spec states, by name, that no delegated administrator is registered there
(`assumeNoDelegatedAdminIn`). The plan rule, then whole reconciles against the in-memory AWS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from awsorg_operator.actions import DisableTrustedAccess
from awsorg_operator.api import AUDIT_MANAGER_REGIONS, Spec
from awsorg_operator.failures import CallFailure, Kind, Retry
from awsorg_operator.observed import RegionFailure
from awsorg_operator.plan import Desired, Plan, plan, plan_deletion
from tests.fake_aws import AUDIT, DENIED, FakeAws
from tests.unit.test_plan import ADMIN, observed, view
from tests.unit.test_reconciler import ADOPT, REGIONS, Org

pytestmark = pytest.mark.unit

CRD = Path(__file__).parents[2] / "crds" / "awsorg.io_auditmanagerorgconfigs.yaml"
DENIED_REGION = "eu-central-1"  # offered, not listed: read only to disable trusted access
FIELD = "spec.assumeNoDelegatedAdminIn"
ALLOW = {"awsorg.io/allow-admin-change": AUDIT}


def unread(kind: Kind, code: str = "AccessDeniedException") -> RegionFailure:
    return RegionFailure(DENIED_REGION, CallFailure("GetAccountStatus", code, "m", kind))


def planner(deleting: bool, assumed: frozenset[str] = frozenset()) -> Plan:
    """Disabled (approved) or deleting with Delete; the denied Region read only if not assumed."""
    desired = Desired(
        trusted_access=deleting,  # a deletion undoes an Enabled spec that manages ADMIN
        admin_account_id=ADMIN if deleting else None,
        regions=("us-east-1",),
        approved_removal=ADMIN,
        assumed_no_admin=assumed,
    )
    # A Region in the statement is not read, so the snapshot has nothing of it.
    failed = () if assumed else (unread(Kind.DENIED),)
    obs = observed(True, view(), unreadable=failed)
    return (plan_deletion if deleting else plan)(desired, obs)


@pytest.mark.parametrize("deleting", [False, True], ids=["Disabled", "Delete"])
def test_without_the_statement_an_unread_region_keeps_trusted_access_and_says_the_fix(
    deleting: bool,
) -> None:
    p = planner(deleting)
    assert not any(isinstance(a, DisableTrustedAccess) for a in p.actions)
    (blocker,) = p.blockers
    assert blocker.reason == "Pending" and not p.converged
    for words in (
        f"{DENIED_REGION} could not be read (AccessDeniedException)",
        "auditmanager:GetAccountStatus",
        f"list {DENIED_REGION} under {FIELD}",
    ):
        assert words in blocker.message
    if not deleting:
        assert p.actions == (), "a removal that cannot reach the goal is not started"


@pytest.mark.parametrize("deleting", [False, True], ids=["Disabled", "Delete"])
def test_with_the_statement_trusted_access_is_disabled_and_says_on_whose_word(
    deleting: bool,
) -> None:
    p = planner(deleting, frozenset({DENIED_REGION}))
    assert [a.operation for a in p.actions] == [
        "DeregisterOrganizationAdminAccount",
        "DisableAWSServiceAccess",
    ]
    assert not p.blockers
    why = p.actions[-1].why
    assert DENIED_REGION in why and FIELD in why


@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize("deleting", [False, True], ids=["Disabled", "Delete"])
def test_no_failure_of_a_read_counts_as_no_administrator(kind: Kind, deleting: bool) -> None:
    """Whatever a scanned Region answered instead of its state, trusted access stays."""
    desired = Desired(deleting, ADMIN if deleting else None, ("us-east-1",), approved_removal=ADMIN)
    obs = observed(True, view(), unreadable=(unread(kind, "AnyCode"),))
    p = (plan_deletion if deleting else plan)(desired, obs)
    assert not any(isinstance(a, DisableTrustedAccess) for a in p.actions)
    assert DENIED_REGION in " ".join(b.message for b in p.blockers)


def disabled(**extra: Any) -> dict[str, Any]:
    return {"trustedAccess": "Disabled", "regions": REGIONS, **extra}


def denying_one_region() -> FakeAws:
    aws = FakeAws()
    aws.fail(DENIED, "GetAccountStatus", DENIED_REGION, times=10)
    return aws


def test_reconcile_without_the_statement_names_the_region_and_changes_nothing() -> None:
    org = Org(aws=denying_one_region(), spec=disabled(), annotations=ALLOW)
    out = org.reconcile()
    ready, synced = org.status.condition("Ready"), org.status.condition("Synced")
    assert ready is not None and synced is not None
    assert (ready.status, ready.reason) == ("Unknown", "AccessDenied")
    assert f"{DENIED_REGION} could not be read" in ready.message and FIELD in ready.message
    assert (synced.status, synced.reason) == ("False", "AccessDenied")
    assert out.retry is Retry.SLOWLY
    assert org.aws.writes() == [] and org.aws.trusted


def test_reconcile_with_the_statement_never_reads_the_region_and_disables() -> None:
    org = Org(aws=denying_one_region(), spec=disabled(), annotations=ALLOW)
    org.reconcile()
    org.spec = disabled(assumeNoDelegatedAdminIn=[DENIED_REGION])
    org.generation += 1
    org.aws.calls.clear()
    org.reconcile()
    assert org.cond("Ready") == ("True", "Reconciled"), org.status.condition("Ready")
    assert not org.aws.trusted
    assert [op for op, _ in org.aws.writes()] == [
        "DeregisterOrganizationAdminAccount",
        "DeregisterOrganizationAdminAccount",
        "DisableAWSServiceAccess",
    ]
    assert not [c for c in org.aws.calls if c[1] == DENIED_REGION]


@pytest.mark.parametrize("assumed", [False, True])
def test_deletion_with_delete_waits_for_the_region_unless_the_spec_states_it(
    assumed: bool,
) -> None:
    extra = {"assumeNoDelegatedAdminIn": [DENIED_REGION]} if assumed else {}
    org = Org(aws=denying_one_region(), spec={**ADOPT, "deletionPolicy": "Delete", **extra})
    org.reconcile()
    out = org.delete()
    ready = org.status.condition("Ready")
    assert ready is not None and ready.reason == "Deleting"
    assert org.aws.trusted is not assumed
    if assumed:
        assert out.retry is None, "the finalizer may go"
    else:
        assert out.retry is Retry.SLOWLY and DENIED_REGION in ready.message
        assert FIELD in ready.message and "deletion waits" in ready.message


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        (disabled(assumeNoDelegatedAdminIn=["us-east-1"]), "always read"),
        (disabled(assumeNoDelegatedAdminIn=[DENIED_REGION] * 2), "unique"),
        (disabled(assumeNoDelegatedAdminIn=[]), "assumeNoDelegatedAdminIn"),
        (disabled(assumeNoDelegatedAdminIn=["eu-north-1"]), "assumeNoDelegatedAdminIn"),
    ],
)
def test_the_statement_is_refused_where_it_cannot_mean_anything(
    spec: dict[str, Any], error: str
) -> None:
    with pytest.raises(ValidationError, match=error):
        Spec.model_validate(spec)


def test_the_operators_default_region_is_read_whatever_the_statement_says() -> None:
    spec = Spec.model_validate(
        {"trustedAccess": "Disabled", "assumeNoDelegatedAdminIn": ["us-east-1", DENIED_REGION]}
    )
    assert spec.effective_assumed_regions("us-east-1") == {DENIED_REGION}


def test_the_crd_offers_the_same_regions_and_the_same_rule() -> None:
    crd = yaml.safe_load(CRD.read_text())
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    field = spec["properties"]["assumeNoDelegatedAdminIn"]
    assert tuple(field["items"]["enum"]) == AUDIT_MANAGER_REGIONS
    assert field["x-kubernetes-list-type"] == "set" and field["minItems"] == 1
    rules = [v["fieldPath"] for v in spec["x-kubernetes-validations"] if "fieldPath" in v]
    assert ".assumeNoDelegatedAdminIn" in rules
