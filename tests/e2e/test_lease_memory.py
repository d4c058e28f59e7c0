"""The claim's Lease is read once and then remembered (kube/leases.py), on the real API
server: a steady re-check makes no round trip for it, a conflict makes the next reconcile read
it again, and a Lease changed behind the operator's back is seen once the memory is stale."""

from __future__ import annotations

import pytest
from kubernetes import config

from awsorg_localcluster import LocalControlPlane
from awsorg_operator.kube import calls
from awsorg_operator.kube.leases import KubeLeases
from awsorg_operator.ownership import Holder

pytestmark = pytest.mark.e2e

ORG = "o-leasememory"


def test_a_lease_is_remembered_until_stale_and_forgotten_on_conflict(
    cluster: LocalControlPlane,
) -> None:
    config.load_kube_config(str(cluster.kubeconfig))  # type: ignore[no-untyped-call]
    calls._client = None  # the API client of this configuration, not another test's
    now = [0.0]
    leases = KubeLeases("default", fresh_seconds=60, clock=lambda: now[0])
    other = KubeLeases("default")  # another writer: nothing remembered
    me, them = Holder("uid-me", "me"), Holder("uid-them", "them")
    try:
        assert leases.create(ORG, me)
        first = leases.get(ORG)
        assert first is not None and first.holder == me
        # Changed behind its back: still remembered as written while fresh...
        assert other.replace(ORG, other.get(ORG), them)  # type: ignore[arg-type]
        assert leases.get(ORG) == first
        # ... and a write from the stale memory is refused (409), which forgets it.
        assert not leases.replace(ORG, first, None)
        fresh = leases.get(ORG)
        assert fresh is not None and fresh.holder == them
        # Stale after fresh_seconds: read again.
        assert other.replace(ORG, fresh, me)
        now[0] = 61
        again = leases.get(ORG)
        assert again is not None and again.holder == me
    finally:
        cluster.kubectl("delete", "lease", "-n", "default", f"awsorg-auditmanager-{ORG}")
