"""Checks of the chart's files that need no helm: the CRD copy, the values and their schema."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
import yaml

from awsorg_operator import settings

from .cases import BAD_VALUES, VALUES
from .helm import CHART, CRD, REPO, deep_set

pytestmark = pytest.mark.unit

SCHEMA = json.loads((CHART / "values.schema.json").read_text())


def _with(dotted: str, value: Any) -> dict[str, Any]:
    values = deep_set(VALUES, dotted, value)
    if dotted == "metrics.service.enabled":
        values["metrics"]["serviceMonitor"]["enabled"] = True
    return values


def test_chart_crd_is_the_repository_crd_byte_for_byte() -> None:
    assert (CHART / "crds" / CRD.name).read_bytes() == CRD.read_bytes()


def test_chart_ships_only_the_two_crds() -> None:
    names = sorted(p.name for p in (CHART / "crds").iterdir())
    assert names == [CRD.name, "kopf.dev_clusterkopfpeerings.yaml"]


def test_peering_crd_is_kopfs_cluster_scoped_peering() -> None:
    crd = yaml.safe_load((CHART / "crds" / "kopf.dev_clusterkopfpeerings.yaml").read_text())
    assert crd["metadata"]["name"] == "clusterkopfpeerings.kopf.dev"
    assert crd["spec"]["scope"] == "Cluster"
    assert [v["name"] for v in crd["spec"]["versions"]] == ["v1"]
    # kopf writes keep-alives into status with a plain patch: no status subresource.
    assert "subresources" not in crd["spec"]["versions"][0]


def test_chart_app_version_is_the_package_version() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert chart["appVersion"] == project["version"]


def test_default_values_satisfy_the_schema() -> None:
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    jsonschema.Draft7Validator(SCHEMA).validate(VALUES)


@pytest.mark.parametrize(
    ("dotted", "value", "where"), [c[1:] for c in BAD_VALUES], ids=[c[0] for c in BAD_VALUES]
)
def test_schema_rejects_wrong_value(dotted: str, value: Any, where: str) -> None:
    errors = list(jsonschema.Draft7Validator(SCHEMA).iter_errors(_with(dotted, value)))
    assert errors, f"{dotted}={value!r} was accepted"
    said = " ".join(f"/{'/'.join(map(str, e.absolute_path))} {e.message}" for e in errors)
    assert where in said


def _schema_objects(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node:
            yield path or "/", node
        for key, sub in node.items():
            yield from _schema_objects(sub, f"{path}/{key}")


@pytest.mark.parametrize(
    ("path", "node"), list(_schema_objects(SCHEMA)), ids=[p for p, _ in _schema_objects(SCHEMA)]
)
def test_schema_objects_reject_unknown_keys(path: str, node: dict[str, Any]) -> None:
    assert node.get("additionalProperties") is False, f"{path} accepts misspelt keys"


def _leaves(node: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(node, dict) and node:
        for key, sub in node.items():
            yield from _leaves(sub, f"{prefix}.{key}" if prefix else key)
    else:
        yield prefix


@pytest.mark.parametrize("key", list(_leaves(VALUES)))
def test_every_value_is_documented(key: str) -> None:
    reference = (REPO / "docs" / "configuration.md").read_text()
    assert f"`{key}`" in reference, f"docs/configuration.md does not describe `{key}`"


def test_chart_readme_explains_crd_upgrades() -> None:
    readme = (CHART / "README.md").read_text()
    assert "helm show crds" in readme
    assert "kubectl apply --server-side" in readme


def test_every_operator_flag_is_documented(capsys: pytest.CaptureFixture[str]) -> None:
    """A flag added to the operator without a line in the reference fails here."""
    with pytest.raises(SystemExit):
        settings.parse(["--help"], env={})
    usage = capsys.readouterr().out
    flags = sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+|-v)\b", usage)) - {"--help"})
    assert "--default-region" in flags
    reference = (REPO / "docs" / "configuration.md").read_text()
    assert [f for f in flags if f"`{f}`" not in reference] == []
