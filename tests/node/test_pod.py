"""The chart's Deployment as a pod on a real kubelet: Available, confined as the kubelet and
containerd enforce it, and at work against the emulator (issue items 4.1 and 4.2)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from awsorg_emulator import EmulatorControl, EmulatorProcess
from awsorg_localcluster import LocalNode
from tests.e2e.conftest import AUDIT, Kube
from tests.e2e.test_operator import NAME, adopting, aws
from tests.node.conftest import NAMESPACE, RELEASE, Helm, operator_pod, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.node]

UID = 65532  # the Dockerfile's USER and the chart's runAsUser


@pytest.fixture(scope="module")
def installed(
    node: LocalNode,
    image: str,
    node_emulator: EmulatorProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Helm]:
    helm = Helm(node, tmp_path_factory.mktemp("helm"))
    helm.install(helm.values_file(image, node_emulator.endpoint_url, {}))
    try:
        yield helm
    finally:
        Kube(node.control_plane).delete_all(timeout=60)
        helm.uninstall()


def in_container(kube: Kube, *command: str) -> tuple[int, str, str]:
    pod = operator_pod(kube)["metadata"]["name"]
    done = kube("-n", NAMESPACE, "exec", pod, "--", *command, check=False)
    return done.returncode, done.stdout, done.stderr


def test_the_deployment_becomes_available_confined_by_the_kubelet(
    installed: Helm, kube: Kube
) -> None:
    # docs/install.md's own wait.
    kube("-n", NAMESPACE, "rollout", "status", f"deployment/{RELEASE}", "--timeout=300s")
    deployment = json.loads(
        kube("-n", NAMESPACE, "get", "deployment", RELEASE, "-o", "json").stdout
    )
    available = {c["type"]: c["status"] for c in deployment["status"]["conditions"]}
    assert available["Available"] == "True"

    code, out, err = in_container(kube, "cat", "/proc/1/status")
    assert code == 0, err
    status = dict(line.split(":\t", 1) for line in out.splitlines() if ":\t" in line)
    assert status["Uid"].split() == [str(UID)] * 4
    assert int(status["CapEff"], 16) == 0 and int(status["CapBnd"], 16) == 0
    assert status["NoNewPrivs"].strip() == "1"
    assert status["Seccomp"].strip() == "2", "RuntimeDefault: a seccomp filter"
    write = "import sys; open(sys.argv[1], 'w').write('x')"
    code, _, err = in_container(kube, "python3", "-c", write, "/opt/awsorg-operator/written")
    assert code != 0 and "Read-only file system" in err
    assert in_container(kube, "python3", "-c", write, "/tmp/written")[0] == 0, "the /tmp volume"
    # The token the kubelet mounted is what the operator talks to the API server with.
    code, out, _ = in_container(
        kube, "cat", "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
    )
    assert (code, out) == (0, NAMESPACE)


def test_a_resource_reaches_ready_and_a_drift_is_corrected(
    installed: Helm, kube: Kube, control: EmulatorControl
) -> None:
    kube("-n", NAMESPACE, "rollout", "status", f"deployment/{RELEASE}", "--timeout=300s")
    kube.apply(adopting(kmsKey="DEFAULT"))
    kube("wait", "--for=condition=Ready", f"amoc/{NAME}", "--timeout=180s")

    key = "arn:aws:kms:us-east-1:123456789012:key/changed-by-hand"
    aws(control, "auditmanager").update_settings(kmsKey=key)
    wait_for(
        "the key set back by the operator in its pod",
        lambda: control.state()["auditManager"]["us-east-1"]["kmsKey"] == "DEFAULT",
        timeout=120,
    )
    kube.wait_reason(NAME, "Reconciled", timeout=120)
    kube("delete", "amoc", NAME, "--timeout=120s")
    assert control.state()["auditManager"]["us-east-1"]["adminAccountID"] == AUDIT
