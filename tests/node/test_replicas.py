"""Two replicas on a real kubelet have one writer (issue item 4.5): the chart's StatefulSet
with kopf peering, a force-deleted active pod, and `helm upgrade` from 1 replica to 2 and back.

Who wrote is read off the emulator's call log, as CloudTrail would show it: each pod's SDK
names the pod in its User-Agent (`app/<pod UID>`, AWS_SDK_UA_APP_ID from the downward API),
because the node masquerades every pod behind its own address. The drift is the Audit Manager
KMS key set by hand in a Region; every correction is one UpdateSettings call by a pod.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from awsorg_emulator import EmulatorControl, EmulatorProcess
from awsorg_localcluster import LocalNode
from tests.e2e.conftest import MGMT, Kube
from tests.e2e.test_operator import MUTATING, NAME, REGIONS, adopting
from tests.node.conftest import NAMESPACE, RELEASE, Helm, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.node, pytest.mark.slow]

# Each pod's SDK appends app/<its UID> to its User-Agent: a replacement pod of the same name
# (a StatefulSet's) is told apart from the pod it replaces.
APP_ID = {"name": "AWS_SDK_UA_APP_ID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}}
APP = re.compile(r"\bapp/([0-9a-f-]{36})\b")
CORRECTION = "UpdateSettings"
DEFAULT = "DEFAULT"
PEERING_LIFETIME = 60  # kopf's default: a killed peer is trusted that long


@dataclass(frozen=True)
class Call:
    pod: str  # the caller's pod UID; "" for the test's own calls
    operation: str
    region: str
    started: float
    ended: float


def calls(control: EmulatorControl) -> list[Call]:
    found = []
    for c in control.calls():
        app = APP.search(c["userAgent"])
        pod = app.group(1) if app else ""
        found.append(Call(pod, c["operation"], c["region"], c["started"], c["ended"]))
    return sorted(found, key=lambda c: c.started)


def pod_writes(control: EmulatorControl) -> list[Call]:
    return [c for c in calls(control) if c.pod and c.operation.startswith(MUTATING)]


def kms_keys(control: EmulatorControl) -> set[str]:
    return {control.state()["auditManager"][r]["kmsKey"] for r in REGIONS}


def drift(control: EmulatorControl, n: int, region: str = "us-east-1") -> None:
    key = f"arn:aws:kms:{region}:123456789012:key/changed-by-hand-{n}"
    auditmanager = boto3.client(
        "auditmanager",
        region_name=region,
        endpoint_url=control.endpoint_url,
        aws_access_key_id=MGMT,
        aws_secret_access_key="x",
    )
    auditmanager.update_settings(kmsKey=key)


def settled(kube: Kube, control: EmulatorControl) -> bool:
    """Every key is back and the operator saw it land. Until then a write it sent is in flight
    (status.plannedActions) and it does not send it again, whatever AWS reads: a drift made
    that early would be taken for AWS's lag (journal.IN_FLIGHT_GRACE).

    The keys are read first. The operator records a write in status before it sends it, so a
    status read after the key came back shows the record until the operator has seen the key
    land. In the other order, a status read just before the record, and a key read just after
    the write, passed while the write was still in flight (seen on a loaded machine)."""
    if kms_keys(control) != {DEFAULT}:
        return False
    return bool(kube.get(NAME).get("status", {}).get("plannedActionCount") == 0)


def corrected(kube: Kube, control: EmulatorControl, timeout: float = 120) -> None:
    wait_for("the key set back by a pod", lambda: settled(kube, control), timeout=timeout)


def pods(kube: Kube) -> dict[str, str]:
    """UID → name of the release's live pods."""
    items = json.loads(
        kube("-n", NAMESPACE, "get", "pods", "-l", f"app.kubernetes.io/instance={RELEASE}",
             "-o", "json").stdout
    )["items"]  # fmt: skip
    live = [p for p in items if not p["metadata"].get("deletionTimestamp")]
    return {p["metadata"]["uid"]: p["metadata"]["name"] for p in live}


def values(
    helm: Helm, image: str, endpoint_url: str, replicas: int, extra: dict[str, Any] | None = None
) -> Path:
    path = helm.values_file(image, endpoint_url, {"replicaCount": replicas, **(extra or {})})
    written = yaml.safe_load(path.read_text())
    written["extraEnv"].append(APP_ID)
    path.write_text(yaml.safe_dump(written))
    return path


def rolled_out(kube: Kube, replicas: int) -> None:
    kind = "deployment" if replicas == 1 else "statefulset"
    kube("-n", NAMESPACE, "rollout", "status", f"{kind}/{RELEASE}", "--timeout=300s")
    wait_for(f"{replicas} live pod(s)", lambda: len(pods(kube)) == replicas, timeout=180)


def assert_one_writer(log: list[Call]) -> None:
    """No two pods write at once: each pod's writes span a time range, and no two overlap.
    No write twice: in each Region every correction follows a drift of the test's (no two
    corrections in a row)."""
    spans: dict[str, tuple[float, float]] = {}
    for w in (c for c in log if c.pod and c.operation.startswith(MUTATING)):
        first, last = spans.get(w.pod, (w.started, w.ended))
        spans[w.pod] = (min(first, w.started), max(last, w.ended))
    for (a, (a0, a1)), (b, (b0, b1)) in combinations(spans.items(), 2):
        assert a1 < b0 or b1 < a0, f"two writers at once: {a} {a0}-{a1}, {b} {b0}-{b1}"
    for region in REGIONS:
        settings = [c.pod for c in log if c.operation == CORRECTION and c.region == region]
        twice = [i for i in range(1, len(settings)) if settings[i] and settings[i - 1]]
        assert not twice, f"a correction sent twice in {region}: {settings}"


@pytest.fixture(scope="class")  # torn down before the upgrade test installs its own
def two(
    node: LocalNode,
    image: str,
    node_emulator: EmulatorProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Helm]:
    helm = Helm(node, tmp_path_factory.mktemp("helm"))
    helm.install(values(helm, image, node_emulator.endpoint_url, 2))
    try:
        yield helm
    finally:
        Kube(node.control_plane).delete_all(timeout=60)
        helm.uninstall()


def ready_resource(kube: Kube, control: EmulatorControl) -> None:
    kube.apply(adopting(kmsKey=DEFAULT))
    kube("wait", "--for=condition=Ready", f"amoc/{NAME}", "--timeout=180s")
    corrected(kube, control)


class TestTwoReplicas:
    """One install of two replicas for both tests, uninstalled before the next test."""

    def test_two_replicas_write_from_one_pod_only(
        self, two: Helm, kube: Kube, control: EmulatorControl
    ) -> None:
        rolled_out(kube, 2)
        live = pods(kube)
        ready_resource(kube, control)
        control.clear_calls()
        for n in range(3):
            drift(control, n)
            corrected(kube, control)
        log = calls(control)
        writers = {c.pod for c in pod_writes(control)}
        assert len(writers) == 1 and writers <= set(live), (writers, live)
        assert [c for c in log if c.operation == CORRECTION and c.pod] == pod_writes(control)
        assert len(pod_writes(control)) == 3, pod_writes(control)
        # The standby is paused: it makes no AWS call at all, not even a read.
        (standby,) = set(live) - writers
        assert not [c for c in log if c.pod == standby], live[standby]
        assert set(pods(kube)) == set(live), "both pods stayed"

    def test_a_force_deleted_active_pod_is_taken_over_without_a_write_twice(
        self, two: Helm, kube: Kube, control: EmulatorControl
    ) -> None:
        rolled_out(kube, 2)
        ready_resource(kube, control)
        control.clear_calls()
        drift(control, 0)
        corrected(kube, control)
        (active,) = {c.pod for c in pod_writes(control)}
        name = pods(kube)[active]

        drift(control, 1)  # pending while the active pod dies
        kube("-n", NAMESPACE, "delete", "pod", name, "--grace-period=0", "--force", "--wait=false")
        corrected(kube, control, timeout=PEERING_LIFETIME + 120)
        drift(control, 2)  # made after the takeover
        corrected(kube, control, timeout=PEERING_LIFETIME + 120)
        log = calls(control)
        assert_one_writer(log)
        after = [c.pod for c in log if c.operation == CORRECTION][-1]
        assert after and after != active, "the correction after the takeover is a new pod's"
        assert after in pods(kube), pods(kube)
        print(f"{name} ({active}) force-deleted; taken over by {pods(kube)[after]} ({after})")


# AWS answers the old writer's last correction this late: under the chart's
# terminationGracePeriodSeconds (60), so the old pod lives until it is answered.
SLOW_WRITE = 50


@pytest.mark.timeout(1500)
def test_helm_upgrade_one_two_one_never_has_two_writers(
    node: LocalNode,
    image: str,
    node_emulator: EmulatorProcess,
    control: EmulatorControl,
    kube: Kube,
    tmp_path: Path,
) -> None:
    """Across each switch the old writer is still sending a correction (AWS is slow to answer
    it) while another drift waits for whichever writer comes next."""
    helm = Helm(node, tmp_path)
    url = node_emulator.endpoint_url
    slow = {"aws": {"readTimeout": SLOW_WRITE + 30}}  # the old writer waits for its answer
    helm.install(values(helm, image, url, 1, slow))
    try:
        rolled_out(kube, 1)
        ready_resource(kube, control)
        control.clear_calls()
        for replicas in (2, 1):
            before = set(pods(kube))
            drift(control, replicas, "us-east-1")  # then the old writer's correction is slow
            control.add_fault(
                "latency", service="auditmanager", operation=CORRECTION, region="us-east-1",
                latency_seconds=SLOW_WRITE,
            )  # fmt: skip
            wait_for("the old writer's correction sent", lambda: not control.faults())
            helm("upgrade", RELEASE, "charts/awsorg-operator", "-n", NAMESPACE,
                 "-f", str(values(helm, image, url, replicas, slow)))  # fmt: skip
            drift(control, replicas, "eu-west-1")  # for the writer of the new workload
            rolled_out(kube, replicas)
            corrected(kube, control, timeout=SLOW_WRITE + PEERING_LIFETIME + 180)
            fixed = [c.pod for c in pod_writes(control) if c.region == "eu-west-1"]
            assert fixed[-1] in set(pods(kube)) - before, "the new workload's pod corrected it"
        log = calls(control)
        assert_one_writer(log)
        assert len({c.pod for c in pod_writes(control)}) == 3, pod_writes(control)
    finally:
        kube.delete_all(timeout=60)
        helm.uninstall()
