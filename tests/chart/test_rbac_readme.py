"""The chart README's RBAC table is the chart's rules, rule for rule (issue 17, finding 4: the
README said the Role only created Events, and users granting the rules themselves got
KubernetesError on every reconcile, for want of the Leases)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from .helm import CHART, render

pytestmark = pytest.mark.integration  # runs helm

README = CHART / "README.md"
PEERING_NAME = "<peering.name>"

# (kind, API group, resource, resource names, verbs): one rule of one role.
Rule = tuple[str, str, str, tuple[str, ...], tuple[str, ...]]


def _ticked(cell: str) -> list[str]:
    return re.findall(r"`([^`]*)`", cell)


def readme_rules(peering: bool) -> set[Rule]:
    """The rows of the README's RBAC table that apply with or without peering."""
    section = README.read_text().split("## RBAC\n", 1)[1].split("\n## ", 1)[0]
    rules = set()
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 7 or cells[0] not in ("ClusterRole", "Role"):
            continue
        kind, group, resource, names, verbs, when, _ = cells
        if when not in ("always", "peering"):
            raise AssertionError(f"README RBAC row with an unknown 'When': {line}")
        if when == "peering" and not peering:
            continue
        (group_name,) = _ticked(group)
        (resource_name,) = _ticked(resource)
        named = () if names == "any" else tuple(_ticked(names))
        rules.add((kind, group_name.strip('"'), resource_name, named, tuple(_ticked(verbs))))
    return rules


def rendered_rules(manifests: list[dict[str, Any]], peering_name: str) -> set[Rule]:
    rules = set()
    for role in manifests:
        for rule in role["rules"]:
            names = tuple(
                PEERING_NAME if n == peering_name else n for n in rule.get("resourceNames", [])
            )
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    rules.add((role["kind"], group, resource, names, tuple(rule["verbs"])))
    return rules


@pytest.mark.parametrize(
    ("values", "peering"),
    [({}, False), ({"replicaCount": 2}, True), ({"peering": {"enabled": True}}, True)],
    ids=["one-replica", "replicas", "peering-enabled"],
)
def test_the_readme_lists_exactly_the_rules_the_chart_renders(
    helm: Path, tmp_path: Path, values: dict[str, Any], peering: bool
) -> None:
    rendered = render(helm, tmp_path, values)
    roles = rendered.of_kind("ClusterRole") + rendered.of_kind("Role")
    assert {r["kind"] for r in roles} == {"ClusterRole", "Role"}
    peering_name = roles[0]["metadata"]["name"]  # peering.name defaults to the full name
    documented, actual = readme_rules(peering), rendered_rules(roles, peering_name)
    assert documented == actual, (
        f"in the README only: {sorted(documented - actual)}\n"
        f"in the chart only: {sorted(actual - documented)}"
    )
