"""The README's demo: it shows the operator at work, and leaves nothing running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.e2e.conftest import wait_for

pytestmark = pytest.mark.e2e


MARK = "AWSORG_TEST_DEMO_RUN"


def leftovers(run_id: str) -> list[str]:
    """Live processes (zombies aside) that this test's demo started, and no others: every
    process the demo starts inherits its environment, marked with `run_id`. Processes of
    other work on the machine are never counted."""
    marker = f"{MARK}={run_id}".encode()
    alive = []
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            if marker not in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                continue
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if stat.split(") ")[1][0] != "Z" and cmdline:
            alive.append(f"{pid}: {cmdline}")
    return alive


def demo(logs: Path, run_id: str, sigint_ignored: bool = False) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "awsorg_experiments.demo", "--logs", str(logs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, MARK: run_id},
        preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
        if sigint_ignored
        else None,
    )


def test_leftovers_sees_what_the_demo_would_start_and_nothing_else() -> None:
    """The check can fail: a marked process is seen, an unmarked one is not."""
    run_id = uuid.uuid4().hex
    marked = subprocess.Popen(["sleep", "60"], env={**os.environ, MARK: run_id})
    other = subprocess.Popen(["sleep", "60"])
    try:
        wait_for("the marked process", lambda: leftovers(run_id), timeout=10)
        assert [line.split(":")[0] for line in leftovers(run_id)] == [str(marked.pid)]
    finally:
        for p in (marked, other):
            p.kill()
            p.wait()
    assert leftovers(run_id) == []


def test_the_demo_adopts_corrects_a_drift_and_stops_everything(tmp_path: Path) -> None:
    run_id = uuid.uuid4().hex
    run = demo(tmp_path / "logs", run_id)
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
    wait_for("no process left", lambda: not leftovers(run_id), timeout=20)


def test_the_demo_stops_everything_on_ctrl_c(tmp_path: Path) -> None:
    """Also when started with SIGINT ignored, as a background job of a non-interactive shell
    starts it (a test run started with `&`): the demo ran on to the end and exited 0."""
    run_id = uuid.uuid4().hex
    run = demo(tmp_path / "logs", run_id, sigint_ignored=True)
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
    wait_for("no process left", lambda: not leftovers(run_id), timeout=20)
