"""kopf's requests to the API server share a bounded pool of connections (kube/session.py).
An operator started among hundreds of resources being deleted sends hundreds of requests at
once; with a connection each, as kopf's own session opens them, their TLS buffers took the
chart's pod past its memory limit at every restart."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

from awsorg_devstack import Operator
from awsorg_localcluster import LocalControlPlane
from awsorg_operator.api import FINALIZER, GROUP, PLURAL, VERSION
from awsorg_operator.kube.calls import POOL_CONNECTIONS
from awsorg_operator.kube.session import CONNECTIONS
from tests.e2e.conftest import Kube, wait_for
from tests.e2e.test_operator import amoc

pytestmark = pytest.mark.e2e

COUNT = 300
ESTABLISHED = "01"  # the state column of /proc/net/tcp


def connections(pid: int, port: int) -> int:
    """The process's established TCP connections to `port`: its socket descriptors matched
    against the kernel's table of its network namespace."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote, state, inode = fields[2], fields[3], fields[9]
        count += state == ESTABLISHED and inode in inodes and int(remote[-4:], 16) == port
    return count


@pytest.mark.slow
def test_a_start_among_hundreds_of_deletions_holds_few_connections(
    kube: Kube, operator: Operator, cluster: LocalControlPlane
) -> None:
    names = [f"many-{i}" for i in range(COUNT)]
    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "List",
            "items": [amoc(n, trustedAccess="Enabled", managementPolicy="Observe") for n in names],
        }
    )
    wait_for(
        f"{COUNT} resources with the operator's finalizer",
        lambda: (
            kube("get", "amoc", "-o", "jsonpath={.items[*].metadata.finalizers}").stdout.count(
                FINALIZER
            )
            == COUNT
        ),
        timeout=300,
    )
    operator.stop()
    # One DELETE of the collection: every resource waits on the finalizer at once.
    kube("delete", "--raw", f"/apis/{GROUP}/{VERSION}/{PLURAL}")
    operator.start()
    pid, port = operator.process.pid, urlparse(cluster.server).port
    assert pid is not None and port is not None
    most, done = 0, threading.Event()

    def sample() -> None:
        nonlocal most
        while not done.wait(0.05):
            try:
                most = max(most, connections(pid, port))
            except OSError:  # the process ended
                return

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        wait_for("every resource gone", lambda: not kube.names(), timeout=300)
    finally:
        done.set()
        sampler.join()
    # kopf's session, and the kubernetes client's pool of the operator's own calls (Leases).
    assert 0 < most <= CONNECTIONS + POOL_CONNECTIONS, most
