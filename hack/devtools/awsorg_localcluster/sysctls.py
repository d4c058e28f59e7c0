"""The host sysctls the kubelet sets, put back by the last node on this host to stop.

They are the host's, not a namespace's. With two nodes on one host (two test runs side by
side) the second would record the first kubelet's values as the host's, and write them back
for good after the first node had restored the originals. So the first node to start records
the host's values in a ledger under /run, every node adds itself to it, and the last to leave
restores them. A holder whose process is gone (a run killed with SIGKILL) is dropped at the
next visit; the originals it leaves behind are still the host's, and the next node keeps them.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

__all__ = ["KUBELET_SYSCTLS", "SysctlLedger"]

#: Host sysctls the kubelet's container manager sets (pkg/kubelet/cm setupNode).
KUBELET_SYSCTLS = (
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
)


class SysctlLedger:
    """:meth:`join` before a kubelet starts, :meth:`leave` after it stopped."""

    def __init__(
        self,
        holder: str,
        *,
        ledger: Path = Path("/run/awsorg-localcluster/sysctls.json"),
        names: Sequence[str] = KUBELET_SYSCTLS,
        proc_sys: Path = Path("/proc/sys"),
    ) -> None:
        self._holder = holder
        self._ledger = ledger
        self._names = names
        self._proc_sys = proc_sys

    def join(self) -> None:
        with self._open() as ledger:
            # Originals left with no live holder are a killed run's: still the host's own.
            if not ledger["holders"] and not ledger["originals"]:
                ledger["originals"] = self._read()
            ledger["holders"][self._holder] = os.getpid()

    def leave(self) -> None:
        with self._open() as ledger:
            ledger["holders"].pop(self._holder, None)
            if not ledger["holders"]:
                self._restore(ledger["originals"])

    def _read(self) -> dict[str, str]:
        values = {}
        for name in self._names:
            with contextlib.suppress(OSError):
                values[name] = (self._proc_sys / name).read_text().strip()
        return values

    def _restore(self, originals: dict[str, str]) -> None:
        for name, value in originals.items():
            path = self._proc_sys / name
            with contextlib.suppress(OSError):
                if path.read_text().strip() != value:
                    path.write_text(value)

    @contextlib.contextmanager
    def _open(self) -> Iterator[dict[str, Any]]:
        """The ledger, read and written under an exclusive lock; gone when nobody holds it."""
        self._ledger.parent.mkdir(parents=True, exist_ok=True)
        with self._ledger.with_suffix(".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            ledger: dict[str, Any] = {"originals": {}, "holders": {}}
            with contextlib.suppress(FileNotFoundError, ValueError):
                ledger = json.loads(self._ledger.read_text())
            ledger["holders"] = {h: p for h, p in ledger["holders"].items() if _alive(p)}
            yield ledger
            if ledger["holders"]:
                self._ledger.write_text(json.dumps(ledger))
            else:
                self._ledger.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
