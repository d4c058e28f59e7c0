"""A one-node cluster built from upstream sources (hack/build-tools.sh): etcd,
kube-apiserver, kube-controller-manager and kube-scheduler run in this network namespace; the
API server listens on the host end of the node's link (:attr:`LocalNode.host_address`),
where pods reach it too, through the ``kubernetes`` Service (a DNAT rule in the node's
namespace stands in for kube-proxy). containerd, the kubelet and the pods run in the
node's own network namespace (:mod:`.netns`). Every file is under one folder; what the
kubelet changes outside it is undone on stop (:class:`.kubelet.HostChanges`).
Every component authenticates as the admin (``system:masters``): a throw-away cluster.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self, TypeVar
from urllib.parse import urlparse

from awsorg_devbase import ManagedProcess, WaitTimeoutError, tail, wait_for

from .controlplane import ControlPlaneError, LocalControlPlane
from .kubelet import HostChanges, kubelet_args, write_kubelet_config
from .netns import KUBERNETES_SERVICE_IP, SERVICE_RANGE, NodeNetwork
from .runtime import Containerd, build_pause_image
from .tools import tool_path

__all__ = ["LocalNode", "NodeError"]

NODE_NAME = "awsorg-node"
_T = TypeVar("_T")


class NodeError(ControlPlaneError):
    """A node component did not start or the node did not become Ready; has the logs."""


class LocalNode:
    """Use as a context manager; :attr:`control_plane` has kubectl and the kubeconfig."""

    def __init__(
        self,
        *,
        workdir: Path | None = None,
        keep_workdir: bool = False,
        images: Sequence[str] = (),
        start_timeout: float = 300.0,
    ) -> None:
        self._requested_workdir = workdir
        self._keep = keep_workdir or workdir is not None
        self._images = list(images)
        self._timeout = start_timeout
        self._lock = threading.RLock()
        self._folder: Path | None = None
        self._network: NodeNetwork | None = None
        self._control_plane: LocalControlPlane | None = None
        self._processes: list[ManagedProcess] = []
        self._containerd: Containerd | None = None
        self._host: HostChanges | None = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- facts ------------------------------------------------------------

    @property
    def control_plane(self) -> LocalControlPlane:
        return _require(self._control_plane)

    @property
    def kubeconfig(self) -> Path:
        return self.control_plane.kubeconfig

    @property
    def host_address(self) -> str:
        """Where pods reach a server that listens on this address in this namespace."""
        return _require(self._network).host_address

    @property
    def suffix(self) -> str:
        """The random part of the names this node gives on the host: links, cgroups, CNI."""
        return _require(self._network).suffix

    @property
    def pause_image(self) -> str:
        """The locally built sandbox image, in the node's containerd."""
        return _require(self._containerd).sandbox_image

    @property
    def workdir(self) -> Path:
        return _require(self._folder)

    @property
    def log_paths(self) -> Mapping[str, Path]:
        paths = dict(self._control_plane.log_paths) if self._control_plane else {}
        paths.update({p.name: p.log_path for p in self._all_processes()})
        return paths

    @property
    def running(self) -> bool:
        return self.control_plane.running and all(p.running for p in self._all_processes())

    def diagnostics(self, lines: int = 40) -> str:
        logs = self.log_paths.items()
        return "\n".join(f"--- {name} ({path}) ---\n{tail(path, lines)}" for name, path in logs)

    def load_image(self, ref: str) -> None:
        """Copy an image from podman's storage into the node's containerd."""
        _require(self._containerd).load_image(ref)

    # --- life cycle -------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            if self._folder is not None:
                raise RuntimeError("this LocalNode is already started")
            try:
                self._start()
            except BaseException:
                self.stop()
                raise

    def _start(self) -> None:
        if self._requested_workdir is not None:
            self._requested_workdir.mkdir(parents=True, exist_ok=True)
            self._folder = self._requested_workdir.resolve()
        else:
            self._folder = Path(tempfile.mkdtemp(prefix="awsorg-node-")).resolve()
        folder, logs = self._folder, self._folder / "logs"
        self._network = network = NodeNetwork(folder / "net")
        network.create()
        self._control_plane = cp = LocalControlPlane(
            workdir=folder / "control-plane",
            address=network.host_address,
            server_ips=(KUBERNETES_SERVICE_IP,),
            extra_apiserver_args=(
                f"--service-cluster-ip-range={SERVICE_RANGE}",
                # The "kubernetes" Service gets the API server's address as its endpoint.
                "--endpoint-reconciler-type=lease",
                # exec, logs and port-forward: the kubelet trusts the CA's client certificates.
                f"--kubelet-client-certificate={folder / 'control-plane' / 'pki' / 'admin.crt'}",
                f"--kubelet-client-key={folder / 'control-plane' / 'pki' / 'admin.key'}",
                "--kubelet-preferred-address-types=InternalIP",
            ),
        )
        cp.start()
        port = urlparse(cp.server).port or 443
        network.route_service(KUBERNETES_SERVICE_IP, 443, network.host_address, port)
        self._start_controllers(cp, logs)
        self._containerd = Containerd(folder / "containerd", network, build_pause_image())
        self._containerd.start(logs / "containerd.log", self._timeout)
        for ref in [self._containerd.sandbox_image, *self._images]:
            self._containerd.load_image(ref)
        cgroup_root = f"awsorg-node-{network.suffix}"
        self._host = HostChanges(folder, cgroup_root)
        self._host.record()
        config = write_kubelet_config(
            folder / "kubelet",
            ca_cert=cp.ca_cert,
            node_address=network.node_address,
            socket=self._containerd.socket,
            cgroup_root=cgroup_root,
        )
        argv = kubelet_args(
            folder / "kubelet", config, cp.kubeconfig, NODE_NAME, network.node_address
        )
        self._spawn("kubelet", [*network.nsenter(), str(tool_path("kubelet")), *argv], logs)
        self._wait_ready()

    def _start_controllers(self, cp: LocalControlPlane, logs: Path) -> None:
        common = [f"--kubeconfig={cp.kubeconfig}", "--leader-elect=false", "--secure-port=0"]
        self._spawn("kube-controller-manager", [
            str(tool_path("kube-controller-manager")), *common, f"--root-ca-file={cp.ca_cert}",
            f"--service-account-private-key-file={cp.pki.service_account_key}",
            f"--service-cluster-ip-range={SERVICE_RANGE}",
        ], logs)  # fmt: skip
        self._spawn("kube-scheduler", [str(tool_path("kube-scheduler")), *common], logs)

    def _spawn(self, name: str, argv: list[str], logs: Path) -> None:
        process = ManagedProcess(name, argv, logs / f"{name}.log", cwd=self.workdir)
        self._processes.append(process)
        process.start()

    def _all_processes(self) -> list[ManagedProcess]:
        runtime = [self._containerd.process] if self._containerd else []
        return [*self._processes, *(p for p in runtime if p)]

    def _node_ready(self) -> bool:
        for process in self._all_processes():
            if not process.running:
                raise NodeError(f"{process.name} exited ({process.returncode})")
        done = self.control_plane.kubectl("get", "node", NODE_NAME, "-o", "json", check=False)
        if done.returncode != 0:
            return False
        node = json.loads(done.stdout)
        ready = any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in node.get("status", {}).get("conditions", [])
        )
        return ready and not node.get("spec", {}).get("taints")

    def _wait_ready(self) -> None:
        try:
            wait_for("node Ready", self._node_ready, self._timeout, 0.5, ignore=(ValueError,))
        except (WaitTimeoutError, NodeError) as e:
            raise NodeError(f"node not Ready: {e}\n{self.diagnostics(lines=60)}") from None

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the kubelet, every container, containerd, the controllers and the control
        plane; undo the host changes; remove the namespace and (unless kept) the folder."""
        with self._lock:
            try:
                for process in (p for p in self._processes if p.name == "kubelet"):
                    process.stop(timeout=timeout)
                if self._containerd is not None:
                    self._containerd.stop(timeout=timeout)
                if self._host is not None:
                    self._host.undo()
                for process in self._processes:
                    process.stop(timeout=timeout)
                if self._control_plane is not None:
                    self._control_plane.stop(timeout=timeout)
            finally:
                if self._network is not None:
                    self._network.destroy()
                if self._folder is not None and not self._keep:
                    shutil.rmtree(self._folder, ignore_errors=True)
                self._folder = self._network = self._control_plane = None
                self._containerd = self._host = None
                self._processes = []


def _require(value: _T | None) -> _T:
    if value is None:
        raise RuntimeError("the node is not started")
    return value
