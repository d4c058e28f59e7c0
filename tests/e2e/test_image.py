"""The operator from its container image, run by podman as the chart's pod runs it.

The image is built once per session by hack/image.sh (on a machine without a registry, on the
Debian stand-in base it assembles itself). The container gets the chart's securityContext,
/tmp emptyDir, environment and grace period (`ContainerOperator`), the ServiceAccount token as
a pod gets it, and reaches the local control plane and the emulators with `--network host`.
"""

from __future__ import annotations

import json
import platform
import re
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from awsorg_devstack import REPO, ContainerOperator
from awsorg_devstack.container import RUNTIME_FLAGS, podman
from awsorg_emulator import EmulatorControl, EmulatorProcess
from awsorg_localcluster import LocalControlPlane
from tests.e2e.conftest import AUDIT, RESYNC_SECONDS, Kube, wait_for
from tests.e2e.test_operator import NAME, adopting, aws

pytestmark = pytest.mark.e2e

UID = 65532  # the Dockerfile's USER and the chart's runAsUser
# hack/image.sh's stand-in base for the host's architecture.
ARCH = {"x86_64": "amd64", "aarch64": "arm64"}[platform.machine()]
STANDIN_BASE = f"localhost/python-standin:3.11-bookworm-{ARCH}"


@pytest.fixture
def container(
    request: pytest.FixtureRequest,
    image: str,
    cluster: LocalControlPlane,
    kube: Kube,
    operator_kubeconfig: Path,
    emulator: EmulatorProcess,
    control: EmulatorControl,
    tmp_path: Path,
) -> Iterator[ContainerOperator]:
    # The chart's default values but the re-check interval: its minimum, so that the drift
    # is found within the test.
    op = ContainerOperator(
        image,
        operator_kubeconfig,
        emulator.endpoint_url,
        tmp_path / "operator.log",
        {"operator.resyncSeconds": str(RESYNC_SECONDS)},
    )
    try:
        op.start()
        yield op
    finally:
        failed = getattr(request.node, "report_call", None)
        if failed is not None and failed.failed:
            print("\n--- operator container log ---\n" + op.log_tail(120))
            print("\n--- emulator calls ---")
            for c in control.calls()[-40:]:
                print(c)
            print("\n--- resources ---\n" + kube("get", "amoc", "-o", "yaml", check=False).stdout)
        kube.delete_all()
        op.stop()  # removes the container whatever happened


def pid1_status(op: ContainerOperator) -> dict[str, str]:
    """/proc/1/status of the container: the operator's own process, as the kernel sees it."""
    done = op.exec("cat", "/proc/1/status")
    assert done.returncode == 0, done.stderr
    return dict(line.split(":\t", 1) for line in done.stdout.splitlines() if ":\t" in line)


def test_the_operator_runs_confined_as_the_chart_says(container: ContainerOperator) -> None:
    status = pid1_status(container)
    cmdline = container.exec("cat", "/proc/1/cmdline").stdout
    assert "/opt/awsorg-operator/bin/awsorg-operator" in cmdline, "the entry point is PID 1"
    assert status["Uid"].split() == [str(UID)] * 4
    assert status["Gid"].split()[0] == str(UID)
    assert str(UID) in status["Groups"].split(), "the chart's fsGroup"
    assert int(status["CapEff"], 16) == 0 and int(status["CapBnd"], 16) == 0
    assert status["NoNewPrivs"].strip() == "1"
    write = "import sys; open(sys.argv[1], 'w').write('x')"
    root = container.exec("python3", "-c", write, "/opt/awsorg-operator/written")
    assert root.returncode != 0 and "Read-only file system" in root.stderr
    assert container.exec("python3", "-c", write, "/tmp/written").returncode == 0
    assert container.exec("python3", "-c", write, "/run/written").returncode != 0


def test_ready_then_a_drift_corrected_then_a_clean_stop_on_sigterm(
    kube: Kube, container: ContainerOperator, control: EmulatorControl
) -> None:
    kube.apply(adopting(kmsKey="DEFAULT"))
    kube("wait", "--for=condition=Ready", f"amoc/{NAME}", "--timeout=90s")

    key = "arn:aws:kms:us-east-1:123456789012:key/changed-by-hand"
    aws(control, "auditmanager").update_settings(kmsKey=key)
    wait_for(
        "the key set back by the operator in the container",
        lambda: control.state()["auditManager"]["us-east-1"]["kmsKey"] == "DEFAULT",
        timeout=RESYNC_SECONDS * 6,
    )
    wait_for(
        "a Drifted event",
        lambda: any(e["reason"] == "Drifted" and key in e["message"] for e in kube.events(NAME)),
    )
    kube.wait_reason(NAME, "Reconciled")
    # Deleted with the operator's help (deletionPolicy Retain: the finalizer goes, AWS stays).
    kube("delete", "amoc", NAME, "--timeout=60s")
    assert control.state()["auditManager"]["us-east-1"]["adminAccountID"] == AUDIT

    # As the kubelet stops a pod: SIGTERM to PID 1, SIGKILL after the chart's grace period
    # (exit code 137). 0 means kopf got the signal and finished by itself in time.
    assert container.stop() == 0, container.log_tail()
    log = container.log_path.read_text()
    assert re.search(r"Signal SIGTERM is received\. Operator is stopping\.", log), log[-3000:]


def test_the_image_says_what_it_is_built_on_and_carries_the_license(image: str) -> None:
    (inspected,) = json.loads(podman("image", "inspect", image).stdout)
    labels = inspected["Labels"]
    assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True)
    # Also after a rebuild from the layer cache (buildah once kept the first build's label).
    assert labels["org.opencontainers.image.revision"] == head.stdout.decode().strip()
    dockerfile_base = re.search(
        r"^ARG PYTHON_IMAGE=(\S+)$", (REPO / "Dockerfile").read_text(), re.M
    )
    assert dockerfile_base is not None
    base = labels["org.opencontainers.image.base.name"]
    assert base in {dockerfile_base[1], STANDIN_BASE}
    # The label names the base whose layers the image is built on.
    (base_inspected,) = json.loads(podman("image", "inspect", base).stdout)
    base_layers = base_inspected["RootFS"]["Layers"]
    assert inspected["RootFS"]["Layers"][: len(base_layers)] == base_layers
    assert inspected["Config"]["User"] == f"{UID}:{UID}"

    read_license = (
        "from importlib.metadata import distribution;"
        "print(distribution('awsorg-operator').read_text('licenses/LICENSE'), end='')"
    )
    done = podman(
        "run", "--rm", *RUNTIME_FLAGS, "--read-only", "--entrypoint", "python3",
        image, "-c", read_license,
    )  # fmt: skip
    assert done.stdout == (REPO / "LICENSE").read_text()


def test_the_script_exports_the_image_as_an_oci_archive(image: str, tmp_path: Path) -> None:
    archive = tmp_path / "image.tar"
    done = subprocess.run(
        [str(REPO / "hack" / "image.sh"), "--tag", image, "--oci-archive", str(archive)],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert done.stdout.strip() == image, "stdout is the reference and nothing else"
    (inspected,) = json.loads(podman("image", "inspect", image).stdout)
    with tarfile.open(archive) as tar:

        def blob(digest: str) -> dict[str, Any]:
            stream = tar.extractfile("blobs/" + digest.replace(":", "/"))
            assert stream is not None, digest
            return json.load(stream)  # type: ignore[no-any-return]

        index = json.load(tar.extractfile("index.json"))  # type: ignore[arg-type]
        (manifest,) = index["manifests"]
        config_digest = blob(manifest["digest"])["config"]["digest"]
        config = blob(config_digest)
    # The archive holds this very image: its config is the one podman's image ID names.
    assert config_digest == f"sha256:{inspected['Id']}", index
    assert (
        config["config"]["Labels"]["org.opencontainers.image.base.name"]
        == (inspected["Labels"]["org.opencontainers.image.base.name"])
    )
