"""The kubelet for the node, and the undoing of what it changes on the host.

kubelet v1.37 on cgroup v1 needs ``failCgroupV1: false``, ``cgroupDriver: cgroupfs`` and
``failSwapOn: false``. It runs in the node's network namespace (its iptables chains stay
there) but in the host's mount namespace and cgroups, so :class:`HostChanges` records what
it touches outside the node's folder and puts it back: the host sysctls it sets
(:class:`.sysctls.SysctlLedger`, shared by the nodes on this host), the
bind mounts (its root folder onto itself, the pods' volumes), its cgroups (all under a
``cgroupRoot`` of this node's own) and what it writes to /var/log/containers and
/run/containerd (the shims' sockets and libcni's cache go with containerd,
:meth:`.runtime.Containerd.stop`).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from pathlib import Path

from .sysctls import SysctlLedger

__all__ = ["HostChanges", "kubelet_args", "write_kubelet_config"]

_HOST_DIRS = (Path("/var/log/containers"), Path("/var/log/pods"), Path("/run/containerd"))
_CGROUPS = Path("/sys/fs/cgroup")


def write_kubelet_config(
    folder: Path, *, ca_cert: Path, node_address: str, socket: Path, cgroup_root: str
) -> Path:
    """The KubeletConfiguration: every path under ``folder``, no cluster DNS, and eviction
    thresholds low enough that a busy shared disk does not evict the test's pods."""
    config = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "failCgroupV1": False,
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": f"/{cgroup_root}",
        "failSwapOn": False,
        "address": node_address,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": False},
            "x509": {"clientCAFile": str(ca_cert)},
        },
        "authorization": {"mode": "AlwaysAllow"},
        "containerRuntimeEndpoint": f"unix://{socket}",
        "podLogsDir": str(folder / "pod-logs"),
        "volumePluginDir": str(folder / "volume-plugins"),
        "resolvConf": "",
        "clusterDomain": "cluster.local",
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "1%",
            "imagefs.available": "1%",
            "nodefs.inodesFree": "1%",
        },
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "protectKernelDefaults": False,
        "registerNode": True,
        "serializeImagePulls": False,
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.json"
    path.write_text(json.dumps(config, indent=2))
    return path


def kubelet_args(
    folder: Path, config: Path, kubeconfig: Path, node_name: str, node_address: str
) -> list[str]:
    return [
        f"--config={config}",
        f"--kubeconfig={kubeconfig}",
        f"--root-dir={folder / 'root'}",
        f"--cert-dir={folder / 'pki'}",
        f"--hostname-override={node_name}",
        f"--node-ip={node_address}",
        "--v=1",
    ]


class HostChanges:
    """Records the host's state before the kubelet starts; :meth:`undo` restores it."""

    def __init__(self, node_folder: Path, cgroup_root: str) -> None:
        self._folder = node_folder.resolve()
        self._cgroup_root = cgroup_root
        self._sysctls = SysctlLedger(str(self._folder))
        self._new_dirs: list[Path] = []

    def record(self) -> None:
        self._sysctls.join()
        self._new_dirs = [d for d in _HOST_DIRS if not d.exists()]
        self._create_cgroup_root()

    def _create_cgroup_root(self) -> None:
        """The kubelet wants its cgroupRoot to exist in every hierarchy."""
        for hierarchy in _CGROUPS.iterdir() if _CGROUPS.is_dir() else ():
            if hierarchy.is_symlink() or not hierarchy.is_dir():
                continue
            root = hierarchy / self._cgroup_root
            root.mkdir(exist_ok=True)
            for name in ("cpuset.cpus", "cpuset.mems"):  # empty in a new v1 cpuset cgroup
                if (hierarchy / name).exists() and not (root / name).read_text().strip():
                    (root / name).write_text((hierarchy / name).read_text())

    def undo(self) -> None:
        self._kill_and_remove_cgroups()
        self._unmount()
        self._sysctls.leave()
        self._clean_host_dirs()

    def _cgroup_dirs(self) -> list[Path]:
        """This node's cgroups in every hierarchy, deepest first."""
        found: list[Path] = []
        for hierarchy in _CGROUPS.iterdir() if _CGROUPS.is_dir() else ():
            root = hierarchy / self._cgroup_root
            if root.is_dir() and not root.is_symlink():
                found.extend(p for p in root.rglob("*") if p.is_dir())
                found.append(root)
        return sorted(found, key=lambda p: len(p.parts), reverse=True)

    def _kill_and_remove_cgroups(self) -> None:
        # Whatever still runs in the node's cgroups is a container this node started.
        for cgroup in self._cgroup_dirs():
            with contextlib.suppress(OSError):
                for pid in (cgroup / "cgroup.procs").read_text().split():
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(int(pid), signal.SIGKILL)
        for cgroup in self._cgroup_dirs():
            with contextlib.suppress(OSError):
                cgroup.rmdir()

    def _unmount(self) -> None:
        """Unmount everything mounted under the node's folder, innermost first."""
        mounts = []
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            point = line.split()[4].encode().decode("unicode_escape")
            if Path(point) != self._folder and Path(point).is_relative_to(self._folder):
                mounts.append(point)
        for point in sorted(mounts, key=len, reverse=True):
            subprocess.run(["umount", "-l", point], capture_output=True, check=False)

    def _clean_host_dirs(self) -> None:
        # Log links into this node's folder go; folders the kubelet created go once empty.
        for folder in _HOST_DIRS:
            if folder.is_dir():
                for entry in folder.iterdir():
                    with contextlib.suppress(OSError):
                        if entry.is_symlink() and str(self._folder) in os.readlink(entry):
                            entry.unlink()
        for folder in self._new_dirs:
            for sub in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
                with contextlib.suppress(OSError):
                    sub.rmdir()
            with contextlib.suppress(OSError):
                folder.rmdir()
