"""The chart's default memory limit holds at the organization count the docs say it serves
(issue 15 item 4.4): the chart's own resources, applied by the kubelet as a cgroup limit,
that many organizations Ready, re-checked once and deleted at once, and the container never
OOM-killed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from awsorg_emulator import EmulatorControl, EmulatorProcess
from awsorg_experiments.nodememory import MIB, ContainerMemory, Load, container_cgroup
from awsorg_localcluster import LocalNode
from tests.chart.test_sizing import mib, sizing
from tests.e2e.conftest import Kube
from tests.node.conftest import CHART, NAMESPACE, RELEASE, Helm, operator_pod

pytestmark = [pytest.mark.e2e, pytest.mark.node]

# Short, so that the re-check of all comes soon after all are Ready; the chart's default
# (300 s) would only add waiting, not memory.
RESYNC_SECONDS = 60


def oom_kills(cgroup: Path) -> int:
    """The kernel's count of processes it killed in this cgroup for the limit (v1)."""
    fields = dict(line.split() for line in (cgroup / "memory.oom_control").read_text().splitlines())
    return int(fields["oom_kill"])


@pytest.mark.timeout(3600)  # a thousand organizations on two busy cores
def test_the_default_memory_limit_holds_at_the_stated_organization_count(
    node: LocalNode,
    image: str,
    node_emulator: EmulatorProcess,
    control: EmulatorControl,
    kube: Kube,
    tmp_path: Path,
) -> None:
    stated, _ = sizing()
    limit = mib(
        yaml.safe_load((CHART / "values.yaml").read_text())["resources"]["limits"]["memory"]
    )
    helm = Helm(node, tmp_path)
    values = helm.values_file(
        image, node_emulator.endpoint_url, {"operator": {"resyncSeconds": RESYNC_SECONDS}}
    )
    assert "resources" not in yaml.safe_load(values.read_text()), "the chart's defaults"
    helm.install(values)
    load = Load(node.control_plane.kubectl, control, stated)
    try:
        kube("-n", NAMESPACE, "rollout", "status", f"deployment/{RELEASE}", "--timeout=300s")
        cgroup = container_cgroup(operator_pod(kube))
        # The limit is really applied: a pod without one could not fail this test.
        assert int((cgroup / "memory.limit_in_bytes").read_text()) == limit * MIB

        memory = ContainerMemory(cgroup, lambda: None, kubelet_every=60)
        with memory.watching() as peaks:
            load.run(tmp_path, timeout=1800)
        print(f"\n{stated} organizations, limit {limit} MiB: {peaks}")

        (status,) = operator_pod(kube)["status"]["containerStatuses"]
        assert status["restartCount"] == 0, status
        assert "running" in status["state"], status
        terminated = status.get("lastState", {}).get("terminated", {})
        assert terminated.get("reason") != "OOMKilled", status
        assert oom_kills(cgroup) == 0, "the kernel killed a process in the container"

        # All deleted at once, in one request, they stay within the limit too: with a
        # connection per request in flight (kopf's own session; kube/session.py), the
        # deletions took the operator past the limit, and again at every restart.
        load.remove(NAMESPACE, timeout=900)
        (status,) = operator_pod(kube)["status"]["containerStatuses"]
        assert status["restartCount"] == 0, status
        assert oom_kills(cgroup) == 0, "the kernel killed a process in the container"
    finally:
        load.remove(NAMESPACE, timeout=900)
        helm.uninstall()
