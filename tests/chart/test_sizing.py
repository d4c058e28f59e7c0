"""The chart's default memory serves the organization count docs/configuration.md states,
from the table of measured RSS there (written from `hack/bench.sh`): a limit below the
measured figure would have the operator killed at the scale the docs promise."""

from __future__ import annotations

import re

import pytest
import yaml

from .helm import CHART, REPO

pytestmark = pytest.mark.unit

DOC = REPO / "docs" / "configuration.md"
UNITS = {"Mi": 1, "Gi": 1024}


def mib(quantity: str) -> float:
    found = re.fullmatch(r"(\d+)(Mi|Gi)", quantity)
    assert found, f"{quantity}: write memory in Mi or Gi"
    return int(found[1]) * UNITS[found[2]]


def sizing() -> tuple[int, dict[int, float]]:
    """The stated organization count, and the measured RSS (MiB) per organization count."""
    text = DOC.read_text()
    stated = re.search(r"defaults serve (\d+) organizations", text)
    assert stated, "docs/configuration.md must state the count the chart's defaults serve"
    rows = re.findall(r"^\| (\d+) \| (\d+) MiB \|", text, flags=re.MULTILINE)
    assert rows, "docs/configuration.md must have the sizing table"
    return int(stated[1]), {int(n): float(m) for n, m in rows}


def test_the_default_memory_serves_the_stated_organization_count() -> None:
    stated, measured = sizing()
    assert stated in measured, f"no measured RSS for {stated} organizations: {measured}"
    resources = yaml.safe_load((CHART / "values.yaml").read_text())["resources"]
    limit, request = mib(resources["limits"]["memory"]), mib(resources["requests"]["memory"])
    assert limit >= measured[stated], (limit, measured)
    assert request <= limit
    # The table grows with the count: a figure out of order is a typo, not a measurement.
    counts = sorted(measured)
    assert [measured[n] for n in counts] == sorted(measured[n] for n in counts)
