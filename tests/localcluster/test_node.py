"""python -m awsorg_localcluster --node's harness: a pod runs, confined, and on stop nothing
the node made is left on the host (sysctls, mounts, cgroups, links, shim sockets, logs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from awsorg_devbase import wait_for
from awsorg_localcluster import LocalNode

pytestmark = [pytest.mark.e2e, pytest.mark.node]

SYSCTLS = ("vm/overcommit_memory", "kernel/panic", "kernel/panic_on_oops")
HOST_DIRS = (Path("/var/log/containers"), Path("/var/log/pods"), Path("/run/containerd"))


def host_state() -> dict[str, object]:
    """What the node may touch on the host, limited to what is named after the node (other
    engineers' podman containers come and go meanwhile)."""
    mounts = Path("/proc/self/mountinfo").read_text().split("\n")
    return {
        "sysctls": {name: Path("/proc/sys", name).read_text() for name in SYSCTLS},
        "mounts": sorted(m.split()[4] for m in mounts if "awsorg-node-" in m),
        "links": sorted(p.name for p in Path("/sys/class/net").iterdir() if p.name[:2] == "aw"),
        "cgroups": sorted(
            str(p) for p in Path("/sys/fs/cgroup").glob("*/awsorg-node-*") if p.is_dir()
        ),
        "cni cache": sorted(p.name for p in Path("/var/lib/cni/results").glob("awsorg-node-*")),
        "dirs": {
            str(d): sorted(p.name for p in d.rglob("*")) if d.is_dir() else None for d in HOST_DIRS
        },
    }


@pytest.mark.timeout(900)
def test_a_pod_runs_confined_and_the_node_leaves_nothing_behind() -> None:
    before = host_state()
    with LocalNode() as node:
        cp = node.control_plane
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "pause", "namespace": "default"},
            "spec": {
                "containers": [
                    {
                        "name": "pause",
                        "image": node.pause_image,
                        "imagePullPolicy": "Never",
                        "resources": {"limits": {"memory": "16Mi"}},
                        "securityContext": {
                            "runAsNonRoot": True,
                            "readOnlyRootFilesystem": True,
                            "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]},
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                    }
                ]
            },
        }
        cp.kubectl("apply", "-f", "-", input=json.dumps(pod))
        cp.kubectl("wait", "--for=condition=Ready", "pod/pause", "--timeout=180s")
        during = host_state()
        assert during["cgroups"], "the pod's cgroups are under the node's own cgroupRoot"
        assert during["mounts"], "the kubelet's and the pod's mounts are under the node's folder"
        assert len(during["links"]) > len(before["links"])  # type: ignore[arg-type]
    wait_for("the host as before", lambda: host_state() == before, timeout=30)
