"""The benchmark's report from results with no time-to-Ready trials (`--orgs-only`, as the
1000-organization run is made): it used to fail with IndexError after the run had ended."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from awsorg_experiments import bench
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


def test_a_profile_is_summed_by_layer(tmp_path: Path) -> None:
    """py-spy's raw stacks by layer: the first matching layer wins, a thread's bootstrap in
    threading.py does not make every sample a hand-off, and our frames under the event
    loop's entry point count as the reconcile, not as kopf."""
    loop = "main (awsorg_operator/__main__.py:38);run (asyncio/runners.py:190)"
    thread = "Thread.run (threading.py:982);_worker (concurrent/futures/thread.py:83)"
    raw = tmp_path / "profile.txt"
    raw.write_text(
        f"{thread};call (aws/bound.py:72);_send (botocore/httpsession.py:509) 6\n"
        f"{thread};add_auth (botocore/auth.py:400) 2\n"
        f"{loop};_timer (kopf/_core/engines/daemons.py:618) 1\n"
        f"{loop};run (awsorg_operator/kube/runtime.py:103) 1\n"
    )
    assert dict(bench.by_layer(raw)) == {
        "AWS calls: HTTP (connect, send, read)": 0.6,
        "AWS calls: SigV4 signing": 0.2,
        "kopf, asyncio, aiohttp (event loop, timers, watches)": 0.1,
        "the reconcile (survey, plan, report, pydantic, series)": 0.1,
    }


def test_the_time_to_ready_above_0_ms_is_judged_against_the_runs_own_path() -> None:
    """Issue 19's target: what the latency added to the p50 (above the same cell at 0 ms),
    over the critical path of the code measured (a run without it: issue 9's depths)."""

    def trials(latency: int, seconds: float) -> dict[str, object]:
        return {
            "mode": "adopt",
            "regions": 1,
            "latency_ms": latency,
            "seconds": [seconds],
            "aws_calls": [9],
            "aws_writes": [0],
        }

    cells = [trials(0, 0.5), trials(100, 1.1)]
    old = {"label": "old", "ready": cells}
    new = {"label": "new", "ready": cells, "critical_path_calls": {"adopt": 3, "setup": 5}}
    table = bench_report.ready_table([old, new])
    # old: 5 calls deep, 0.5 s: 1.1 / 0.5 and 0.6 / 0.5; new: 3 deep, 0.3 s.
    assert "| adopt | 1 | 100 ms | 0.30 s | 1.10 s | 1.10 s | 9 | 2.20 | 1.20 |" in table
    assert table.endswith("| 1.10 s | 1.10 s | 9 | 3.67 | 2.00 |")
