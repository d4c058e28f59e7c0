"""Claims on organizations as Kubernetes Leases (coordination.k8s.io/v1), in the operator's
namespace: one per organization, `spec.holderIdentity` the owning resource's UID. They never
expire (no leaseDurationSeconds): a claim lasts as long as its resource (`ownership.py`).

Blocking calls of the kubernetes client: run from the reconcile's worker thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import kubernetes

from awsorg_operator import clock
from awsorg_operator.api import GROUP, PLURAL, VERSION
from awsorg_operator.kube.calls import REQUEST_TIMEOUT, api_client, kube_call
from awsorg_operator.ownership import Holder, Lease

LEASE_PREFIX = "awsorg-auditmanager-"
HOLDER_NAME = "awsorg.io/holder-name"
PREVIOUS_HOLDER = "awsorg.io/previous-holder"
_LABELS = {"app.kubernetes.io/managed-by": "awsorg-operator"}


# How long a Lease this process read or wrote is trusted without reading it again. Only this
# process writes these Leases (one operator is active at a time), and every write it makes
# updates what it remembers; a conflict (409) forgets it. What the memory can miss is a Lease
# edited or deleted by hand: that is seen at the first reconcile after this many seconds.
LEASE_FRESH_SECONDS = 600.0


class KubeLeases:
    """The Leases, each read once and then remembered (`LEASE_FRESH_SECONDS`): a steady
    re-check costs no Kubernetes round trip for its claim."""

    def __init__(
        self,
        namespace: str,
        fresh_seconds: float = LEASE_FRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._namespace = namespace
        self._fresh_seconds = fresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[Lease | None, float]] = {}

    def _remember(self, org_id: str, lease: Lease | None) -> None:
        with self._lock:
            self._seen[org_id] = (lease, self._clock())

    def _forget(self, org_id: str) -> None:
        with self._lock:
            self._seen.pop(org_id, None)

    def _remembered(self, org_id: str) -> tuple[bool, Lease | None]:
        with self._lock:
            lease, at = self._seen.get(org_id, (None, -1.0))
        fresh = at >= 0 and self._clock() - at <= self._fresh_seconds
        return fresh and lease is not None, lease

    def _api(self) -> Any:
        return kubernetes.client.CoordinationV1Api(api_client())

    def get(self, org_id: str) -> Lease | None:
        known, lease = self._remembered(org_id)
        if known:
            return lease
        lease = self._read(org_id)
        self._remember(org_id, lease)
        return lease

    def _read(self, org_id: str) -> Lease | None:
        body = kube_call(
            "GetLease",
            lambda: self._api().read_namespaced_lease(
                _name(org_id), self._namespace, _request_timeout=REQUEST_TIMEOUT
            ),
            allowed=(404,),
        )
        return None if body is None else _parse(body)

    def create(self, org_id: str, holder: Holder) -> bool:
        """False when another writer created it first (409)."""
        body = _lease(org_id, {HOLDER_NAME: holder.name}, holder)
        written = kube_call(
            "WriteLease",
            lambda: self._api().create_namespaced_lease(
                self._namespace, body, _request_timeout=REQUEST_TIMEOUT
            ),
            allowed=(409,),
        )
        return self._written(org_id, written)

    def replace(self, org_id: str, lease: Lease, holder: Holder | None) -> bool:
        """False when the Lease moved since `lease` was read (409)."""
        previous = lease.holder.name if lease.holder else lease.previous
        annotations = {HOLDER_NAME: holder.name if holder else None, PREVIOUS_HOLDER: previous}
        body = _lease(org_id, {k: v for k, v in annotations.items() if v}, holder)
        # The version read: the API server refuses the write (409) if it moved.
        body["metadata"]["resourceVersion"] = lease.version
        written = kube_call(
            "WriteLease",
            lambda: self._api().replace_namespaced_lease(
                _name(org_id), self._namespace, body, _request_timeout=REQUEST_TIMEOUT
            ),
            allowed=(409,),
        )
        return self._written(org_id, written)

    def resource(self, name: str) -> Holder | None:
        """Read from the API server, never from a cache: this decides a take-over."""
        custom: Any = kubernetes.client.CustomObjectsApi(api_client())
        body = kube_call(
            "GetResource",
            lambda: custom.get_cluster_custom_object(
                GROUP, VERSION, PLURAL, name, _request_timeout=REQUEST_TIMEOUT
            ),
            allowed=(404,),
        )
        return None if body is None else Holder(str(body["metadata"]["uid"]), name)

    def _written(self, org_id: str, body: Any) -> bool:
        """Remembers the Lease as written; a conflict (None) forgets it: read it again."""
        if body is None:
            self._forget(org_id)
            return False
        self._remember(org_id, _parse(body))
        return True


def _parse(body: Any) -> Lease:
    annotations = body.metadata.annotations or {}
    uid = body.spec.holder_identity
    holder = Holder(uid, annotations.get(HOLDER_NAME, "")) if uid else None
    return Lease(holder, annotations.get(PREVIOUS_HOLDER), body.metadata.resource_version)


def _lease(org_id: str, annotations: dict[str, str], holder: Holder | None) -> dict[str, Any]:
    now = clock.micro_time(clock.utcnow())
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": _name(org_id), "labels": dict(_LABELS), "annotations": annotations},
        "spec": {"holderIdentity": holder.uid, "acquireTime": now} if holder else {},
    }


def _name(org_id: str) -> str:
    return LEASE_PREFIX + org_id
