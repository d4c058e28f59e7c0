"""The example Argo CD Applications: order, first-sync options, and what they point at."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
APPS = REPO / "argocd" / "applications"
CHART = REPO / "charts" / "awsorg-operator"


def _app(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((APPS / f"{name}.yaml").read_text())
    return loaded


def _all_apps() -> list[Path]:
    return sorted([*APPS.glob("*.yaml"), REPO / "argocd" / "root-application.yaml"])


def _wave(app: dict[str, Any]) -> int:
    return int(app["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-wave", "0"))


def test_operator_syncs_before_its_resources() -> None:
    operator, resources = _app("awsorg-operator"), _app("awsorg-resources")
    assert _wave(operator) == -1
    assert _wave(resources) == 1


def test_operator_application_installs_this_chart_with_valid_values() -> None:
    source = _app("awsorg-operator")["spec"]["source"]
    assert (REPO / source["path"]).resolve() == CHART
    schema = json.loads((CHART / "values.schema.json").read_text())
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    overrides = source["helm"]["valuesObject"]
    merged = {**values, **{k: {**values.get(k, {}), **v} for k, v in overrides.items()}}
    jsonschema.Draft7Validator(schema).validate(merged)


def test_resources_application_survives_the_first_sync() -> None:
    """On a new cluster the kind is unknown when Argo CD dry-runs the resources."""
    options = _app("awsorg-resources")["spec"]["syncPolicy"]["syncOptions"]
    assert "SkipDryRunOnMissingResource=true" in options


def test_resources_are_never_pruned_automatically() -> None:
    """Deleting a resource acts on AWS (deletionPolicy); a person decides that."""
    assert _app("awsorg-resources")["spec"]["syncPolicy"]["automated"]["prune"] is False


@pytest.mark.parametrize("path", _all_apps(), ids=lambda p: p.name)
def test_application_needs_no_ignore_differences_and_no_cascade(path: Path) -> None:
    app = yaml.safe_load(path.read_text())
    assert app["apiVersion"] == "argoproj.io/v1alpha1"
    assert app["kind"] == "Application"
    assert "ignoreDifferences" not in app["spec"]
    # A cascading delete of the operator's Application would take the CRD, and every
    # AuditManagerOrgConfig with it.
    assert "resources-finalizer.argocd.argoproj.io" not in app["metadata"].get("finalizers", [])


@pytest.mark.parametrize("path", _all_apps(), ids=lambda p: p.name)
def test_application_source_path_exists(path: Path) -> None:
    source = yaml.safe_load(path.read_text())["spec"]["source"]
    assert (REPO / source["path"]).is_dir(), source["path"]


def test_root_application_syncs_the_applications_folder() -> None:
    root = yaml.safe_load((REPO / "argocd" / "root-application.yaml").read_text())
    assert (REPO / root["spec"]["source"]["path"]).resolve() == APPS
