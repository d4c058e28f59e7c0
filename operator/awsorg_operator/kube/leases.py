"""Claims on organizations as Kubernetes Leases (coordination.k8s.io/v1), in the operator's
namespace: one per organization, `spec.holderIdentity` the owning resource's UID. They never
expire (no leaseDurationSeconds): a claim lasts as long as its resource (`ownership.py`).

Blocking calls of the kubernetes client: run from the reconcile's worker thread.
"""

from __future__ import annotations

from typing import Any

import kubernetes

from awsorg_operator import clock
from awsorg_operator.kube.calls import REQUEST_TIMEOUT, kube_call
from awsorg_operator.ownership import Holder, Lease

LEASE_PREFIX = "awsorg-auditmanager-"
HOLDER_NAME = "awsorg.io/holder-name"
PREVIOUS_HOLDER = "awsorg.io/previous-holder"
_LABELS = {"app.kubernetes.io/managed-by": "awsorg-operator"}


class KubeLeases:
    def __init__(self, namespace: str) -> None:
        self._namespace = namespace

    def _api(self) -> Any:
        # Built per call: kopf's login loaded the configuration; a new client is cheap.
        return kubernetes.client.CoordinationV1Api()

    def get(self, org_id: str) -> Lease | None:
        body = kube_call(
            "GetLease",
            lambda: self._api().read_namespaced_lease(
                _name(org_id), self._namespace, _request_timeout=REQUEST_TIMEOUT
            ),
            allowed=(404,),
        )
        if body is None:
            return None
        annotations = body.metadata.annotations or {}
        uid = body.spec.holder_identity
        holder = Holder(uid, annotations.get(HOLDER_NAME, "")) if uid else None
        return Lease(holder, annotations.get(PREVIOUS_HOLDER), body.metadata.resource_version)

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
        return written is not None

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
        return written is not None


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
