"""The benchmark's report from results with no time-to-Ready trials (`--orgs-only`, as the
1000-organization run is made): it used to fail with IndexError after the run had ended."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from awsorg_generators import bench_report

pytestmark = pytest.mark.unit

ORGS_RUN = {
    "organizations": 1000,
    "regions": 2,
    "latency_ms": 100,
    "recheck_seconds": 40.0,
    "recheck_calls": 10000,
    "recheck_writes": 0,
    "calls_by_operation": {"DescribeOrganization": 1.0},
    "cpu_seconds": 12.0,
    "rss_mib": 200.0,
    "threads": 90,
    "first_reconcile_seconds": 100.0,
    "healthz_slowest_seconds": 0.25,
    "metrics_slowest_seconds": 0.5,
    "endpoint_polls": 80,
    "endpoint_missed": 0,
    "profile": {
        "self": [["sign (botocore/auth.py)", 0.1]],
        "inclusive": [["_make_api_call (botocore/client.py)", 0.6]],
        "samples": [["total", 500.0]],
    },
}


def test_an_orgs_only_run_gets_its_report(tmp_path: Path) -> None:
    results = {
        "label": "orgs",
        "date": "2026-12-06 13:00 UTC",
        "cores": 2,
        "load_average": [1.0, 1.0, 1.0],
        "load_after": [2.0, 2.0, 2.0],
        "versions": {"python": "3.11.7"},
        "ready": [],
        "orgs": [ORGS_RUN],
    }
    (tmp_path / "orgs.json").write_text(json.dumps(results))
    doc = tmp_path / "performance.md"
    assert bench_report.main(["--results", str(tmp_path), "--doc", str(doc), "orgs"]) == 0
    text = doc.read_text()
    assert "No time-to-Ready trials" in text
    assert "| orgs | 1000 | 2 | 100 ms | 40.0 s |" in text
    assert "| 0.25 s | 0.50 s |" in text  # the slowest /healthz and /metrics answers
    assert "`sign` (botocore/auth.py)" in text  # the profile's top item
