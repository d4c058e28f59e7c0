"""The kubelet restarts the operator's container when /healthz fails, and the operator
recovers after the restart (issue item 4.3): a reconcile stuck on a hanging AWS endpoint
longer than operator.stuckSeconds fails /healthz, the chart's livenessProbe sees it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from awsorg_emulator import EmulatorControl, EmulatorProcess
from awsorg_localcluster import LocalNode
from tests.e2e.conftest import Kube
from tests.e2e.test_operator import NAME, adopting
from tests.node.conftest import NAMESPACE, RELEASE, Helm, operator_pod, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.node]

STUCK_SECONDS = 60  # the chart's minimum
RESYNC_SECONDS = 10  # the chart's minimum


def container_status(kube: Kube) -> dict[str, Any]:
    (status,) = operator_pod(kube)["status"].get("containerStatuses", [{}])
    return status  # type: ignore[no-any-return]


@pytest.mark.timeout(900)  # stuck 60 s, three probes 20 s apart, restart, recovery
def test_the_kubelet_restarts_a_stuck_operator_and_it_recovers(
    node: LocalNode,
    image: str,
    node_emulator: EmulatorProcess,
    control: EmulatorControl,
    kube: Kube,
    tmp_path: Path,
) -> None:
    helm = Helm(node, tmp_path)
    values = {
        # A re-check soon after the fault goes in, rather than after the chart's 300 s.
        "operator": {"stuckSeconds": STUCK_SECONDS, "resyncSeconds": RESYNC_SECONDS},
        # One attempt that waits long: the reconcile hangs in AWS, as behind a dead proxy.
        "aws": {"readTimeout": 120, "maxAttempts": 1},
    }
    helm.install(helm.values_file(image, node_emulator.endpoint_url, values))
    try:
        kube("-n", NAMESPACE, "rollout", "status", f"deployment/{RELEASE}", "--timeout=300s")
        kube.apply(adopting())
        kube("wait", "--for=condition=Ready", f"amoc/{NAME}", "--timeout=180s")
        before = container_status(kube)["restartCount"]

        # Every AWS call waits the emulator's longest latency: the next re-check, of
        # sequential steps (Organizations, then Audit Manager), runs well over STUCK_SECONDS.
        # Stuck after STUCK_SECONDS, then three failed probes 20 s apart, then the restart.
        control.add_fault("latency", count=10**6, latency_seconds=60)
        wait_for(
            "the kubelet restarting the container",
            lambda: container_status(kube)["restartCount"] > before,
            timeout=STUCK_SECONDS + 3 * 20 + 240,
            interval=2,
        )
        events = kube("-n", NAMESPACE, "get", "events", "-o", "json").stdout
        assert "Liveness probe failed" in events, "restarted by the liveness probe, not a crash"

        control.clear_faults()
        control.clear_calls()
        wait_for(
            "the restarted container ready",
            lambda: container_status(kube).get("ready") is True,
            timeout=180,
            interval=2,
        )
        wait_for(
            "a re-check by the restarted operator",
            lambda: any(c["operation"].startswith("Get") for c in control.calls()),
            timeout=120,
            interval=2,
        )
        kube.wait_reason(NAME, "Reconciled", timeout=120)
    finally:
        kube.delete_all(timeout=60)
        helm.uninstall()
