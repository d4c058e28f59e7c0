"""Argo CD's app of apps on the one-node cluster (issue item 4.6): the operator is the
chart's pod, so its Application becomes Healthy because its Deployment is Available, and the
root syncs sync wave 1 by itself; then the scenarios a user meets through Argo CD.

A real Argo CD (application-controller, repo-server, redis, `git daemon`; awsorg_argocd) runs
on this machine against the node's API server. The repository's chart and `argocd/` are pushed
to a local Git repository laid out as docs/argocd.md tells users; the only edit is the one the
docs ask for, in the one place they name: argocd/root-application.yaml (repository, and the
chart's values under `operator`: the image from hack/image.sh loaded into the node, and the
emulator on the node's host address as AWS, as tests/node/conftest.py's values file says).
Nothing is rendered or applied by hand but the root.

The module leaves the node as it found it: the Applications, the resources (with the
operator's help), what Argo CD synced from the chart (CRDs included) and Argo CD's own
namespace and CRDs are deleted at the end.
"""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pytest
import yaml

from awsorg_argocd import ArgoCD, LocalGitRepo
from awsorg_devstack import REPO
from awsorg_emulator import WORKLOADS_ACCOUNT_ID, EmulatorControl, EmulatorProcess
from awsorg_localcluster import LocalControlPlane, LocalNode
from tests.e2e.conftest import AUDIT
from tests.e2e.test_operator import aws
from tests.node.conftest import NAMESPACE, RELEASE, Helm, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.node]

ROOT_APP = REPO / "argocd" / "root-application.yaml"
CM_PATCH = REPO / "argocd" / "argocd-cm-patch.yaml"
ORGANIZATION = "argocd/organizations/my-organization.yaml"
NAME = "my-organization"
REGIONS = ["us-east-1", "eu-west-1"]
APPS = ("awsorg", "awsorg-operator", "awsorg-resources")  # the root first: it re-creates
SYNC_TIMEOUT = 180.0  # generous: other builds and test runs share the cores
# The pod starts, the operator becomes ready, then wave 1. Under load Argo CD's cache was seen
# to keep a just-created CRD "being installed" (so the Application Progressing) for 3 minutes.
FIRST_SYNC_TIMEOUT = 600.0


@dataclass
class GitOps:
    cluster: LocalControlPlane
    argocd: ArgoCD
    repo: LocalGitRepo
    control: EmulatorControl
    root: dict[str, Any] = field(default_factory=dict)

    def kubectl(
        self, *args: str, check: bool = True, input: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return self.cluster.kubectl(*args, check=check, input=input, timeout=timeout)

    def amoc(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.kubectl("get", "amoc", NAME, "-o", "json").stdout)
        return loaded

    def ready(self) -> dict[str, Any]:
        return next(c for c in self.amoc()["status"]["conditions"] if c["type"] == "Ready")

    def admin(self, region: str) -> str | None:
        admin: str | None = self.control.state()["auditManager"][region]["adminAccountID"]
        return admin

    def organization(self) -> dict[str, Any]:
        loaded: dict[str, Any] = yaml.safe_load(self.repo.read(ORGANIZATION))
        return loaded

    def commit(self, organization: dict[str, Any], message: str) -> str:
        """A person's change: edit the file in Git, commit, push; then the refresh a webhook
        from the Git host would trigger."""
        self.repo.write(ORGANIZATION, yaml.safe_dump(organization, sort_keys=False))
        revision = self.repo.commit_and_push(message)
        self.argocd.refresh("awsorg-resources")
        return revision

    def app_state(self, name: str) -> tuple[str, str, str]:
        """Sync status, synced revision, health; empty while the Application does not exist."""
        status = self.argocd.application(name).get("status", {}) if self.argocd.exists(name) else {}
        return (
            status.get("sync", {}).get("status", ""),
            status.get("sync", {}).get("revision", ""),
            status.get("health", {}).get("status", ""),
        )

    def resource_health(self, app: str, kind: str, name: str) -> dict[str, str]:
        """The health Argo CD computed for one resource (the Lua's status and message)."""
        for resource in self.argocd.application(app).get("status", {}).get("resources", []):
            if (resource["kind"], resource["name"]) == (kind, name):
                health: dict[str, str] = resource.get("health", {})
                return health
        return {}

    def wait_app(
        self,
        name: str,
        *,
        revision: str | None = None,
        health: str | None = None,
        timeout: float = SYNC_TIMEOUT,
    ) -> dict[str, Any]:
        def reached() -> bool:
            sync, synced_revision, app_health = self.app_state(name)
            return (
                sync == "Synced"
                and (revision is None or synced_revision == revision)
                and (health is None or app_health == health)
            )

        wait_for(f"{name} Synced at {revision} and {health}", reached, timeout=timeout)
        return self.argocd.application(name)

    def wait_amoc_health(self, status: str, message_part: str) -> dict[str, str]:
        def reached() -> dict[str, str] | None:
            health = self.resource_health("awsorg-resources", "AuditManagerOrgConfig", NAME)
            ok = health.get("status") == status and message_part in health.get("message", "")
            return health if ok else None

        found: dict[str, str] = wait_for(
            f"{NAME} {status} with {message_part!r} in Argo CD", reached, timeout=SYNC_TIMEOUT
        )
        return found

    def diagnostics(self) -> str:
        lines = ["\n--- Argo CD ---", self.argocd.log_tails()]
        for name in APPS:
            if self.argocd.exists(name):
                status = self.argocd.application(name).get("status", {})
                lines += [f"--- Application {name} status ---", json.dumps(status, indent=1)[:4000]]
        return "\n".join(lines)


def remove_synced(gitops: GitOps) -> None:
    """Leaves the node as the module found it. The Applications go first (none has Argo CD's
    resources finalizer, so nothing cascades, and nothing re-creates what follows); then the
    resources, while the operator still runs to release its finalizer; then what Argo CD
    synced from the chart, the CRDs last, and the namespace it created."""
    synced: list[dict[str, Any]] = []
    if gitops.argocd.exists("awsorg-operator"):
        synced = gitops.argocd.application("awsorg-operator").get("status", {}).get("resources", [])
    gitops.kubectl("-n", "argocd", "delete", "application", *APPS, "--ignore-not-found")
    gitops.kubectl("delete", "amoc", "--all", "--timeout=120s", check=False, timeout=180)
    crds = [r for r in synced if r["kind"] == "CustomResourceDefinition"]
    for resource in [r for r in synced if r not in crds] + crds:
        kind = ".".join(filter(None, (resource["kind"].lower(), resource.get("group"))))
        where = ["-n", resource["namespace"]] if resource.get("namespace") else []
        gitops.kubectl(*where, "delete", kind, resource["name"], "--ignore-not-found",
                       "--timeout=120s", check=False, timeout=180)  # fmt: skip
    gitops.kubectl("delete", "namespace", NAMESPACE, "--ignore-not-found", "--timeout=180s",
                   timeout=240)  # fmt: skip


def _root_for(repo_url: str, values: dict[str, Any]) -> dict[str, Any]:
    """The one edit docs/argocd.md asks for, in the one place it names."""
    root: dict[str, Any] = yaml.safe_load(ROOT_APP.read_text())
    root["spec"]["source"]["repoURL"] = repo_url
    root["spec"]["source"]["helm"]["valuesObject"]["operator"] |= values
    return root


@pytest.fixture(scope="module")
def gitops(
    node: LocalNode,
    image: str,
    node_emulator: EmulatorProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[GitOps]:
    work = tmp_path_factory.mktemp("argocd")
    node_emulator.control.reset(seed="existing-customer", maintenance_mode=False)
    # The chart's values every node test installs with: image, emulator, credentials.
    helm = Helm(node, work)
    values = yaml.safe_load(helm.values_file(image, node_emulator.endpoint_url, {}).read_text())
    argocd = ArgoCD(node.control_plane, work, argocd_cm_patches=[CM_PATCH])
    before = _cluster_wide(node.control_plane)
    try:
        with argocd:
            repo = LocalGitRepo(argocd.git, "awsorg-operator", work / "checkout")
            # The layout docs/argocd.md describes: a fork of this repository.
            for path in ("charts/awsorg-operator", "argocd"):
                repo.copy_in(REPO / path, path)
            repo.commit_and_push("awsorg-operator and our organization")
            ops = GitOps(node.control_plane, argocd, repo, node_emulator.control)
            ops.root = _root_for(repo.url, values)
            try:
                yield ops
            finally:
                print(ops.diagnostics())
                remove_synced(ops)
    finally:
        argocd.remove_from_cluster()
    left = _cluster_wide(node.control_plane) - before
    assert not left, f"left on the node: {sorted(left)}"


def _cluster_wide(cluster: LocalControlPlane) -> set[str]:
    """What a module could leave behind for the next: namespaces, CRDs, cluster RBAC."""
    kinds = "namespaces,customresourcedefinitions,clusterroles,clusterrolebindings"
    return set(cluster.kubectl("get", kinds, "-o", "name").stdout.split())


@pytest.fixture(scope="module")
def app_of_apps(gitops: GitOps) -> GitOps:
    """The root applied, as docs/argocd.md says; nothing else is applied by hand."""
    gitops.kubectl("apply", "-f", "-", input=json.dumps(gitops.root))
    return gitops


@pytest.fixture
def healthy(app_of_apps: GitOps) -> GitOps:
    app_of_apps.wait_app("awsorg-resources", health="Healthy", timeout=FIRST_SYNC_TIMEOUT)
    return app_of_apps


# The first test of tests/node pays for the image and the node too.
@pytest.mark.timeout(1800)
def test_the_root_syncs_wave_1_once_the_operators_deployment_is_available(
    app_of_apps: GitOps, image: str
) -> None:
    gitops = app_of_apps
    operator_app = gitops.wait_app("awsorg-operator", health="Healthy", timeout=FIRST_SYNC_TIMEOUT)
    # What the root rendered from the one place: this repository, this revision, this image.
    source = operator_app["spec"]["source"]
    assert (source["repoURL"], source["targetRevision"]) == (gitops.repo.url, "main")
    assert source["helm"]["valuesObject"]["image"]["repository"] == image.rsplit(":", 1)[0]
    kinds = {r["kind"] for r in operator_app["status"]["resources"]}
    assert {"CustomResourceDefinition", "Deployment", "ServiceAccount", "ClusterRole"} <= kinds
    deployment = json.loads(
        gitops.kubectl("-n", NAMESPACE, "get", "deployment", RELEASE, "-o", "json").stdout
    )
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == image
    (available,) = [c for c in deployment["status"]["conditions"] if c["type"] == "Available"]
    assert available["status"] == "True"

    resources_app = gitops.wait_app(
        "awsorg-resources", health="Healthy", timeout=FIRST_SYNC_TIMEOUT
    )
    assert resources_app["spec"]["source"]["path"] == "argocd/organizations"
    # Wave 1 came after the Deployment was Available: the root held it back until then.
    assert available["lastTransitionTime"] <= resources_app["metadata"]["creationTimestamp"]
    root = gitops.wait_app("awsorg", health="Healthy")
    assert root["status"]["operationState"]["phase"] == "Succeeded"


def test_resources_turn_healthy_through_the_shipped_health_check(healthy: GitOps) -> None:
    health = healthy.wait_amoc_health("Healthy", "Reconciled: ")
    assert health["message"] == f"Reconciled: {healthy.ready()['message']}"
    assert healthy.app_state("awsorg-operator")[0] == "Synced"


def test_nothing_stays_out_of_sync(healthy: GitOps) -> None:
    """The API server's defaults, the operator's finalizer and kopf's annotations, what the
    controllers fill in on the node, and what Argo CD writes back into the child Applications
    do not make Git and the cluster differ: a hard refresh (no caches) finds all three Synced."""
    live = healthy.amoc()
    assert "awsorg.io/finalizer" in live["metadata"]["finalizers"]
    assert live["spec"]["deletionPolicy"] == "Retain"  # defaulted: not in Git
    for name in APPS:  # the root too: what it rendered is what Argo CD keeps of it
        healthy.argocd.refresh(name, hard=True)
        wait_for(f"{name} refreshed", partial(healthy.argocd.refreshed, name))
        resources = healthy.argocd.application(name)["status"]["resources"]
        out_of_sync = [r for r in resources if r["status"] != "Synced"]
        assert out_of_sync == [], out_of_sync
        assert healthy.app_state(name)[0] == "Synced"


def test_a_new_region_committed_to_git_reaches_aws(healthy: GitOps) -> None:
    organization = healthy.organization()
    organization["spec"]["regions"] = [*REGIONS, "ap-southeast-2"]
    revision = healthy.commit(organization, "Audit Manager in ap-southeast-2 too")
    healthy.wait_app("awsorg-resources", revision=revision)
    healthy.wait_amoc_health("Healthy", "ap-southeast-2")
    assert healthy.admin("ap-southeast-2") == AUDIT


def test_an_admin_change_is_degraded_until_approved_in_git(healthy: GitOps) -> None:
    organization = healthy.organization()
    organization["spec"]["delegatedAdminAccountID"] = WORKLOADS_ACCOUNT_ID
    revision = healthy.commit(organization, "Hand Audit Manager to the workloads account")
    healthy.wait_app("awsorg-resources", revision=revision)
    blocked = healthy.wait_amoc_health("Degraded", "AdminChangeBlocked: ")
    assert "awsorg.io/allow-admin-change" in blocked["message"]
    wait_for(
        "the Application Degraded", lambda: healthy.app_state("awsorg-resources")[2] == "Degraded"
    )
    regions = healthy.organization()["spec"]["regions"]
    assert all(healthy.admin(r) == AUDIT for r in regions)

    approved = copy.deepcopy(organization)
    approved["metadata"]["annotations"] = {"awsorg.io/allow-admin-change": AUDIT}
    revision = healthy.commit(approved, "Approve deregistering 111111111111")
    healthy.wait_app("awsorg-resources", revision=revision, health="Healthy")
    healthy.wait_amoc_health("Healthy", "Reconciled: ")
    assert all(healthy.admin(r) == WORKLOADS_ACCOUNT_ID for r in regions)


def test_maintenance_mode_shows_degraded_with_the_operators_message(healthy: GitOps) -> None:
    healthy.control.configure(maintenance_mode=True)
    organization = healthy.organization()
    before = copy.deepcopy(organization)
    organization["spec"]["regions"] = [*organization["spec"]["regions"], "ap-northeast-1"]
    revision = healthy.commit(organization, "ap-northeast-1, after the cut-off")
    healthy.wait_app("awsorg-resources", revision=revision)
    degraded = healthy.wait_amoc_health("Degraded", "MaintenanceMode: ")
    assert degraded["message"] == f"MaintenanceMode: {healthy.ready()['message']}"
    wait_for(
        "the Application Degraded", lambda: healthy.app_state("awsorg-resources")[2] == "Degraded"
    )

    revision = healthy.commit(before, "Revert: no ap-northeast-1")
    healthy.wait_app("awsorg-resources", revision=revision, health="Healthy")


def test_a_read_refused_for_good_is_degraded_with_the_reason_and_message(
    healthy: GitOps,
) -> None:
    """The most common first-install mistake: the operator's role may not read AWS
    Organizations. Ready stays Unknown (AWS could not be read), and Argo CD shows Degraded with
    the operator's reason and message, not Progressing for ever."""
    healthy.control.add_fault(
        "accessDenied", service="organizations", operation="DescribeOrganization", count=10_000
    )
    try:
        healthy.kubectl("annotate", "amoc", NAME, "--overwrite", "e2e.awsorg.io/poke=denied")
        degraded = healthy.wait_amoc_health("Degraded", "AccessDenied: ")
        ready = healthy.ready()
        assert ready["status"] == "Unknown"
        assert degraded["message"] == f"AccessDenied: {ready['message']}"
    finally:
        healthy.control.clear_faults()
    healthy.kubectl("annotate", "amoc", NAME, "--overwrite", "e2e.awsorg.io/poke=granted")
    healthy.wait_amoc_health("Healthy", "Reconciled: ")


def test_drift_under_observe_is_degraded(healthy: GitOps) -> None:
    organization = healthy.organization()
    organization["spec"]["managementPolicy"] = "Observe"
    revision = healthy.commit(organization, "Observe only")
    healthy.wait_app("awsorg-resources", revision=revision, health="Healthy")
    # Someone changes AWS by hand: KMS key settings in us-east-1 drift from DEFAULT.
    key = "arn:aws:kms:us-east-1:123456789012:key/changed-by-hand"
    aws(healthy.control, "auditmanager").update_settings(kmsKey=key)
    found = healthy.wait_amoc_health("Degraded", "Drifted: ")  # at the next re-check
    assert "Observe" in found["message"]
    assert healthy.control.state()["auditManager"]["us-east-1"]["kmsKey"] == key
