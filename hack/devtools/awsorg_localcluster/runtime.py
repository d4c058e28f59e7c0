"""containerd 2.4 for the node: every path under the node's folder, images loaded, none pulled.

The settings that matter on these machines (cgroup v1, root without CAP_SYS_RESOURCE):
``restrict_oom_score_adj = true`` (else every sandbox fails with ``runc create failed: ...
can't get final child's PID from pipe: EOF``), runc with ``SystemdCgroup = false``, network
namespaces under the state folder, the locally built pause image pinned as the sandbox
image, and the streaming server on 127.0.0.1 of the node's namespace.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from awsorg_devbase import ManagedProcess, WaitTimeoutError, wait_for

from .netns import POD_SUBNET, NodeNetwork
from .tools import tool_path

__all__ = ["ContainerRuntimeError", "Containerd", "build_pause_image"]

_NAMESPACE = "k8s.io"  # the containerd namespace the CRI plugin uses
_CNI_BIN = "/usr/lib/cni"  # Debian's containernetworking-plugins
_CNI_RESULTS = "/var/lib/cni/results"


class ContainerRuntimeError(RuntimeError):
    """containerd did not start, or an image did not load; the message says why."""


def _run(*argv: str, timeout: float = 300) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=timeout)
    if done.returncode != 0:
        raise ContainerRuntimeError(
            f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}"
        )
    return done.stdout


def build_pause_image() -> str:
    """Build the pause image (FROM scratch, our static binary) with podman unless it is
    already in podman's storage; its tag is the binary's hash. Returns the reference."""
    binary = tool_path("pause")
    digest = hashlib.sha256(binary.read_bytes()).hexdigest()[:12]
    ref = f"localhost/awsorg-pause:{digest}"
    exists = subprocess.run(["podman", "image", "exists", ref], check=False)
    if exists.returncode == 0:
        return ref
    with tempfile.TemporaryDirectory(prefix="awsorg-pause-") as context:
        shutil.copy2(binary, Path(context) / "pause")
        (Path(context) / "Containerfile").write_text(
            'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n'
        )
        _run("podman", "build", "--quiet", "--tag", ref, context)
    return ref


class Containerd:
    """containerd (with its runc shim and ctr) inside the node's network namespace."""

    def __init__(self, folder: Path, network: NodeNetwork, sandbox_image: str) -> None:
        self.folder = folder
        self.socket = folder / "containerd.sock"
        self._network = network
        self.sandbox_image = sandbox_image
        self.cni_conf_dir = folder / "cni" / "net.d"
        self.cni_network = f"awsorg-node-{network.suffix}"
        self._process: ManagedProcess | None = None

    @property
    def process(self) -> ManagedProcess | None:
        return self._process

    def start(self, log: Path, timeout: float) -> None:
        binary = tool_path("containerd")
        config = self._write_config()
        self._write_cni_config()
        # The shim and runc are found on PATH: our build first, then Debian's runc.
        path = f"{tool_path('containerd-shim-runc-v2').parent}:/usr/sbin:/usr/bin:/sbin:/bin"
        self._process = ManagedProcess(
            "containerd",
            [*self._network.nsenter(), str(binary), f"--config={config}"],
            log,
            env={**os.environ, "PATH": path},
            cwd=self.folder,
        )
        self._process.start()
        process = self._process

        def up() -> bool:
            if not process.running:
                raise ContainerRuntimeError(
                    f"containerd exited ({process.returncode}):\n{process.log_tail()}"
                )
            return self.socket.exists() and bool(self.ctr("version"))

        try:
            wait_for("containerd", up, timeout, 0.2, ignore=(ContainerRuntimeError,))
        except WaitTimeoutError:
            raise ContainerRuntimeError(
                f"containerd not up in {timeout}s:\n{process.log_tail()}"
            ) from None

    def ctr(self, *args: str, timeout: float = 300) -> str:
        return _run(
            str(tool_path("ctr")), f"--address={self.socket}", f"--namespace={_NAMESPACE}", *args,
            timeout=timeout,
        )  # fmt: skip

    def load_image(self, ref: str) -> None:
        """Copy an image from podman's storage into the node (podman save, ctr import)."""
        with tempfile.TemporaryDirectory(prefix="awsorg-image-", dir=self.folder) as tmp:
            archive = Path(tmp) / "image.tar"
            _run("podman", "save", "--quiet", "--format", "oci-archive", "-o", str(archive), ref)
            self.ctr("images", "import", str(archive))

    def stop(self, timeout: float = 15.0) -> None:
        """Kill every container (tasks, then shims that outlived containerd), then containerd."""
        if self._process is None:
            return
        if self._process.running:
            with contextlib.suppress(ContainerRuntimeError, subprocess.TimeoutExpired):
                for task in self.ctr("tasks", "list", "--quiet", timeout=30).split():
                    with contextlib.suppress(ContainerRuntimeError):
                        self.ctr("tasks", "kill", "--all", "--signal", "SIGKILL", task, timeout=30)
        self._process.stop(timeout=timeout)
        for pid, shim_id in self._shims():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            # The shim's socket is the one path containerd does not take from its config:
            # /run/containerd/s/<sha256 of address/namespace/id> (pkg/shim SocketAddress).
            name = hashlib.sha256(f"{self.socket}/{_NAMESPACE}/{shim_id}".encode()).hexdigest()
            Path("/run/containerd/s", name).unlink(missing_ok=True)
        # libcni caches each attachment under /var/lib/cni/results, named after the network.
        for cached in Path(_CNI_RESULTS).glob(f"{self.cni_network}-*"):
            cached.unlink(missing_ok=True)

    def _shims(self) -> list[tuple[int, str]]:
        """The shims this containerd started (they name its socket on their command line),
        with their ids."""
        shims = []
        needle = str(self.socket)
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    argv = (entry / "cmdline").read_bytes().decode().split("\0")
                    if "containerd-shim" in argv[0] and needle in argv and "-id" in argv:
                        shims.append((int(entry.name), argv[argv.index("-id") + 1]))
        return shims

    def _write_config(self) -> Path:
        f = self.folder
        config = f"""version = 3
root = "{f / "root"}"
state = "{f / "state"}"
temp = "{f / "tmp"}"
[grpc]
  address = "{self.socket}"
[ttrpc]
  address = "{self.socket}.ttrpc"
[debug]
  address = "{f / "debug.sock"}"
[plugins.'io.containerd.internal.v1.opt']
  path = "{f / "opt"}"
[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "{self.sandbox_image}"
[plugins.'io.containerd.cri.v1.runtime']
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
    SystemdCgroup = false
    Root = "{f / "runc"}"
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["{_CNI_BIN}"]
    conf_dir = "{self.cni_conf_dir}"
[plugins.'io.containerd.grpc.v1.cri']
  stream_server_address = "127.0.0.1"
"""
        (f / "tmp").mkdir(parents=True, exist_ok=True)
        path = f / "config.toml"
        path.write_text(config)
        return path

    def _write_cni_config(self) -> None:
        bridge = {
            "type": "bridge",
            "bridge": "cni0",
            "isGateway": True,
            "ipMasq": True,
            "hairpinMode": True,
            "ipam": {
                "type": "host-local",
                "ranges": [[{"subnet": POD_SUBNET}]],
                "routes": [{"dst": "0.0.0.0/0"}],
                "dataDir": str(self.folder / "cni" / "ipam"),
            },
        }
        conflist = {
            "cniVersion": "1.0.0",
            "name": self.cni_network,
            "plugins": [bridge, {"type": "portmap", "capabilities": {"portMappings": True}}],
        }
        self.cni_conf_dir.mkdir(parents=True, exist_ok=True)
        (self.cni_conf_dir / "10-awsorg-node.conflist").write_text(json.dumps(conflist, indent=2))
