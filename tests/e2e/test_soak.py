"""Reliability row 15 in CI: the short form of `hack/soak.sh` (a long run's figures are in
docs/reliability.md). Every kind of fault comes at least once, then memory is watched."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest

from awsorg_experiments.soak import FAULTS, run

pytestmark = pytest.mark.e2e


@pytest.mark.slow
def test_a_short_soak_keeps_memory_flat_and_writes_once(tmp_path: Path) -> None:
    report = run(7, tmp_path / "soak")
    assert report["passed"], report
    assert set(cast(list[str], report["fault_kinds"])) == {name for name, _ in FAULTS}
    assert report["drifts"] and report["writes"] == report["drifts"]
