"""`awsorg-operator wait-for-turn`, the chart's init container, as a process against a real
API server: with the environment the chart renders for it and the chart's ServiceAccount, so
that what passes here the chart's RBAC allows. Without a kubelet a pod stays Pending, which
counts as running: the other workload's pod holds the turn until it is deleted."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from awsorg_devbase import ManagedProcess
from awsorg_devstack import NAMESPACE, install_peering, render_chart
from awsorg_localcluster import LocalControlPlane
from tests.e2e.conftest import Kube, wait_for

pytestmark = pytest.mark.e2e

Start = Callable[..., ManagedProcess]


def init_env(priority: int) -> dict[str, str]:
    """The init container's environment in the StatefulSet of two replicas, for the pod of
    ordinal `priority` (the chart passes the pod-index label)."""
    (workload,) = [d for d in render_chart("--set", "replicaCount=2") if d["kind"] == "StatefulSet"]
    (init,) = workload["spec"]["template"]["spec"]["initContainers"]
    env = {v["name"]: str(v["value"]) for v in init["env"] if "value" in v}
    return {**env, "POD_NAMESPACE": NAMESPACE, "PRIORITY": str(priority)}


@pytest.fixture
def turn(cluster: LocalControlPlane, operator_kubeconfig: Path, tmp_path: Path) -> Iterator[Start]:
    """start(priority, *flags): the subcommand as the pod of that ordinal runs it."""
    install_peering(cluster)  # the ClusterRole's list on peerings, and the object
    started: list[ManagedProcess] = []

    def start(priority: int, *flags: str) -> ManagedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS", "KUBE", "POD_"))}
        env.update({**init_env(priority), "KUBECONFIG": str(operator_kubeconfig)})
        entry_point = Path(sys.executable).parent / "awsorg-operator"
        argv = [str(entry_point), "wait-for-turn", *flags]
        process = ManagedProcess("wait-for-turn", argv, tmp_path / f"turn-{priority}.log", env=env)
        process.start()
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            if process.stop() not in (0, None):
                print(f"\n--- {process.name} ---\n{process.log_tail(20)}")


def said(process: ManagedProcess, words: str) -> bool:
    return words in process.log_path.read_text()


@pytest.fixture
def other_pod(kube: Kube) -> Iterator[str]:
    """A pod with the labels the Deployment's controller gives its pods (the selector the
    chart passes the StatefulSet's init container). No kubelet: it stays Pending."""
    selector = init_env(1)["OTHER_PODS"]
    # key=value terms, and the controller's own label, required to exist, with a value.
    labels = {k: v or "5d9f6c7b8" for k, _, v in (t.partition("=") for t in selector.split(","))}
    (account,) = [d["metadata"]["name"] for d in render_chart() if d["kind"] == "ServiceAccount"]
    name = "awsorg-operator-5d9f6c7b8-x2x4z"
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels},
        "spec": {
            "serviceAccountName": account,
            "containers": [{"name": "operator", "image": "localhost/awsorg-operator:none"}],
        },
    }
    kube.apply(manifest)
    try:
        yield name
    finally:
        kube("delete", "pod", name, "-n", NAMESPACE, "--ignore-not-found", check=False)


def test_a_new_pod_waits_while_the_other_workloads_pod_exists(
    kube: Kube, turn: Start, other_pod: str
) -> None:
    phase = kube("get", "pod", other_pod, "-n", NAMESPACE, "-o", "jsonpath={.status.phase}")
    assert phase.stdout == "Pending"
    top = turn(1)  # the highest ordinal: no peer to wait for after the other workload
    wait_for("it to name the pod it waits for", lambda: said(top, f"to stop: {other_pod}"))
    assert top.running, top.log_tail()
    kube("delete", "pod", other_pod, "-n", NAMESPACE, "--wait=true")
    wait_for("it to return", lambda: not top.running)
    assert top.returncode == 0, top.log_tail()


def keep_alive(priority: int, seen_ago: timedelta) -> dict[str, Any]:
    """A keep-alive as kopf writes it into the peering's status."""
    lastseen = datetime.now(UTC) - seen_ago
    return {"priority": priority, "lifetime": 60, "lastseen": lastseen.isoformat()}


@pytest.fixture
def peering(kube: Kube, turn: Start) -> Iterator[Callable[[dict[str, Any]], None]]:
    """Writes keep-alives into the chart's ClusterKopfPeering, emptied before and after."""
    name = init_env(0)["PEERING"]

    def write(status: dict[str, Any]) -> None:
        patch = json.dumps({"status": status})
        kube("patch", "clusterkopfpeering", name, "--type=merge", "-p", patch)

    kube("patch", "clusterkopfpeering", name, "--type=merge", "-p", '{"status": null}')
    try:
        yield write
    finally:
        kube("patch", "clusterkopfpeering", name, "--type=merge", "-p", '{"status": null}')


def test_a_standby_starts_once_a_live_higher_peer_announces_itself(
    turn: Start, peering: Callable[[dict[str, Any]], None]
) -> None:
    # A dead higher peer and a live one of the standby's own priority: neither lets it start.
    peering({"gone": keep_alive(1, timedelta(hours=1)), "twin": keep_alive(0, timedelta())})
    standby = turn(0)
    wait_for(
        "it to see both peers",
        lambda: said(standby, "gone (priority 1") and said(standby, "twin (priority 0"),
    )
    assert standby.running, standby.log_tail()
    peering({"active": keep_alive(1, timedelta())})
    wait_for("it to return", lambda: not standby.running)
    assert standby.returncode == 0, standby.log_tail()
    assert said(standby, "active is active")


def test_a_standby_starts_anyway_when_no_higher_peer_comes(
    turn: Start, peering: Callable[[dict[str, Any]], None]
) -> None:
    standby = turn(0, "--peer-wait-seconds=3")
    wait_for("it to give up waiting", lambda: not standby.running)
    assert standby.returncode == 0, standby.log_tail()
    assert said(standby, "seen: none") and said(standby, "no live higher peer: starting")
