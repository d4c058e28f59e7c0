"""The tests' free ports come from below the kernel's ephemeral range, where no outgoing
connection or bind(0) of another process can take one before our child binds it."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from awsorg_devbase import free_ports

pytestmark = pytest.mark.unit


def test_free_ports_are_distinct_bindable_and_below_the_ephemeral_range() -> None:
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    ports = free_ports(20)
    assert len(set(ports)) == 20
    assert all(1024 <= p < low for p in ports), (low, ports)
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", port))  # closed when chosen: ours to bind
