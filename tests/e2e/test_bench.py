"""The benchmark's quick mode, so that it cannot rot: it runs end to end (control plane,
emulator with latency, the operator as the chart runs it) and writes sane tables and a plot.
It asserts what was measured is whole and consistent, never how fast anything was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from awsorg_experiments import bench
from awsorg_generators import bench_report

pytestmark = pytest.mark.e2e


def test_quick_mode_measures_every_cell_and_writes_the_report(tmp_path: Path) -> None:
    plan = bench.QUICK
    bench.run(plan, "quick", tmp_path)
    doc = tmp_path / "performance.md"
    assert bench_report.main(["--results", str(tmp_path), "--doc", str(doc), "quick"]) == 0

    results = json.loads((tmp_path / "quick.json").read_text())
    cells = {(t["mode"], t["regions"], t["latency_ms"]): t for t in results["ready"]}
    assert set(cells) == {
        (m, r, lat) for m in bench.MODES for r in plan.regions for lat in plan.latencies_ms
    }
    for (mode, regions, _), cell in cells.items():
        assert len(cell["seconds"]) == plan.trials and all(s > 0 for s in cell["seconds"])
        # An adoption writes nothing; a set-up registers each Region once.
        assert cell["aws_writes"] == [0 if mode == "adopt" else regions] * plan.trials, cell
    [orgs] = results["orgs"]
    assert orgs["organizations"] == plan.orgs[0] and orgs["recheck_writes"] == 0
    per_org = sum(orgs["calls_by_operation"].values())
    assert orgs["recheck_calls"] == per_org * orgs["organizations"]
    assert orgs["rss_mib"] > 0 and orgs["threads"] > 0 and orgs["cpu_seconds"] >= 0
    text = doc.read_text()
    assert "| adopt | 2 | 50 ms |" in text and "| setup | 1 | 0 ms |" in text, text
    assert (tmp_path / "performance.png").stat().st_size > 0
