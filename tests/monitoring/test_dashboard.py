"""The chart's Grafana dashboard is what hack/devtools' generator (grafana-foundation-sdk)
makes, and holds the panels docs/monitoring.md describes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from awsorg_generators import dashboard

pytestmark = pytest.mark.unit

MONITORING_DOC = Path(__file__).resolve().parents[2] / "docs" / "monitoring.md"


def test_the_chart_dashboard_is_in_step_with_its_generator() -> None:
    assert dashboard.OUTPUT.read_text() == dashboard.render(), (
        "run: .venv/bin/python -m awsorg_generators.dashboard"
    )
    assert dashboard.main(["--check"]) == 0


def test_every_panel_queries_the_chosen_data_source_and_is_described() -> None:
    board = json.loads(dashboard.render())
    panels = [p for p in board["panels"] if p["type"] != "row"]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids)), ids
    documented = set(re.findall(r"^- \*\*(.+?)\*\*", MONITORING_DOC.read_text(), re.MULTILINE))
    documented |= {
        t
        for line in re.findall(r"\*\*(.+?)\*\* and \*\*(.+?)\*\*", MONITORING_DOC.read_text())
        for t in line
    }
    for panel in panels:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], panel["title"]
        assert all(t["datasource"] == panel["datasource"] for t in panel["targets"])
        assert panel["title"] in documented, f"docs/monitoring.md: no panel {panel['title']!r}"
