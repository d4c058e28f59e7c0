"""The README's demo: it shows the operator at work, and leaves nothing running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import wait_for

pytestmark = pytest.mark.e2e


def running_pids() -> set[int]:
    return {int(p) for p in os.listdir("/proc") if p.isdigit()}


def leftovers(before: set[int]) -> list[str]:
    """Processes started since `before` that are still alive (zombies aside)."""
    alive = []
    for pid in running_pids() - before:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if stat.split(") ")[1][0] != "Z" and cmdline:
            alive.append(f"{pid}: {cmdline}")
    return alive


def demo(logs: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "awsorg_devstack.demo", "--logs", str(logs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_the_demo_adopts_corrects_a_drift_and_stops_everything(tmp_path: Path) -> None:
    before = running_pids()
    run = demo(tmp_path / "logs")
    out, _ = run.communicate(timeout=300)
    assert run.returncode == 0, out
    for words in (
        "condition met",
        "Reconciled",
        "Drifted",
        "UpdateSettings",
        "everything it started has stopped",
        str(tmp_path / "logs"),
    ):
        assert words in out, out
    assert (tmp_path / "logs" / "operator.log").read_text()
    wait_for("no process left", lambda: not leftovers(before), timeout=20)


def test_the_demo_stops_everything_on_ctrl_c(tmp_path: Path) -> None:
    before = running_pids()
    run = demo(tmp_path / "logs")
    assert run.stdout is not None
    seen = []
    for line in run.stdout:  # until the operator is up and working
        seen.append(line)
        if "kubectl apply" in line:
            break
    run.send_signal(signal.SIGINT)
    out, _ = run.communicate(timeout=60)
    assert run.returncode == 130, "".join(seen) + out
    assert "Interrupted" in out
    wait_for("no process left", lambda: not leftovers(before), timeout=20)
