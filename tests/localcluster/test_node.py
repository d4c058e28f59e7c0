"""python -m awsorg_localcluster --node's harness: a pod runs, confined, and on stop nothing
the node made is left on the host (sysctls, mounts, cgroups, links, shim sockets, logs).
Only what is named after this node is looked at, so another node may run beside it."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from awsorg_devbase import wait_for
from awsorg_localcluster import LocalNode

pytestmark = [pytest.mark.e2e, pytest.mark.node]

SYSCTLS = ("vm/overcommit_memory", "kernel/panic", "kernel/panic_on_oops")
LOG_LINKS = Path("/var/log/containers")
SHIM_SOCKETS = Path("/run/containerd/s")
LEDGER = Path("/run/awsorg-localcluster/sysctls.json")  # awsorg_localcluster.sysctls


def traces(folder: Path, suffix: str, shims: set[str]) -> dict[str, list[str]]:
    """What on the host is named after this node: its folder, its random suffix, its shims'
    sockets. Another run's node may come and go meanwhile: only this node's names count."""
    mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    return {
        "mounts": sorted(m for m in mounts if m.startswith(str(folder))),
        "links": sorted(p.name for p in Path("/sys/class/net").iterdir() if suffix in p.name),
        "cgroups": sorted(str(p) for p in Path("/sys/fs/cgroup").glob(f"*/awsorg-node-{suffix}")),
        "cni cache": sorted(
            p.name for p in Path("/var/lib/cni/results").glob(f"awsorg-node-{suffix}-*")
        ),
        "log links": sorted(p.name for p in _entries(LOG_LINKS) if str(folder) in _text_link(p)),
        "shim sockets": sorted(p.name for p in _entries(SHIM_SOCKETS) if p.name in shims),
    }


def shim_sockets(folder: Path) -> set[str]:
    """The names of this node's shims' sockets: the one path containerd does not take from
    its config (sha256 of address/namespace/id), for every sandbox and container runc runs."""
    socket = folder / "containerd" / "containerd.sock"
    ids = [d.name for d in _entries(folder / "containerd" / "runc" / "k8s.io")]
    return {hashlib.sha256(f"{socket}/k8s.io/{i}".encode()).hexdigest() for i in ids}


def _entries(folder: Path) -> list[Path]:
    return list(folder.iterdir()) if folder.is_dir() else []


def _text(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _text_link(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""


@pytest.mark.timeout(900)
def test_a_pod_runs_confined_and_the_node_leaves_nothing_behind() -> None:
    before = host_sysctls()
    with LocalNode() as node:
        folder, suffix = node.workdir, node.suffix
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
        shims = shim_sockets(folder)
        during = traces(folder, suffix, shims)
        empty = [kind for kind, names in during.items() if not names]
        assert not empty, f"nothing found of: {empty}: the check below would prove nothing"
    wait_for("nothing of the node left", lambda: not any(traces(folder, suffix, shims).values()),
             timeout=30)  # fmt: skip
    assert str(folder) not in _text(LEDGER), "the node left the sysctl ledger"
    assert host_sysctls() == before


def host_sysctls() -> dict[str, str]:
    """The host's own values: the ledger's while another node on this host holds them."""
    ledger = json.loads(_text(LEDGER) or '{"originals": {}}')["originals"]
    return {name: ledger.get(name) or Path("/proc/sys", name).read_text().strip()
            for name in SYSCTLS}  # fmt: skip
