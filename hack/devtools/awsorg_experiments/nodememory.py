"""The operator's memory as the chart's pod on the one-node cluster (issue 15 item 4.4, issue
19 item 5): N adopted organizations in the emulator, one resource each (as the benchmark,
:mod:`.bench`, makes them), applied in bulk; every resource Ready; one full re-check after
that; and the container's memory as the kernel charges it against the limit.

Shared by the sizing run (:mod:`.nodesizing`, hack/node-sizing.sh) and tests/node/test_memory.py.
The kernel's figures come from the container's cgroup (v1 on this machine, the memory
controller under the node's ``cgroupRoot``); the kubelet's working set from its summary API,
read through the API server as ``kubectl top`` would.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from awsorg_devbase import WaitTimeoutError, wait_for
from awsorg_emulator import EmulatorControl
from awsorg_emulator.schema import OrganizationSeedView

from .bench import GROUP, PLURAL, REGIONS, VERSION, ready_of, resource

__all__ = ["ContainerMemory", "Kubectl", "Load", "container_cgroup", "kubelet_working_set"]

Kubectl = Callable[..., "subprocess.CompletedProcess[str]"]
MEMORY_CGROUPS = Path("/sys/fs/cgroup/memory")
MIB = 1024 * 1024
NODE_NAME = "awsorg-node"  # awsorg_localcluster's one node
LEASE_LABEL = "app.kubernetes.io/managed-by=awsorg-operator"  # on its claims' Leases
LOAD_LABEL = ("awsorg.io/load", "sizing")  # on the load's resources, to delete them at once
# What every re-check of an organization reads, per listed Region and once: the emulator
# answers each from the organization's management account (its role), so these calls, seen
# for every organization after all were Ready, are the re-check of all.
RECHECK_PER_REGION = ("GetSettings",)
RECHECK_ONCE = ("DescribeOrganization",)
BATCH = 100  # organizations added per request to the emulator
# Each look lists every resource through kubectl, or reads the emulator's whole call log: work
# that grows with the organizations, on the CPU the measured operator (and the tests beside
# it) share. Minutes of waiting need no finer grain.
POLL_SECONDS = 10.0


class Load:
    """N organizations in the emulator and their resources in the cluster, in one file."""

    def __init__(
        self, kubectl: Kubectl, control: EmulatorControl, count: int, regions: int = 2
    ) -> None:
        self.kubectl = kubectl
        self.control = control
        self.count = count
        self.regions = list(REGIONS[:regions])
        self.orgs: list[OrganizationSeedView] = []
        self.names = [f"sizing-org-{i}" for i in range(count)]

    def seed(self) -> None:
        """Adopted organizations, every call answered at once (the test measures memory)."""
        self.control.reset(seed="existing-customer")
        # In batches: the control client waits 10 s per request, and a thousand at once take
        # longer than that on a busy machine.
        for start in range(0, self.count, BATCH):
            batch = min(BATCH, self.count - start)
            self.orgs += self.control.add_organizations(batch, self.regions, adopted=True)
        self.control.configure(latency_seconds=0)

    def apply(self, folder: Path) -> None:
        """One multi-document file, one `kubectl apply`: as a user adds many at once."""
        path = folder / f"organizations-{self.count}.yaml"
        path.write_text(yaml.safe_dump_all(self.resource(n, o) for n, o in self.pairs()))
        self.kubectl("apply", "-f", str(path), timeout=1800)

    def pairs(self) -> Iterator[tuple[str, OrganizationSeedView]]:
        return zip(self.names, self.orgs, strict=True)

    def resource(self, name: str, org: OrganizationSeedView) -> dict[str, Any]:
        """The benchmark's resource, in this load's Regions, labelled as the load's."""
        manifest = resource(name, org, self.regions)
        manifest["metadata"]["labels"] = dict([LOAD_LABEL])
        return manifest

    def all_ready(self) -> bool:
        listed = json.loads(self.kubectl("get", "amoc", "-o", "json", timeout=300).stdout)
        ready = {i["metadata"]["name"] for i in listed["items"] if ready_of(i)}
        return ready >= set(self.names)

    def rechecked(self) -> bool:
        """Every organization re-read since :meth:`EmulatorControl.clear_calls`."""
        seen = {(c["account"], c["operation"], c["region"]) for c in self.control.calls()}
        seen_once = {(a, o) for a, o, _ in seen}
        for org in self.orgs:
            account = org["managementAccountID"]
            if any((account, op) not in seen_once for op in RECHECK_ONCE):
                return False
            for op in RECHECK_PER_REGION:
                if any((account, op, r) not in seen for r in self.regions):
                    return False
        return True

    def run(self, folder: Path, timeout: float) -> None:
        """Seed, apply, wait for every resource Ready, then for one re-check of all."""
        self.seed()
        self.apply(folder)
        wait_for(f"{self.count} resources Ready", self.all_ready, timeout, every=POLL_SECONDS)
        self.control.clear_calls()
        wait_for(f"{self.count} re-checks", self.rechecked, timeout, every=POLL_SECONDS)

    def remove(self, namespace: str, timeout: float) -> None:
        """Delete the resources while the operator runs (it releases each claim and its
        finalizer), then the claims' Leases, which the operator never deletes. Each is one
        DELETE of the collection, done by the API server: kubectl deleting a thousand by name
        sends a request each, five a second by its own rate limit (200 s for the resources)."""
        resources = f"/apis/{GROUP}/{VERSION}/{PLURAL}"
        self._delete_collection(resources, "=".join(LOAD_LABEL), check=False)
        try:
            wait_for("the resources gone", lambda: not self.left(), timeout, every=POLL_SECONDS)
        except WaitTimeoutError:
            patch = '{"metadata":{"finalizers":null}}'
            for name in self.left():
                self.kubectl("patch", f"amoc/{name}", "--type=merge", "-p", patch, check=False)
        self._delete_collection(
            f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases", LEASE_LABEL, check=True
        )

    def _delete_collection(self, path: str, selector: str, check: bool) -> None:
        query = urllib.parse.urlencode({"labelSelector": selector})
        self.kubectl("delete", "--raw", f"{path}?{query}", check=check, timeout=300)

    def left(self) -> set[str]:
        out = self.kubectl("get", "amoc", "-o", "jsonpath={.items[*].metadata.name}",
                           check=False, timeout=300).stdout  # fmt: skip
        return set(out.split()) & set(self.names)


def container_cgroup(pod: dict[str, Any]) -> Path:
    """The memory cgroup of the pod's one container, found by the pod's UID and the container's
    ID under whichever node's ``cgroupRoot`` (several nodes may run on this machine)."""
    (status,) = pod["status"]["containerStatuses"]
    container = status["containerID"].split("://", 1)[1]
    uid = pod["metadata"]["uid"]
    patterns = (f"*/kubepods/*/pod{uid}/{container}", f"*/kubepods/pod{uid}/{container}")
    found = [p for pattern in patterns for p in MEMORY_CGROUPS.glob(pattern)]
    if len(found) != 1:
        raise RuntimeError(f"the container's memory cgroup: found {found}")
    return found[0]


def kubelet_working_set(kubectl: Kubectl, namespace: str, pod: str) -> int | None:
    """The container's working set in the kubelet's summary (what eviction and `kubectl top`
    read); None while the kubelet has no sample yet."""
    raw = kubectl("get", "--raw", f"/api/v1/nodes/{NODE_NAME}/proxy/stats/summary",
                  check=False, timeout=60)  # fmt: skip
    if raw.returncode != 0:
        return None
    for entry in json.loads(raw.stdout).get("pods", []):
        ref = entry["podRef"]
        if (ref["namespace"], ref["name"]) == (namespace, pod):
            for container in entry.get("containers", []):
                found = container.get("memory", {}).get("workingSetBytes")
                return int(found) if found is not None else None
    return None


@dataclass
class Peaks:
    """MiB; ``max_usage`` is the kernel's own high-water mark (memory.max_usage_in_bytes:
    everything charged to the cgroup, page cache too), the others the highest sampled."""

    max_usage: float = 0.0
    working_set: float = 0.0  # usage - inactive file pages: what the kubelet evicts on
    rss: float = 0.0  # anonymous memory: what no reclaim can free
    kubelet_working_set: float = 0.0
    limit: float = 0.0
    failcnt: int = 0  # times usage hit the limit (and the kernel had to reclaim)
    samples: int = 0


class ContainerMemory:
    """Samples a container's memory cgroup every half second while :meth:`watching` runs,
    and the kubelet's working set every ``kubelet_every`` seconds."""

    def __init__(self, cgroup: Path, kubelet: Callable[[], int | None], kubelet_every: float):
        self.cgroup = cgroup
        self.kubelet = kubelet
        self.kubelet_every = kubelet_every
        self.peaks = Peaks()
        self._stop = threading.Event()

    def read(self, name: str) -> int:
        return int((self.cgroup / name).read_text())

    def stat(self) -> dict[str, int]:
        lines = (self.cgroup / "memory.stat").read_text().splitlines()
        return {k: int(v) for k, v in (line.split() for line in lines)}

    def sample(self) -> None:
        stat, usage = self.stat(), self.read("memory.usage_in_bytes")
        p = self.peaks
        p.working_set = max(p.working_set, (usage - stat["total_inactive_file"]) / MIB)
        p.rss = max(p.rss, stat["total_rss"] / MIB)  # v1: rss counts huge pages too
        p.max_usage = self.read("memory.max_usage_in_bytes") / MIB
        p.limit = self.read("memory.limit_in_bytes") / MIB
        p.failcnt = self.read("memory.failcnt")
        p.samples += 1

    def _loop(self) -> None:
        ticks = 0
        every = max(1, round(self.kubelet_every / 0.5))
        while not self._stop.wait(0.5):
            try:
                self.sample()
            except FileNotFoundError:  # the container is gone (killed): keep the peaks
                return
            if ticks % every == 0 and (found := self.kubelet()) is not None:
                self.peaks.kubelet_working_set = max(self.peaks.kubelet_working_set, found / MIB)
            ticks += 1

    @contextmanager
    def watching(self) -> Iterator[Peaks]:
        thread = threading.Thread(target=self._loop, name="cgroup-sampler", daemon=True)
        thread.start()
        try:
            yield self.peaks
        finally:
            self._stop.set()
            thread.join(timeout=30)
        with contextlib.suppress(FileNotFoundError):  # gone with a killed container
            self.sample()


def pods_of(kubectl: Kubectl, namespace: str, selector: str) -> Sequence[dict[str, Any]]:
    out = kubectl("-n", namespace, "get", "pods", "-l", selector, "-o", "json", timeout=120)
    items: list[dict[str, Any]] = json.loads(out.stdout)["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]
