"""A real Argo CD syncs the shipped Applications from Git into a real API server.

One Argo CD (application-controller, repo-server, redis, `git daemon`; awsorg_argocd) and one
control plane per module. The repository's chart, `argocd/` and the resources are pushed to a
local Git repository laid out as docs/argocd.md tells users; the only edit is the one the docs
ask for, in the one place they name: argocd/root-application.yaml.

The local control plane has no kubelet and no controller-manager, so the operator's
Deployment that Argo CD syncs from the chart never gets a pod and never becomes available: the
operator's Application is judged by Synced (its health stays Progressing here, and the app of
apps therefore never moves past sync wave -1; we prove that it holds wave 1 back, then apply
the resources' Application as the chart renders it). The operator runs beside it as its pod
would: from the image the synced Deployment names (run by podman with the chart's pod
settings), with a token of the ServiceAccount Argo CD created and the chart's environment.
"""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from awsorg_argocd import ArgoCD, LocalGitRepo, render_helm_source
from awsorg_devstack import NAMESPACE, REPO, ContainerOperator
from awsorg_emulator import WORKLOADS_ACCOUNT_ID, EmulatorControl, EmulatorProcess
from awsorg_localcluster import LocalControlPlane
from tests.e2e.conftest import AUDIT, MGMT, RESYNC_SECONDS, wait_for

pytestmark = pytest.mark.e2e

ROOT_APP = REPO / "argocd" / "root-application.yaml"
CM_PATCH = REPO / "argocd" / "argocd-cm-patch.yaml"
ORGANIZATION = "argocd/organizations/my-organization.yaml"
NAME = "my-organization"
REGIONS = ["us-east-1", "eu-west-1"]
SYNC_TIMEOUT = 120.0  # generous: other builds and test runs may share the cores


def image_values(image: str) -> dict[str, str]:
    """The chart's `image` values naming `image` (repository:tag)."""
    repository, tag = image.rsplit(":", 1)
    return {"repository": repository, "tag": tag}


def run_operator(
    image: str, kubeconfig: Path, endpoint_url: str, log_path: Path
) -> ContainerOperator:
    """The operator beside Argo CD, as the pod of the Deployment Argo CD synced would run:
    its image, run by podman with the chart's pod settings and environment."""
    return ContainerOperator(
        image,
        kubeconfig,
        endpoint_url,
        log_path,
        values={
            "operator.resyncSeconds": str(RESYNC_SECONDS),
            "operator.logFormat": "full",
        },
    )


@dataclass
class GitOps:
    cluster: LocalControlPlane
    argocd: ArgoCD
    repo: LocalGitRepo
    control: EmulatorControl
    root: dict[str, Any]

    def kubectl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.cluster.kubectl(*args, check=check)

    def amoc(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.kubectl("get", "amoc", NAME, "-o", "json").stdout)
        return loaded

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
        self, name: str, *, revision: str | None = None, health: str | None = None
    ) -> dict[str, Any]:
        def reached() -> bool:
            sync, synced_revision, app_health = self.app_state(name)
            return (
                sync == "Synced"
                and (revision is None or synced_revision == revision)
                and (health is None or app_health == health)
            )

        wait_for(f"{name} Synced at {revision} and {health}", reached, timeout=SYNC_TIMEOUT)
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


def _root_for(repo_url: str, image: str) -> dict[str, Any]:
    """The one edit docs/argocd.md asks for, in the one place it names."""
    root: dict[str, Any] = yaml.safe_load(ROOT_APP.read_text())
    root["spec"]["source"]["repoURL"] = repo_url
    root["spec"]["source"]["helm"]["valuesObject"]["operator"]["image"] = image_values(image)
    return root


@pytest.fixture(scope="module")
def gitops(
    tmp_path_factory: pytest.TempPathFactory, emulator: EmulatorProcess, image: str
) -> Iterator[GitOps]:
    work = tmp_path_factory.mktemp("argocd")
    emulator.control.reset(seed="existing-customer", maintenance_mode=False)
    with (
        LocalControlPlane() as cluster,
        ArgoCD(cluster, work, argocd_cm_patches=[CM_PATCH]) as argocd,
    ):
        repo = LocalGitRepo(argocd.git, "awsorg-operator", work / "checkout")
        # The layout docs/argocd.md describes: a fork of this repository.
        for path in ("charts/awsorg-operator", "argocd"):
            repo.copy_in(REPO / path, path)
        repo.commit_and_push("awsorg-operator and our organization")
        root = _root_for(repo.url, image)
        ops = GitOps(cluster, argocd, repo, emulator.control, root)
        try:
            yield ops
        finally:
            print("\n--- Argo CD ---\n" + argocd.log_tails())
            for name in ("awsorg", "awsorg-operator", "awsorg-resources"):
                if argocd.exists(name):
                    print(f"--- Application {name} status ---")
                    print(json.dumps(argocd.application(name).get("status", {}), indent=1)[:4000])


@pytest.fixture(scope="module")
def operator_beside(
    gitops: GitOps, tmp_path_factory: pytest.TempPathFactory, image: str
) -> Iterator[ContainerOperator]:
    """The operator's Application synced (by the root); then the operator runs beside it with
    the ServiceAccount Argo CD created, and the resources' Application is applied."""
    ensure_root_synced_operator(gitops)
    account = wait_for(
        "the chart's ServiceAccount, created by Argo CD",
        lambda: (
            gitops.kubectl("-n", NAMESPACE, "get", "sa", "awsorg-operator", check=False).returncode
            == 0
        ),
    )
    assert account
    kubeconfig = gitops.cluster.kubeconfig_for_service_account(NAMESPACE, "awsorg-operator")
    log = tmp_path_factory.mktemp("operator") / "operator.log"
    operator = run_operator(image, kubeconfig, gitops.control.endpoint_url, log)
    operator.start()
    try:
        # The app of apps stays at wave -1 here (no kubelet): apply the resources'
        # Application as it renders it, and let go of the root (no cascade: no finalizer).
        gitops.kubectl("-n", "argocd", "delete", "application", "awsorg")
        (resources,) = [
            a
            for a in render_helm_source(gitops.root, REPO)
            if a["metadata"]["name"] == "awsorg-resources"
        ]
        gitops.cluster.kubectl("apply", "-f", "-", input=json.dumps(resources))
        yield operator
    finally:
        print("\n--- operator log ---\n" + operator.log_tail(60))
        operator.stop()


def ensure_root_synced_operator(gitops: GitOps) -> dict[str, Any]:
    if not gitops.argocd.exists("awsorg-operator"):
        gitops.cluster.kubectl("apply", "-f", "-", input=json.dumps(gitops.root))
    return gitops.wait_app("awsorg-operator")


def test_root_syncs_the_operator_first_and_holds_the_resources_back(
    gitops: GitOps, image: str
) -> None:
    operator_app = ensure_root_synced_operator(gitops)
    # What the root rendered from the one place: this repository, this revision, this image.
    source = operator_app["spec"]["source"]
    assert (source["repoURL"], source["targetRevision"]) == (gitops.repo.url, "main")
    assert source["helm"]["valuesObject"]["image"] == image_values(image)
    kinds = {r["kind"] for r in operator_app["status"]["resources"]}
    assert {"CustomResourceDefinition", "Deployment", "ServiceAccount", "ClusterRole"} <= kinds
    assert all(r["status"] == "Synced" for r in operator_app["status"]["resources"])
    deployed = gitops.kubectl(
        "-n",
        NAMESPACE,
        "get",
        "deploy",
        "awsorg-operator",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    ).stdout
    assert deployed == image
    # No kubelet here: the Deployment never becomes available, so the operator's Application
    # stays Progressing and the root holds sync wave 1 back, as it would on a real cluster
    # until the operator's pod is ready.
    assert gitops.app_state("awsorg-operator")[2] == "Progressing"
    root_operation = gitops.argocd.application("awsorg")["status"]["operationState"]
    assert root_operation["phase"] == "Running", root_operation
    assert not gitops.argocd.exists("awsorg-resources")


def test_resources_sync_and_turn_healthy_through_the_shipped_health_check(
    gitops: GitOps, operator_beside: ContainerOperator
) -> None:
    app = gitops.wait_app("awsorg-resources", health="Healthy")
    health = gitops.wait_amoc_health("Healthy", "Reconciled: ")
    ready = next(c for c in gitops.amoc()["status"]["conditions"] if c["type"] == "Ready")
    assert health["message"] == f"Reconciled: {ready['message']}"
    assert app["spec"]["source"]["path"] == "argocd/organizations"
    assert gitops.app_state("awsorg-operator")[0] == "Synced"


def test_nothing_stays_out_of_sync(gitops: GitOps, operator_beside: ContainerOperator) -> None:
    """The API server's defaults, the operator's finalizer and kopf's annotations do not
    make Git and the cluster differ: a hard refresh (no caches) still finds both Synced."""
    gitops.wait_app("awsorg-resources", health="Healthy")
    live = gitops.amoc()
    assert "awsorg.io/finalizer" in live["metadata"]["finalizers"]
    assert live["spec"]["deletionPolicy"] == "Retain"  # defaulted: not in Git
    for name in ("awsorg-operator", "awsorg-resources"):
        gitops.argocd.refresh(name, hard=True)
        wait_for(f"{name} refreshed", partial(gitops.argocd.refreshed, name))
        resources = gitops.argocd.application(name)["status"]["resources"]
        out_of_sync = [r for r in resources if r["status"] != "Synced"]
        assert out_of_sync == [], out_of_sync
        assert gitops.app_state(name)[0] == "Synced"


def test_a_new_region_committed_to_git_reaches_aws(
    gitops: GitOps, operator_beside: ContainerOperator
) -> None:
    organization = gitops.organization()
    organization["spec"]["regions"] = [*REGIONS, "ap-southeast-2"]
    revision = gitops.commit(organization, "Audit Manager in ap-southeast-2 too")
    gitops.wait_app("awsorg-resources", revision=revision)
    gitops.wait_amoc_health("Healthy", "ap-southeast-2")
    assert _admin(gitops, "ap-southeast-2") == AUDIT


def test_an_admin_change_is_degraded_until_approved_in_git(
    gitops: GitOps, operator_beside: ContainerOperator
) -> None:
    organization = gitops.organization()
    organization["spec"]["delegatedAdminAccountID"] = WORKLOADS_ACCOUNT_ID
    revision = gitops.commit(organization, "Hand Audit Manager to the workloads account")
    gitops.wait_app("awsorg-resources", revision=revision)
    blocked = gitops.wait_amoc_health("Degraded", "AdminChangeBlocked: ")
    assert "awsorg.io/allow-admin-change" in blocked["message"]
    wait_for(
        "the Application Degraded", lambda: gitops.app_state("awsorg-resources")[2] == "Degraded"
    )
    regions = gitops.organization()["spec"]["regions"]
    assert all(_admin(gitops, r) == AUDIT for r in regions)

    approved = copy.deepcopy(organization)
    approved["metadata"]["annotations"] = {"awsorg.io/allow-admin-change": AUDIT}
    revision = gitops.commit(approved, "Approve deregistering 111111111111")
    gitops.wait_app("awsorg-resources", revision=revision, health="Healthy")
    gitops.wait_amoc_health("Healthy", "Reconciled: ")
    assert all(_admin(gitops, r) == WORKLOADS_ACCOUNT_ID for r in regions)


def test_maintenance_mode_shows_degraded_with_the_operators_message(
    gitops: GitOps, operator_beside: ContainerOperator
) -> None:
    gitops.control.configure(maintenance_mode=True)
    organization = gitops.organization()
    before = copy.deepcopy(organization)
    organization["spec"]["regions"] = [*organization["spec"]["regions"], "ap-northeast-1"]
    revision = gitops.commit(organization, "ap-northeast-1, after the cut-off")
    gitops.wait_app("awsorg-resources", revision=revision)
    degraded = gitops.wait_amoc_health("Degraded", "MaintenanceMode: ")
    ready = next(c for c in gitops.amoc()["status"]["conditions"] if c["type"] == "Ready")
    assert degraded["message"] == f"MaintenanceMode: {ready['message']}"
    wait_for(
        "the Application Degraded", lambda: gitops.app_state("awsorg-resources")[2] == "Degraded"
    )

    revision = gitops.commit(before, "Revert: no ap-northeast-1")
    gitops.wait_app("awsorg-resources", revision=revision, health="Healthy")


def test_a_read_refused_for_good_is_degraded_with_the_reason_and_message(
    gitops: GitOps, operator_beside: ContainerOperator
) -> None:
    """The most common first-install mistake: the operator's role may not read AWS
    Organizations. Ready stays Unknown (AWS could not be read), and Argo CD shows Degraded with
    the operator's reason and message, not Progressing for ever."""
    gitops.control.add_fault(
        "accessDenied", service="organizations", operation="DescribeOrganization", count=10_000
    )
    try:
        gitops.kubectl("annotate", "amoc", NAME, "--overwrite", "e2e.awsorg.io/poke=denied")
        degraded = gitops.wait_amoc_health("Degraded", "AccessDenied: ")
        ready = next(c for c in gitops.amoc()["status"]["conditions"] if c["type"] == "Ready")
        assert ready["status"] == "Unknown"
        assert degraded["message"] == f"AccessDenied: {ready['message']}"
    finally:
        gitops.control.clear_faults()
    gitops.kubectl("annotate", "amoc", NAME, "--overwrite", "e2e.awsorg.io/poke=granted")
    gitops.wait_amoc_health("Healthy", "Reconciled: ")


def test_drift_under_observe_is_degraded(
    gitops: GitOps, operator_beside: ContainerOperator
) -> None:
    organization = gitops.organization()
    organization["spec"]["managementPolicy"] = "Observe"
    revision = gitops.commit(organization, "Observe only")
    gitops.wait_app("awsorg-resources", revision=revision, health="Healthy")
    # Someone changes AWS by hand: KMS key settings in us-east-1 drift from DEFAULT.
    auditmanager = boto3.client(
        "auditmanager",
        region_name="us-east-1",
        endpoint_url=gitops.control.endpoint_url,
        aws_access_key_id=MGMT,
        aws_secret_access_key="x",
    )
    key = "arn:aws:kms:us-east-1:123456789012:key/changed-by-hand"
    auditmanager.update_settings(kmsKey=key)
    found = gitops.wait_amoc_health("Degraded", "Drifted: ")  # at the next re-check
    assert "Observe" in found["message"]
    assert gitops.control.state()["auditManager"]["us-east-1"]["kmsKey"] == key


def _admin(gitops: GitOps, region: str) -> str | None:
    state: dict[str, Any] = gitops.control.state()["auditManager"]
    admin: str | None = state[region]["adminAccountID"]
    return admin
