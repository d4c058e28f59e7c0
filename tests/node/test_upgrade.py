"""`helm upgrade` from the previous release's chart to this one, with resources in place
(issue item 4.7): none is lost, the CRD is updated as docs/install.md says, the new operator
takes over without an AWS write, and the old pod is gone.

The previous release is awsorg_devstack.previous_release's rule (docs/versioning.md): the
newest tag, or until there are tags main just before the newest CRD change. Its chart and its
image come from a checkout of that commit (its own hack/image.sh), and it is installed with
that commit's docs/install.md; the upgrade runs today's docs/install.md. Both run verbatim.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from awsorg_devstack import REPO
from awsorg_devstack.docblocks import parse
from awsorg_devstack.previous_release import build_image_at, checkout, previous_release
from awsorg_emulator import EmulatorControl, EmulatorProcess
from awsorg_localcluster import LocalNode, tool_path
from tests.e2e.conftest import Kube
from tests.e2e.test_operator import NAME, adopting, amoc, aws, trusted, writes
from tests.node.conftest import NAMESPACE, RELEASE, Helm, operator_pod, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.node]

CRD = "auditmanagerorgconfigs.awsorg.io"
CRD_FILE = Path("charts/awsorg-operator/crds/awsorg.io_auditmanagerorgconfigs.yaml")
OUR_CRDS = (CRD, "clusterkopfpeerings.kopf.dev")
OPENAPI = "/openapi/v3/apis/awsorg.io/v1alpha1"
# A second resource for the same organization, which wants trusted access off: it stays in
# Conflict as long as the claim of the first holds, across the upgrade too.
RIVAL = "rival"


@dataclass(frozen=True)
class Release:
    commit: str
    source: Path  # a checkout: its charts/ and docs/install.md
    image: str


@pytest.fixture(scope="module")
def previous(node: LocalNode, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Release]:
    commit = previous_release()
    with checkout(commit, tmp_path_factory.mktemp("previous") / "src") as source:
        image = build_image_at(source, commit)
        node.load_image(image)
        yield Release(commit, source, image)


class InstallDoc:
    """docs/install.md's Helm blocks, run verbatim (bash -euo pipefail) in the test's folder,
    where `charts` links to the release's charts/ and awsorg-values.yaml is Helm's values."""

    def __init__(self, helm: Helm) -> None:
        self.helm = helm

    def run(self, release: Path, command: str) -> None:
        blocks = [
            b
            for b in parse("docs/install.md", (release / "docs/install.md").read_text())
            if b.kind == "run" and b.scenario == "install-helm" and command in b.text
        ]
        assert len(blocks) == 1, f"{release}/docs/install.md: one install-helm `{command}` block"
        link = self.helm.folder / "charts"
        link.unlink(missing_ok=True)
        link.symlink_to(release / "charts")
        tools = os.pathsep.join(str(tool_path(t).parent) for t in ("helm", "kubectl"))
        env = self.helm.env() | {"PATH": f"{tools}{os.pathsep}{os.environ['PATH']}"}
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", blocks[0].text], cwd=self.helm.folder, env=env,
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert done.returncode == 0, f"{blocks[0].where}:\n{done.stderr}\n{done.stdout}"


def stored_schema(kube: Kube) -> Any:
    crd = json.loads(kube("get", "crd", CRD, "-o", "json").stdout)
    return [v["schema"] for v in crd["spec"]["versions"]]


def file_schema(release: Path) -> Any:
    return [
        v["schema"] for v in yaml.safe_load((release / CRD_FILE).read_text())["spec"]["versions"]
    ]


def spec_properties(schemas: Any) -> set[str]:
    return set(schemas[0]["openAPIV3Schema"]["properties"]["spec"]["properties"])


def served_spec_properties(kube: Kube) -> set[str]:
    """What the API server publishes (its OpenAPI v3), not only what the CRD object holds."""
    doc = json.loads(kube("get", "--raw", OPENAPI).stdout)
    kind = doc["components"]["schemas"]["io.awsorg.v1alpha1.AuditManagerOrgConfig"]
    return set(kind["properties"]["spec"]["properties"])


def start_clean(kube: Kube, helm: Helm) -> None:
    """Nothing of ours on the node: Helm never replaces a CRD another module installed."""
    helm.uninstall()
    kube.delete_all(timeout=60)
    kube("delete", "crd", *OUR_CRDS, "--ignore-not-found", "--timeout=120s")


def pods(kube: Kube) -> list[dict[str, Any]]:
    selector = f"app.kubernetes.io/instance={RELEASE}"
    out = kube("-n", NAMESPACE, "get", "pods", "-l", selector, "-o", "json").stdout
    return json.loads(out)["items"]  # type: ignore[no-any-return]


def started_at(pod: dict[str, Any]) -> float:
    (status,) = pod["status"]["containerStatuses"]
    return datetime.fromisoformat(status["state"]["running"]["startedAt"]).timestamp()


def reconciles_since(control: EmulatorControl, since: float) -> int:
    """Reconciles started at or after `since`: each reads the organization once."""
    calls = control.calls()
    return sum(c["operation"] == "DescribeOrganization" and c["started"] >= since for c in calls)


def kept(resource: dict[str, Any]) -> dict[str, Any]:
    """What an upgrade must not change: the object itself, its spec and its status."""
    meta = resource["metadata"]
    return {
        "uid": meta["uid"],
        "generation": meta["generation"],
        "spec": resource["spec"],
        "status": resource["status"],
    }


@pytest.mark.timeout(1800)  # the previous image's first build, two rollouts, re-checks
def test_helm_upgrade_from_the_previous_release_keeps_every_resource(
    node: LocalNode,
    image: str,
    node_emulator: EmulatorProcess,
    control: EmulatorControl,
    kube: Kube,
    previous: Release,
    tmp_path: Path,
) -> None:
    helm = Helm(node, tmp_path)
    doc = InstallDoc(helm)
    present = set(kube("get", "crd", "-o", "name").stdout.split())
    namespace_present = kube("get", "namespace", NAMESPACE, check=False).returncode == 0
    start_clean(kube, helm)
    try:
        # The previous release, installed as its own docs/install.md said.
        helm.values_file(previous.image, node_emulator.endpoint_url, {})
        doc.run(previous.source, "helm install")
        kube("-n", NAMESPACE, "rollout", "status", f"deployment/{RELEASE}", "--timeout=300s")
        old_pod = operator_pod(kube)
        assert old_pod["spec"]["containers"][0]["image"] == previous.image
        old, new = file_schema(previous.source), file_schema(REPO)
        assert stored_schema(kube) == old
        # The spec fields this release adds: not served yet (the stored schema says the rest).
        added = spec_properties(new) - spec_properties(old)
        assert not added & served_spec_properties(kube)

        kube.apply(adopting(kmsKey="DEFAULT"))
        kube("wait", "--for=condition=Ready", f"amoc/{NAME}", "--timeout=180s")
        kube.apply(amoc(RIVAL, trustedAccess="Disabled"))
        kube.wait_reason(RIVAL, "Conflict", timeout=120)
        before = {name: kept(kube.get(name)) for name in (NAME, RIVAL)}
        control.clear_calls()

        # This release, upgraded as today's docs/install.md says: the image tag is the edit.
        helm.values_file(image, node_emulator.endpoint_url, {})
        doc.run(REPO, "helm upgrade")
        kube("-n", NAMESPACE, "rollout", "status", f"deployment/{RELEASE}", "--timeout=300s")
        wait_for(
            "the previous release's pod gone",
            lambda: all(p["metadata"]["uid"] != old_pod["metadata"]["uid"] for p in pods(kube)),
            timeout=180,
        )
        new_pod = operator_pod(kube)
        assert new_pod["spec"]["containers"][0]["image"] == image
        assert stored_schema(kube) == new, "the CRD as this release's chart has it"
        wait_for(
            f"the API server serving {sorted(added)}",
            lambda: added <= served_spec_properties(kube),
            timeout=60,
        )

        # The new operator's own re-checks (the Deployment's Recreate strategy: the old pod
        # stopped before it started) leave every resource as it was, and AWS unwritten.
        since = started_at(new_pod)
        wait_for(
            "both resources re-checked by the new operator",
            lambda: reconciles_since(control, since) >= 2,
            timeout=120,
        )
        kube.wait_reason(NAME, "Reconciled", timeout=120)
        assert {name: kept(kube.get(name)) for name in (NAME, RIVAL)} == before
        assert writes(control) == [] and trusted(control), "the upgrade wrote to AWS"

        # And it acts: a drift behind its back is set back by the new operator.
        drifted = "arn:aws:kms:us-east-1:123456789012:key/changed-by-hand"
        aws(control, "auditmanager").update_settings(kmsKey=drifted)
        wait_for(
            "the key set back by the new operator",
            lambda: control.state()["auditManager"]["us-east-1"]["kmsKey"] == "DEFAULT",
            timeout=120,
        )
    finally:
        kube.delete_all(timeout=60)
        helm.uninstall()
        leave_as_found(kube, present, namespace_present)


def leave_as_found(kube: Kube, crds_present: set[str], namespace_present: bool) -> None:
    """The CRDs stay at this release's (as another module's install leaves them); what was
    not there before this test is removed."""
    for crd in OUR_CRDS:
        if f"customresourcedefinition.apiextensions.k8s.io/{crd}" not in crds_present:
            kube("delete", "crd", crd, "--ignore-not-found", "--timeout=120s", check=False)
    if not namespace_present:
        kube("delete", "namespace", NAMESPACE, "--ignore-not-found", "--timeout=180s", check=False)
