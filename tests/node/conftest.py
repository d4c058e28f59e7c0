"""One one-node cluster for these tests (per xdist worker): the operator runs as the chart's pod.

The node is `python -m awsorg_localcluster --node`'s (awsorg_localcluster.LocalNode): etcd,
kube-apiserver, kube-controller-manager, kube-scheduler, containerd and a kubelet, with the
operator's image from hack/image.sh loaded into it. AWS is the emulator, listening on the
node's host address, where pods reach it. The chart is installed with `helm install` as
docs/install.md says, with a values file.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from awsorg_devbase import WaitTimeoutError
from awsorg_devbase import wait_for as devbase_wait_for
from awsorg_devstack import REPO, build_image
from awsorg_devstack.stack import aws_credentials
from awsorg_emulator import MANAGEMENT_ACCOUNT_ID, EmulatorControl, EmulatorProcess
from awsorg_localcluster import LocalNode, tool_path
from tests.e2e.conftest import Kube

CHART = REPO / "charts" / "awsorg-operator"
NAMESPACE = "awsorg-system"
RELEASE = "awsorg-operator"


def wait_for(what: str, check: Any, timeout: float = 120.0, interval: float = 1.0) -> Any:
    try:
        return devbase_wait_for(what, check, timeout=timeout, every=interval)
    except WaitTimeoutError as e:
        pytest.fail(str(e))


@pytest.fixture(scope="session")
def image() -> str:
    """The operator's image, built by hack/image.sh (the tag tests/e2e uses: one build)."""
    checkout = hashlib.sha256(str(REPO).encode()).hexdigest()[:8]
    return build_image(f"localhost/awsorg-operator:e2e-{checkout}")


# Package-scoped: under xdist a worker that runs tests/node's tests stops its node as soon as it
# moves on to other tests (tests/parallel.py spreads tests/node over two workers, two nodes).
@pytest.fixture(scope="package")
def node(image: str) -> Iterator[LocalNode]:
    with LocalNode(images=[image]) as started:
        yield started


@pytest.fixture(scope="package")
def node_emulator(
    node: LocalNode, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmulatorProcess]:
    log = tmp_path_factory.mktemp("emulator") / "emulator.log"
    with EmulatorProcess(host=node.host_address, log_path=log) as process:
        yield process


@pytest.fixture
def control(node_emulator: EmulatorProcess) -> EmulatorControl:
    node_emulator.control.reset(seed="existing-customer", maintenance_mode=True)
    return node_emulator.control


@pytest.fixture
def kube(node: LocalNode) -> Kube:
    return Kube(node.control_plane)


class Helm:
    """helm as docs/install.md runs it, with the node's admin kubeconfig."""

    def __init__(self, node: LocalNode, folder: Path) -> None:
        self.node = node
        self.folder = folder

    def env(self) -> dict[str, str]:
        """The node's admin kubeconfig; Helm's and client-go's caches in the test's folder,
        not in ~ (or the cwd)."""
        helm_home = str(self.folder / "helm")
        return os.environ | {
            "KUBECONFIG": str(self.node.kubeconfig),
            "KUBECACHEDIR": str(self.folder / "kube-cache"),
            "HELM_CACHE_HOME": helm_home,
            "HELM_CONFIG_HOME": helm_home,
            "HELM_DATA_HOME": helm_home,
        }

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(tool_path("helm")), *args], capture_output=True, text=True, env=self.env(),
            cwd=REPO, timeout=600, check=False,
        )  # fmt: skip
        if check and done.returncode != 0:
            pytest.fail(f"helm {' '.join(args)}: {done.stderr}\n{done.stdout}")
        return done

    def values_file(self, image: str, endpoint_url: str, extra: dict[str, Any]) -> Path:
        """awsorg-values.yaml as docs/install.md writes it, for this node and the emulator:
        the image loaded into the node, the emulator as AWS, credentials as IRSA would give."""
        repository, tag = image.rsplit(":", 1)
        env = aws_credentials(MANAGEMENT_ACCOUNT_ID)
        values: dict[str, Any] = {
            "image": {"repository": repository, "tag": tag, "pullPolicy": "Never"},
            "operator": {"defaultRegion": "us-east-1", "resyncSeconds": 10},
            "aws": {"endpointURL": endpoint_url, "region": "us-east-1"},
            "extraEnv": [{"name": k, "value": v} for k, v in env.items()],
        }
        for key, value in extra.items():  # one level deep is all the tests need
            if isinstance(value, dict):
                values.setdefault(key, {}).update(value)
            else:
                values[key] = value
        path = self.folder / "awsorg-values.yaml"
        path.write_text(yaml.safe_dump(values))
        return path

    def install(self, values: Path) -> None:
        self(
            "install", RELEASE, "charts/awsorg-operator", "-n", NAMESPACE,
            "--create-namespace", "-f", str(values),
        )  # fmt: skip

    def uninstall(self) -> None:
        self("uninstall", RELEASE, "-n", NAMESPACE, "--wait", "--timeout=120s", check=False)


@pytest.fixture
def helm(node: LocalNode, tmp_path: Path) -> Helm:
    return Helm(node, tmp_path)


def operator_pod(kube: Kube) -> dict[str, Any]:
    """The one operator pod of the release (fails the test if there is not exactly one)."""
    pods = json.loads(
        kube(
            "-n",
            NAMESPACE,
            "get",
            "pods",
            "-l",
            f"app.kubernetes.io/instance={RELEASE}",
            "-o",
            "json",
        ).stdout
    )["items"]
    live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    assert len(live) == 1, [p["metadata"]["name"] for p in live]
    return live[0]  # type: ignore[no-any-return]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    setattr(item, f"report_{report.when}", report)
    node = getattr(item, "funcargs", {}).get("node")
    if report.failed and report.when == "call" and isinstance(node, LocalNode):
        kube = Kube(node.control_plane)
        pods = kube("get", "pods", "-A", "-o", "wide", check=False).stdout
        events = kube("get", "events", "-A", check=False).stdout[-6000:]
        logs = kube("-n", NAMESPACE, "logs", "-l", f"app.kubernetes.io/instance={RELEASE}",
                    "--tail=80", "--all-containers", "--prefix", check=False).stdout  # fmt: skip
        report.sections.append(("node", f"{pods}\n{events}\n{logs}\n{node.diagnostics(30)}"))
    return report
