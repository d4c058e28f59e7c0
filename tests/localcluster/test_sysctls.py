"""Two nodes on one host: the host's sysctls come back only when the last one stops.

A folder of files stands in for /proc/sys, the "kubelet" writes to it as the real one does
to the host, and each node's holder is a real process of its own (the ledger forgets a
holder whose process is gone)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from awsorg_localcluster.sysctls import SysctlLedger

pytestmark = pytest.mark.unit

NAMES = ("vm/overcommit_memory", "kernel/panic")
HOST = {"vm/overcommit_memory": "0", "kernel/panic": "0"}
KUBELET = {"vm/overcommit_memory": "1", "kernel/panic": "10"}


@pytest.fixture
def proc_sys(tmp_path: Path) -> Path:
    root = tmp_path / "proc-sys"
    write(root, HOST)
    return root


def write(root: Path, values: dict[str, str]) -> None:
    for name, value in values.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(value + "\n")


def read(root: Path) -> dict[str, str]:
    return {name: (root / name).read_text().strip() for name in NAMES}


def ledger_for(holder: str, proc_sys: Path) -> SysctlLedger:
    return SysctlLedger(
        holder, ledger=proc_sys.parent / "run" / "sysctls.json", names=NAMES, proc_sys=proc_sys
    )


def test_the_last_node_to_stop_restores_the_hosts_values(proc_sys: Path) -> None:
    first, second = ledger_for("node-a", proc_sys), ledger_for("node-b", proc_sys)
    first.join()
    write(proc_sys, KUBELET)  # the first kubelet starts
    second.join()  # sees the first kubelet's values: they must not become "the host's"
    first.leave()
    assert read(proc_sys) == KUBELET, "the second node's kubelet still runs"
    second.leave()
    assert read(proc_sys) == HOST
    assert not (proc_sys.parent / "run" / "sysctls.json").exists()


@pytest.fixture
def dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(done.stdout)


def test_a_killed_runs_originals_are_kept_and_restored(proc_sys: Path, dead_pid: int) -> None:
    killed = ledger_for("killed", proc_sys)
    killed.join()
    write(proc_sys, KUBELET)
    # The run is killed: its holder's process is gone, the kubelet's values stay.
    ledger = proc_sys.parent / "run" / "sysctls.json"
    ledger.write_text(ledger.read_text().replace(f": {os.getpid()}", f": {dead_pid}"))
    later = ledger_for("later", proc_sys)
    later.join()
    later.leave()
    assert read(proc_sys) == HOST
