"""Claims on organizations as Kubernetes Leases (coordination.k8s.io/v1), in the operator's
namespace: one per organization, `spec.holderIdentity` the owning resource's UID. They never
expire (no leaseDurationSeconds): a claim lasts as long as its resource.

Blocking calls of the kubernetes client: run from the reconcile's worker thread.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import kubernetes
import urllib3

from awsorg_operator.failures import KubernetesCallError
from awsorg_operator.ownership import LEASE_PREFIX, Holder, Lease

HOLDER_NAME = "awsorg.io/holder-name"
PREVIOUS_HOLDER = "awsorg.io/previous-holder"
REQUEST_TIMEOUT = 10


class KubeLeases:
    def __init__(self, namespace: str) -> None:
        self._namespace = namespace

    def _api(self) -> Any:
        # Built per call: kopf's login loaded the configuration; a new client is cheap.
        return kubernetes.client.CoordinationV1Api()

    def get(self, org_id: str) -> Lease | None:
        try:
            body = self._api().read_namespaced_lease(
                _name(org_id), self._namespace, _request_timeout=REQUEST_TIMEOUT
            )
        except kubernetes.client.ApiException as e:
            if e.status == 404:
                return None
            raise KubernetesCallError("GetLease", e) from e
        except urllib3.exceptions.HTTPError as e:
            raise KubernetesCallError("GetLease", e) from e
        annotations = body.metadata.annotations or {}
        uid = body.spec.holder_identity
        holder = Holder(uid, annotations.get(HOLDER_NAME, "")) if uid else None
        return Lease(holder, annotations.get(PREVIOUS_HOLDER), body.metadata.resource_version)

    def create(self, org_id: str, holder: Holder) -> bool:
        body = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {
                "name": _name(org_id),
                "labels": {"app.kubernetes.io/managed-by": "awsorg-operator"},
                "annotations": {HOLDER_NAME: holder.name},
            },
            "spec": {"holderIdentity": holder.uid, "acquireTime": _now()},
        }
        return self._conflict_is_false(
            lambda api: api.create_namespaced_lease(
                self._namespace, body, _request_timeout=REQUEST_TIMEOUT
            )
        )

    def replace(self, org_id: str, lease: Lease, holder: Holder | None) -> bool:
        previous = lease.holder.name if lease.holder else lease.previous
        annotations = {HOLDER_NAME: holder.name if holder else None, PREVIOUS_HOLDER: previous}
        body = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {
                "name": _name(org_id),
                # The version read: the API server refuses the write (409) if it moved.
                "resourceVersion": lease.version,
                "labels": {"app.kubernetes.io/managed-by": "awsorg-operator"},
                "annotations": {k: v for k, v in annotations.items() if v},
            },
            "spec": {"holderIdentity": holder.uid, "acquireTime": _now()} if holder else {},
        }
        return self._conflict_is_false(
            lambda api: api.replace_namespaced_lease(
                _name(org_id), self._namespace, body, _request_timeout=REQUEST_TIMEOUT
            )
        )

    def _conflict_is_false(self, write: Any) -> bool:
        try:
            write(self._api())
        except kubernetes.client.ApiException as e:
            if e.status == 409:
                return False
            raise KubernetesCallError("WriteLease", e) from e
        except urllib3.exceptions.HTTPError as e:
            raise KubernetesCallError("WriteLease", e) from e
        return True


def _name(org_id: str) -> str:
    return LEASE_PREFIX + org_id


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
