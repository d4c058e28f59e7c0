"""The tests' free ports come from below the kernel's ephemeral range, where no outgoing
connection or bind(0) of another process can take one before our child binds it, and each is
reserved on this machine for a while, so that no other test process chooses it meanwhile."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from awsorg_devbase import free_ports
from awsorg_devbase.ports import HOLD_SECONDS, choose

pytestmark = pytest.mark.unit


def test_free_ports_are_distinct_bindable_and_below_the_ephemeral_range() -> None:
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = free_ports(20)
    assert len(set(ports)) == 20
    assert all(1024 <= p < low for p in ports), (low, ports)
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", port))  # closed when chosen: ours to bind


def test_a_reserved_port_is_not_chosen_again_until_its_hold_ends(tmp_path: Path) -> None:
    (port,) = free_ports(1)
    assert choose(1, [port], tmp_path) == [port]
    with pytest.raises(OSError, match="no 1 free ports"):
        choose(1, [port] * 5, tmp_path)  # free, but reserved
    old = time.time() - HOLD_SECONDS - 1
    os.utime(tmp_path / str(port), (old, old))
    assert choose(1, [port], tmp_path) == [port]


_CHOOSER = """
import json, random, sys
from pathlib import Path
from awsorg_devbase.ports import choose
pool = json.loads(sys.argv[1])
def candidates():
    while True:
        yield random.choice(pool)
print(json.dumps(choose(5, candidates(), Path(sys.argv[2]))))
"""


def test_processes_choosing_at_once_from_the_same_ports_never_share_one(tmp_path: Path) -> None:
    """Four processes each choose five of the same twenty free ports, at random: only the
    reservations keep them apart (a port's socket is closed once it is chosen)."""
    pool = free_ports(20)
    folder = tmp_path / "reserved"
    choosers = [
        subprocess.Popen(
            [sys.executable, "-c", _CHOOSER, json.dumps(pool), str(folder)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    chosen = [json.loads(c.communicate(timeout=60)[0]) for c in choosers]
    assert all(c.returncode == 0 for c in choosers)
    assert sorted(p for ports in chosen for p in ports) == sorted(pool)
