"""The spec model, and its agreement with the CRD users install (one source of truth)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from pydantic import BaseModel, ValidationError

from awsorg_operator.api import (
    AUDIT_MANAGER_REGIONS,
    GROUP,
    KIND,
    PLURAL,
    VERSION,
    Condition,
    Credentials,
    PlannedAction,
    RegionStatus,
    Spec,
    Status,
)
from awsorg_operator.auditsettings import (
    AdminCredentials,
    AuditSettings,
    EvidenceFinderStatus,
    SettingsStatus,
)

pytestmark = pytest.mark.unit

CRD = Path(__file__).parents[2] / "crds" / "awsorg.io_auditmanagerorgconfigs.yaml"


def crd_schema() -> dict[str, Any]:
    crd = yaml.safe_load(CRD.read_text())
    assert crd["spec"]["group"] == GROUP
    assert crd["spec"]["names"]["kind"] == KIND
    assert crd["spec"]["names"]["plural"] == PLURAL
    assert crd["spec"]["scope"] == "Cluster"
    (version,) = crd["spec"]["versions"]
    assert version["name"] == VERSION
    assert version["subresources"] == {"status": {}}
    return version["schema"]["openAPIV3Schema"]  # type: ignore[no-any-return]


def aliases(model: type[BaseModel]) -> set[str]:
    return {f.alias or name for name, f in model.model_fields.items()}


def required(model: type[BaseModel]) -> set[str]:
    return {f.alias or name for name, f in model.model_fields.items() if f.is_required()}


@pytest.mark.parametrize(
    ("path", "model"),
    [
        (("spec",), Spec),
        (("spec", "credentials"), Credentials),
        (("status",), Status),
        (("status", "regions", "items"), RegionStatus),
        (("status", "plannedActions", "items"), PlannedAction),
        (("status", "conditions", "items"), Condition),
        (("spec", "settings"), AuditSettings),
        (("spec", "regionSettings", "additionalProperties"), AuditSettings),
        (("spec", "adminCredentials"), AdminCredentials),
        (("status", "regions", "items", "settings"), SettingsStatus),
        (("status", "regions", "items", "settings", "evidenceFinder"), EvidenceFinderStatus),
    ],
)
def test_crd_and_model_have_the_same_fields(path: tuple[str, ...], model: type[BaseModel]) -> None:
    node = crd_schema()
    for key in path:
        node = node[key] if key in ("items", "additionalProperties") else node["properties"][key]
    assert set(node["properties"]) == aliases(model)
    assert set(node.get("required", [])) == required(model)
    for name, prop in node["properties"].items():
        assert prop.get("description"), f"{'.'.join(path)}.{name} needs a description"


def test_crd_enums_and_patterns_match_the_model() -> None:
    spec = crd_schema()["properties"]["spec"]["properties"]
    schema = Spec.model_json_schema(by_alias=True)
    defs = schema["$defs"]
    for field, enum_def in [
        ("trustedAccess", "TrustedAccess"),
        ("deletionPolicy", "DeletionPolicy"),
        ("managementPolicy", "ManagementPolicy"),
    ]:
        assert spec[field]["enum"] == defs[enum_def]["enum"]
    props = schema["properties"]
    assert (
        spec["delegatedAdminAccountID"]["pattern"]
        == props["delegatedAdminAccountID"]["anyOf"][0]["pattern"]
    )
    assert spec["kmsKey"]["pattern"] == props["kmsKey"]["anyOf"][0]["pattern"]
    assert tuple(spec["regions"]["items"]["enum"]) == AUDIT_MANAGER_REGIONS
    assert spec["deletionPolicy"]["default"] == props["deletionPolicy"]["default"]
    assert spec["managementPolicy"]["default"] == props["managementPolicy"]["default"]


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ({"trustedAccess": "Maybe"}, "trustedAccess"),
        (
            {"trustedAccess": "Enabled", "delegatedAdminAccountID": "12345678901"},
            "delegatedAdminAccountID",
        ),
        (
            {"trustedAccess": "Disabled", "delegatedAdminAccountID": "111111111111"},
            "requires trustedAccess: Enabled",
        ),
        ({"trustedAccess": "Enabled", "regions": []}, "regions"),
        ({"trustedAccess": "Enabled", "regions": ["us-east-1", "us-east-1"]}, "unique"),
        ({"trustedAccess": "Enabled", "surprise": 1}, "surprise"),
        ({"trustedAccess": "Enabled", "kmsKey": "my-key"}, "kmsKey"),
        (
            {"trustedAccess": "Enabled", "retirement": {"deleteResources": "Default"}},
            "retirement requires trustedAccess: Disabled",
        ),
        ({"trustedAccess": "Disabled", "retirement": {}}, "deleteResources"),
        (
            {"trustedAccess": "Disabled", "retirement": {"deleteResources": "Some"}},
            "deleteResources",
        ),
        (
            {
                "trustedAccess": "Disabled",
                "retirement": {"deleteResources": "All", "evidenceFinder": "Disabled"},
            },
            "retirement.evidenceFinder requires adminCredentials",
        ),
    ],
)
def test_spec_refuses_bad_input(spec: dict[str, Any], error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        Spec.model_validate(spec)


def test_spec_defaults() -> None:
    spec = Spec.model_validate({"trustedAccess": "Enabled"})
    assert spec.deletion_policy == "Retain"
    assert spec.management_policy == "Manage"
    assert spec.effective_regions("eu-west-1") == ("eu-west-1",)


def test_status_patch_clears_what_is_gone() -> None:
    patch = Status(organization_id="o-1").to_patch()
    assert patch["organizationID"] == "o-1"
    assert patch["delegatedAdminAccountID"] is None  # null in a merge patch removes it
    assert patch["regions"] == []


def test_the_regions_are_where_botocore_offers_audit_manager() -> None:
    """Audit Manager opens no new Regions in maintenance mode; if botocore's endpoint data
    ever disagrees, the closed list in the CRD and the model must be looked at again."""
    session = boto3.Session()
    offered = sorted(
        r
        for partition in session.get_available_partitions()
        for r in session.get_available_regions("auditmanager", partition)
    )
    assert list(AUDIT_MANAGER_REGIONS) == offered


@pytest.mark.parametrize("region", ["us-east-9", "mars-north-1", "US-EAST-1"])
def test_a_region_audit_manager_does_not_offer_is_refused(region: str) -> None:
    with pytest.raises(ValidationError):
        Spec.model_validate({"trustedAccess": "Enabled", "regions": [region]})
