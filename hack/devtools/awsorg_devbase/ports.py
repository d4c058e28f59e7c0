"""Free TCP ports for the tests' servers, which no other test process is handed meanwhile.

A port is chosen at random below the kernel's ephemeral range (``ip_local_port_range``), where
the kernel never hands out a port by itself: between our choice and our child's bind, no
outgoing connection and no ``bind(0)`` of another process can take it. (When the kernel chose,
two runs side by side lost the operator's metrics port to another process in that moment.)

Other test processes choose the same way: the five of one run, and those of a run in another
clone. So each choice is also reserved on this machine for ``HOLD_SECONDS``, by a file named
for the port in one folder, written under that folder's lock: no other process chooses the
port while our child starts and binds it. (A random choice alone lost the operator's metrics
port to a server of another test process once, in a run of 1541 tests.)
"""

from __future__ import annotations

import fcntl
import os
import random
import socket
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["HOLD_SECONDS", "free_ports"]

HOLD_SECONDS = 300.0  # longer than any server of the tests takes to start and bind
_PORTS = 10_000  # how many ports below the ephemeral range are chosen from
_random = random.SystemRandom()


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports, free on 127.0.0.1 right now and reserved for a while."""
    return choose(count, _random_ports(), _reservations_folder())


def choose(count: int, candidates: Iterable[int], folder: Path) -> list[int]:
    """The first ``count`` of ``candidates`` that are free and reserved by no one, reserved.

    The sockets stay open until all are chosen, so none is handed out twice."""
    sockets: list[socket.socket] = []
    with _reserved(folder) as taken:
        try:
            for _, port in zip(range(100 * count), candidates, strict=False):
                if port in taken:
                    continue
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:  # in use: another
                    sock.close()
                    continue
                sockets.append(sock)
                taken.add(int(sock.getsockname()[1]))
                if len(sockets) == count:
                    ports = [int(sock.getsockname()[1]) for sock in sockets]
                    for chosen in ports:
                        (folder / str(chosen)).touch()
                    return ports
            raise OSError(f"no {count} free ports on 127.0.0.1 below the ephemeral range")
        finally:
            for sock in sockets:
                sock.close()


@contextmanager
def _reserved(folder: Path) -> Iterator[set[int]]:
    """The ports reserved in ``folder`` less than HOLD_SECONDS ago, under the folder's lock;
    older reservations are removed."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        now = time.time()
        taken: set[int] = set()
        for entry in os.scandir(folder):
            if not entry.name.isdigit():
                continue
            if now - entry.stat().st_mtime < HOLD_SECONDS:
                taken.add(int(entry.name))
            else:
                os.unlink(entry.path)
        yield taken


def _reservations_folder() -> Path:
    return Path(tempfile.gettempdir()) / f"awsorg-test-ports-{os.getuid()}"


def _random_ports() -> Iterator[int]:
    """Ports below the ephemeral range; 0 (the kernel's choice) if the range starts too low."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 0
    while True:
        yield 0 if low - _PORTS < 1024 else _random.randrange(low - _PORTS, low)
