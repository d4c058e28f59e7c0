"""The chart's RBAC and CRDs on a real kube-apiserver: what the operator's ServiceAccount may do.

The rendered chart is applied to a local control plane, then the ServiceAccount's own token
asks the API server (`kubectl auth can-i`, and real requests) for what the operator needs, and
for what it must never get: Secrets, other resources, other verbs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from awsorg_localcluster.controlplane import LocalControlPlane

from .cases import SCENARIOS
from .helm import NAMESPACE, render

pytestmark = pytest.mark.e2e

ACCOUNT = "awsorg-operator"
AMOC = "auditmanagerorgconfigs.awsorg.io"
PEERINGS = "clusterkopfpeerings.kopf.dev"


@dataclass(frozen=True)
class Cluster:
    cp: LocalControlPlane
    operator: Path  # kubeconfig of the operator's ServiceAccount
    scenario: str

    def can_i(self, *args: str) -> bool:
        done = self.cp.kubectl("auth", "can-i", *args, kubeconfig=self.operator, check=False)
        answer = done.stdout.strip()
        assert answer in ("yes", "no"), done.stderr
        return answer == "yes"

    def as_operator(self, *args: str, input: str | None = None) -> tuple[bool, str]:
        done = self.cp.kubectl(*args, kubeconfig=self.operator, check=False, input=input)
        return done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def control_plane() -> Iterator[LocalControlPlane]:
    with LocalControlPlane() as cp:
        cp.kubectl("create", "namespace", NAMESPACE)
        yield cp


@pytest.fixture(scope="module", params=["defaults", "two-replicas"])
def cluster(
    request: pytest.FixtureRequest,
    control_plane: LocalControlPlane,
    helm: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Cluster:
    scenario: str = request.param
    rendered = render(
        helm, tmp_path_factory.mktemp(scenario), SCENARIOS[scenario], include_crds=True
    )
    crds = [m for m in rendered.manifests if m["kind"] == "CustomResourceDefinition"]
    rest = [m for m in rendered.manifests if m["kind"] != "CustomResourceDefinition"]
    apply = ("apply", "--server-side", "--force-conflicts", "--field-manager=helm", "-f", "-")
    control_plane.kubectl(
        *apply, input=json.dumps({"apiVersion": "v1", "kind": "List", "items": crds})
    )
    for crd in crds:
        control_plane.kubectl(
            "wait", "--for=condition=Established", f"crd/{crd['metadata']['name']}", "--timeout=60s"
        )
    control_plane.kubectl(
        *apply, input=json.dumps({"apiVersion": "v1", "kind": "List", "items": rest})
    )
    operator = control_plane.kubeconfig_for_service_account(NAMESPACE, ACCOUNT)
    return Cluster(control_plane, operator, scenario)


#: What the operator needs: (kubectl auth can-i arguments)
ALLOWED = [
    ("list", AMOC),
    ("watch", AMOC),
    ("get", AMOC),
    ("patch", AMOC),
    ("patch", AMOC, "--subresource=status"),
    ("list", "customresourcedefinitions.apiextensions.k8s.io"),
    ("watch", "customresourcedefinitions.apiextensions.k8s.io"),
    ("create", "events", f"--namespace={NAMESPACE}"),
    ("get", "leases.coordination.k8s.io", f"--namespace={NAMESPACE}"),
    ("create", "leases.coordination.k8s.io", f"--namespace={NAMESPACE}"),
    ("update", "leases.coordination.k8s.io", f"--namespace={NAMESPACE}"),
    # The init container that waits for the other workload kind's pods.
    ("list", "pods", f"--namespace={NAMESPACE}"),
]

#: What it must not get.
DENIED = [
    ("get", "secrets", f"--namespace={NAMESPACE}"),
    ("list", "secrets", "--all-namespaces"),
    ("watch", "secrets", "--all-namespaces"),
    ("get", "configmaps", f"--namespace={NAMESPACE}"),
    ("create", AMOC),
    ("update", AMOC),
    ("delete", AMOC),
    ("update", AMOC, "--subresource=status"),
    ("create", "customresourcedefinitions.apiextensions.k8s.io"),
    ("delete", "customresourcedefinitions.apiextensions.k8s.io"),
    ("get", "customresourcedefinitions.apiextensions.k8s.io"),
    ("create", "events", "--namespace=default"),
    ("create", "events.events.k8s.io", f"--namespace={NAMESPACE}"),
    ("patch", "events", f"--namespace={NAMESPACE}"),
    ("list", "namespaces"),
    ("list", "pods", "--all-namespaces"),
    ("create", "pods", f"--namespace={NAMESPACE}"),
    ("get", "pods", f"--namespace={NAMESPACE}"),
    ("watch", "pods", f"--namespace={NAMESPACE}"),
    ("create", "serviceaccounts/token", f"--namespace={NAMESPACE}"),
    ("impersonate", "serviceaccounts"),
    ("escalate", "clusterroles.rbac.authorization.k8s.io"),
    ("bind", "clusterroles.rbac.authorization.k8s.io"),
    ("delete", PEERINGS),
    ("create", PEERINGS),
    ("delete", "leases.coordination.k8s.io", f"--namespace={NAMESPACE}"),
    ("list", "leases.coordination.k8s.io", f"--namespace={NAMESPACE}"),
    ("watch", "leases.coordination.k8s.io", f"--namespace={NAMESPACE}"),
    ("create", "leases.coordination.k8s.io", "--namespace=default"),
    ("get", "leases.coordination.k8s.io", "--namespace=kube-system"),
    ("*", "*"),
]


@pytest.mark.parametrize("args", ALLOWED, ids=" ".join)
def test_operator_may(cluster: Cluster, args: tuple[str, ...]) -> None:
    assert cluster.can_i(*args)


@pytest.mark.parametrize("args", DENIED, ids=" ".join)
def test_operator_may_not(cluster: Cluster, args: tuple[str, ...]) -> None:
    assert not cluster.can_i(*args)


def test_peering_rights_only_with_peering(cluster: Cluster) -> None:
    name = f"{PEERINGS}/awsorg-operator"
    peering = cluster.scenario == "two-replicas"
    assert cluster.can_i("list", PEERINGS) is peering
    assert cluster.can_i("watch", PEERINGS) is peering
    assert cluster.can_i("patch", name) is peering
    # Only its own peering object, never another operator's.
    assert not cluster.can_i("patch", f"{PEERINGS}/someone-else")


def test_operator_does_its_work_with_real_requests(cluster: Cluster) -> None:
    """The writes kopf and the reconciler make, as the ServiceAccount, without a GET first.

    (kubectl would read an object before patching it; kopf does not, so neither do we.)
    """
    name = f"rbac-{cluster.scenario}"
    resource = {
        "apiVersion": "awsorg.io/v1alpha1",
        "kind": "AuditManagerOrgConfig",
        "metadata": {"name": name},
        "spec": {"trustedAccess": "Enabled", "regions": ["us-east-1"]},
    }
    cluster.cp.kubectl("apply", "--server-side", "-f", "-", input=json.dumps(resource))
    api = k8s_config.new_client_from_config(config_file=str(cluster.operator))  # type: ignore[no-untyped-call]
    custom, core = k8s.CustomObjectsApi(api), k8s.CoreV1Api(api)
    amoc = ("awsorg.io", "v1alpha1", "auditmanagerorgconfigs")
    try:
        listed = cast(dict[str, Any], custom.list_cluster_custom_object(*amoc))
        assert name in [i["metadata"]["name"] for i in listed["items"]]
        meta = {
            "metadata": {"finalizers": ["awsorg.io/finalizer"], "annotations": {"awsorg.io/x": "1"}}
        }
        custom.patch_cluster_custom_object(*amoc, name, meta)
        condition = {
            "type": "Ready",
            "status": "False",
            "reason": "Pending",
            "message": "checking",
            "observedGeneration": 1,
            "lastTransitionTime": "2026-05-04T09:15:30Z",
        }
        status = {"status": {"observedGeneration": 1, "conditions": [condition]}}
        custom.patch_cluster_custom_object_status(*amoc, name, status)
        stored = cast(dict[str, Any], custom.get_cluster_custom_object(*amoc, name))
        assert stored["status"]["conditions"] == [condition]
        assert stored["metadata"]["finalizers"] == ["awsorg.io/finalizer"]
        event = k8s.CoreV1Event(
            metadata=k8s.V1ObjectMeta(generate_name="awsorg-", namespace=NAMESPACE),
            involved_object=k8s.V1ObjectReference(
                api_version="awsorg.io/v1alpha1",
                kind="AuditManagerOrgConfig",
                name=name,
                namespace=NAMESPACE,
            ),
            reason="Reconciled",
            message="checking RBAC",
            type="Normal",
        )
        core.create_namespaced_event(NAMESPACE, event)
        with pytest.raises(k8s.ApiException) as denied:
            custom.delete_cluster_custom_object(*amoc, name)
        assert denied.value.status == 403
        with pytest.raises(k8s.ApiException) as denied:
            core.list_namespaced_secret(NAMESPACE)
        assert denied.value.status == 403
        with pytest.raises(k8s.ApiException) as denied:
            custom.replace_cluster_custom_object_status(*amoc, name, stored)
        assert denied.value.status == 403
    finally:
        api.close()
        # As admin: drop the finalizer the operator added, then the resource.
        unblock = '{"metadata":{"finalizers":null}}'
        cluster.cp.kubectl("patch", "amoc", name, "--type=merge", "-p", unblock)
        cluster.cp.kubectl("delete", "amoc", name)
