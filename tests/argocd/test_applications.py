"""The example Argo CD Applications: order, first-sync options, what they point at, and the
one place (argocd/root-application.yaml) they take their repository and image from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from awsorg_argocd import render_helm_source

pytestmark = pytest.mark.integration  # runs helm

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "argocd" / "root-application.yaml"
APPS = REPO / "argocd" / "applications"
CHART = REPO / "charts" / "awsorg-operator"


def _root() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(ROOT.read_text())
    return loaded


def render(root: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """argocd/applications as Argo CD renders it for `root`."""
    return {d["metadata"]["name"]: d for d in render_helm_source(root, REPO)}


@pytest.fixture(scope="module")
def apps() -> dict[str, dict[str, Any]]:
    return render(_root())


def _wave(app: dict[str, Any]) -> int:
    return int(app["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-wave", "0"))


def test_operator_syncs_before_its_resources(apps: dict[str, dict[str, Any]]) -> None:
    assert set(apps) == {"awsorg-operator", "awsorg-resources"}
    assert _wave(apps["awsorg-operator"]) == -1
    assert _wave(apps["awsorg-resources"]) == 1


def test_repository_and_image_come_from_the_root_application() -> None:
    root = _root()
    root["spec"]["source"]["repoURL"] = "https://git.example.net/me/fork.git"
    root["spec"]["source"]["targetRevision"] = "v9"
    root["spec"]["source"]["helm"]["valuesObject"]["operator"]["image"]["tag"] = "1.0"
    rendered = render(root)
    for app in rendered.values():
        source = app["spec"]["source"]
        assert (source["repoURL"], source["targetRevision"]) == (
            "https://git.example.net/me/fork.git",
            "v9",
        )
    values = rendered["awsorg-operator"]["spec"]["source"]["helm"]["valuesObject"]
    assert values["image"]["tag"] == "1.0"  # a string, as the chart's schema wants


def test_operator_application_installs_this_chart_with_valid_values(
    apps: dict[str, dict[str, Any]],
) -> None:
    source = apps["awsorg-operator"]["spec"]["source"]
    assert (REPO / source["path"]).resolve() == CHART
    schema = json.loads((CHART / "values.schema.json").read_text())
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    overrides = source["helm"]["valuesObject"]
    merged = {**values, **{k: {**values.get(k, {}), **v} for k, v in overrides.items()}}
    jsonschema.Draft7Validator(schema).validate(merged)


def test_resources_application_survives_the_first_sync(apps: dict[str, dict[str, Any]]) -> None:
    """On a new cluster the kind is unknown when Argo CD dry-runs the resources."""
    options = apps["awsorg-resources"]["spec"]["syncPolicy"]["syncOptions"]
    assert "SkipDryRunOnMissingResource=true" in options


def test_resources_are_never_pruned_automatically(apps: dict[str, dict[str, Any]]) -> None:
    """Deleting a resource acts on AWS (deletionPolicy); a person decides that."""
    assert apps["awsorg-resources"]["spec"]["syncPolicy"]["automated"]["prune"] is False


def test_applications_need_no_ignore_differences_and_no_cascade(
    apps: dict[str, dict[str, Any]],
) -> None:
    for app in [*apps.values(), _root()]:
        assert (app["apiVersion"], app["kind"]) == ("argoproj.io/v1alpha1", "Application")
        assert "ignoreDifferences" not in app["spec"]
        # A cascading delete of the operator's Application would take the CRD, and every
        # AuditManagerOrgConfig with it.
        finalizers = app["metadata"].get("finalizers", [])
        assert "resources-finalizer.argocd.argoproj.io" not in finalizers


def test_application_source_paths_exist(apps: dict[str, dict[str, Any]]) -> None:
    for app in [*apps.values(), _root()]:
        path = app["spec"]["source"]["path"]
        assert (REPO / path).is_dir(), path
    assert (REPO / _root()["spec"]["source"]["path"]).resolve() == APPS


def test_the_resources_folder_holds_only_organizations(apps: dict[str, dict[str, Any]]) -> None:
    folder = REPO / apps["awsorg-resources"]["spec"]["source"]["path"]
    docs = [yaml.safe_load(p.read_text()) for p in sorted(folder.glob("*.yaml"))]
    assert docs and all(d["kind"] == "AuditManagerOrgConfig" for d in docs)
    assert len({d["metadata"]["name"] for d in docs}) == len(docs)


@pytest.mark.parametrize("doc", ["docs/argocd.md", "docs/install.md"])
def test_docs_show_the_exact_root_application(doc: str) -> None:
    """The file the tests sync is the one the docs show."""
    assert f"```yaml\n{ROOT.read_text()}```" in (REPO / doc).read_text()
