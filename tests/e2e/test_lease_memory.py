"""The claim's Lease is read once and then remembered (kube/leases.py), on the real API
server: a steady re-check makes no round trip for it, a conflict makes the next reconcile read
it again, and a Lease changed behind the operator's back is seen once the memory is stale.
Whether a claim's holder still exists is read from the API server, never remembered."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import config

from awsorg_localcluster import LocalControlPlane
from awsorg_operator.kube import calls
from awsorg_operator.kube.leases import KubeLeases
from awsorg_operator.ownership import Holder
from tests.e2e.conftest import Kube
from tests.e2e.test_operator import amoc

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


def test_a_holder_is_looked_up_on_the_api_server_with_the_charts_rights(
    cluster: LocalControlPlane, operator_kubeconfig: Path, kube: Kube
) -> None:
    config.load_kube_config(str(operator_kubeconfig))  # type: ignore[no-untyped-call]
    calls._client = None
    leases = KubeLeases("default")
    try:
        assert leases.resource("lease-holder") is None
        kube.apply(amoc("lease-holder", trustedAccess="Enabled"))
        uid = kube.get("lease-holder")["metadata"]["uid"]
        assert leases.resource("lease-holder") == Holder(uid, "lease-holder")
        # Deleted and created again under its name: the new UID, not a remembered one.
        kube("delete", "amoc", "lease-holder")  # no operator: no finalizer holds it
        kube.apply(amoc("lease-holder", trustedAccess="Enabled"))
        again = kube.get("lease-holder")["metadata"]["uid"]
        assert again != uid and leases.resource("lease-holder") == Holder(again, "lease-holder")
    finally:
        calls._client = None
        kube("delete", "amoc", "lease-holder", "--ignore-not-found")
