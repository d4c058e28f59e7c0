"""The chart's default memory serves the organization count docs/configuration.md states, from
the table there, measured on the one-node cluster (`hack/node-sizing.sh`): the chart's
request and limit are that count's row, and every row keeps its headroom over what the
container peaked at. tests/node/test_memory.py then holds the default limit at that count."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
import yaml

from .helm import CHART, REPO

pytestmark = pytest.mark.unit

DOC = REPO / "docs" / "configuration.md"
UNITS = {"Mi": 1, "Gi": 1024}
# The limit over the measured peak, as docs/configuration.md states it.
HEADROOM = 1.5
ROW = re.compile(
    r"^\| (\d+) \| (\d+) MiB \|.*\| `(\d+(?:Mi|Gi))` \| `(\d+(?:Mi|Gi))` \|$", re.MULTILINE
)


@dataclass(frozen=True)
class Row:
    peak: float  # MiB, the container cgroup's high-water mark
    request: float
    limit: float


def mib(quantity: str) -> int:
    found = re.fullmatch(r"(\d+)(Mi|Gi)", quantity)
    assert found, f"{quantity}: write memory in Mi or Gi"
    return int(found[1]) * UNITS[found[2]]


def sizing() -> tuple[int, dict[int, Row]]:
    """The stated organization count, and the sizing table by organization count."""
    text = DOC.read_text()
    stated = re.search(r"defaults serve (\d+) organizations", text)
    assert stated, "docs/configuration.md must state the count the chart's defaults serve"
    rows = {int(n): Row(float(p), mib(r), mib(li)) for n, p, r, li in ROW.findall(text)}
    assert rows, "docs/configuration.md must have the sizing table"
    return int(stated[1]), rows


def test_the_default_memory_is_the_sizing_row_of_the_stated_organization_count() -> None:
    stated, rows = sizing()
    assert stated in rows, f"no measured row for {stated} organizations: {sorted(rows)}"
    resources = yaml.safe_load((CHART / "values.yaml").read_text())["resources"]
    limit, request = mib(resources["limits"]["memory"]), mib(resources["requests"]["memory"])
    assert (request, limit) == (rows[stated].request, rows[stated].limit)


@pytest.mark.parametrize("count", sorted(sizing()[1]))
def test_every_sizing_row_keeps_its_headroom(count: int) -> None:
    row = sizing()[1][count]
    assert row.request >= row.peak, "the request reserves what the operator peaked at"
    assert row.limit >= HEADROOM * row.peak, f"the limit keeps {HEADROOM}x the peak"
    assert row.request <= row.limit


def test_the_measured_peak_grows_with_the_organization_count() -> None:
    # A figure out of order is a typo, not a measurement.
    rows = sizing()[1]
    peaks = [rows[n].peak for n in sorted(rows)]
    assert peaks == sorted(peaks)
