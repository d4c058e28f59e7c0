"""The operator from its image, run by podman as the chart's pod runs it.

The container gets what the chart's pod spec says (user, groups, read-only root, capabilities,
no privilege escalation, the /tmp emptyDir, the environment, the grace period) and what a pod
gets from outside the chart: the ServiceAccount token, mounted where the kubelet mounts it with
the `KUBERNETES_SERVICE_*` variables beside it, and AWS credentials. With `--network host` it
reaches the local control plane and the emulators on loopback.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import os
import subprocess
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from awsorg_devbase import ManagedProcess, free_ports, wait_for

from .stack import (
    OperatorEndpoints,
    aws_credentials,
    chart_pod_spec,
    container_env,
    operator_values,
)

__all__ = ["ContainerOperator", "security_flags"]

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
# The test machines' container runtime needs these: crun refuses hybrid cgroups,
# and the default rlimits cannot be set here.
RUNTIME_FLAGS = (
    "--runtime",
    "runc",
    "--ulimit",
    "nofile=20000:20000",
    "--ulimit",
    "nproc=32768:32768",
)
_live: set[str] = set()


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], check=check, capture_output=True, text=True)


def _tmpfs_size(size_limit: str) -> str:
    """A Kubernetes quantity in Mi or Gi as a tmpfs size."""
    for suffix, unit in (("Mi", "m"), ("Gi", "g")):
        if size_limit.endswith(suffix):
            return size_limit.removesuffix(suffix) + unit
    raise ValueError(f"emptyDir sizeLimit {size_limit!r}: only Mi and Gi are translated")


def _volume_flags(pod: Mapping[str, Any], container: Mapping[str, Any]) -> list[str]:
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    flags = []
    for mount in container.get("volumeMounts", []):
        volume = volumes[mount["name"]]
        if "emptyDir" not in volume:
            # A new kind of volume in the chart must be translated here, not left out.
            raise ValueError(f"volume {volume} of the chart has no podman translation")
        options = "rw,mode=1777"
        if "sizeLimit" in volume["emptyDir"]:
            options += f",size={_tmpfs_size(volume['emptyDir']['sizeLimit'])}"
        flags += ["--tmpfs", f"{mount['mountPath']}:{options}"]
    return flags


def security_flags(pod: Mapping[str, Any], container: Mapping[str, Any]) -> list[str]:
    """podman flags for the pod's and the container's securityContext and volumes."""
    pod_sc, sc = pod.get("securityContext", {}), container.get("securityContext", {})
    if sc.get("privileged") or sc.get("capabilities", {}).get("add"):
        raise ValueError("the chart asks for privileges these flags do not translate")
    user = sc.get("runAsUser", pod_sc.get("runAsUser"))
    group = sc.get("runAsGroup", pod_sc.get("runAsGroup"))
    flags = ["--user", f"{user}:{group}"] if user is not None else []
    if "fsGroup" in pod_sc:  # the kubelet adds fsGroup to the container's groups
        flags += ["--group-add", str(pod_sc["fsGroup"])]
    if sc.get("readOnlyRootFilesystem"):
        # Only the chart's own volumes are writable: no tmpfs of podman's on /tmp, /run.
        flags += ["--read-only", "--read-only-tmpfs=false"]
    for capability in sc.get("capabilities", {}).get("drop", []):
        flags += ["--cap-drop", capability]
    if sc.get("allowPrivilegeEscalation") is False:
        flags += ["--security-opt", "no-new-privileges"]
    return flags + _volume_flags(pod, container)


def _write_service_account(kubeconfig: Path, folder: Path, group: int) -> dict[str, str]:
    """The files the kubelet mounts for a pod's ServiceAccount, from a kubeconfig with a token,
    readable by the pod's fsGroup; returns the variables that point the client at the server."""
    config = yaml.safe_load(kubeconfig.read_text())
    (cluster,) = config["clusters"]
    (user,) = config["users"]
    files = {
        "token": user["user"]["token"],
        "ca.crt": base64.b64decode(cluster["cluster"]["certificate-authority-data"]).decode(),
        "namespace": config["contexts"][0]["context"].get("namespace", "default"),
    }
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o755)
    for name, text in files.items():
        path = folder / name
        path.write_text(text)
        os.chown(path, -1, group)
        os.chmod(path, 0o440)
    server = urlsplit(cluster["cluster"]["server"])
    return {
        "KUBERNETES_SERVICE_HOST": str(server.hostname),
        "KUBERNETES_SERVICE_PORT": str(server.port),
    }


class ContainerOperator(OperatorEndpoints):
    """The operator's image run by podman with the chart's pod settings for the given values;
    the same face as the process `Operator`. `kubeconfig` holds the ServiceAccount's token
    (`LocalControlPlane.kubeconfig_for_service_account`); the container gets it as a pod does."""

    def __init__(
        self,
        image: str,
        kubeconfig: Path,
        aws_endpoint_url: str,
        log_path: Path,
        values: Mapping[str, str] | None = None,
        aws_account_id: str = "123456789012",
    ) -> None:
        self.metrics_port, self.health_port = free_ports(2)
        self.name = f"awsorg-operator-{uuid.uuid4().hex[:12]}"
        pod = chart_pod_spec(
            operator_values(aws_endpoint_url, self.metrics_port, self.health_port, values)
        )
        (container,) = pod["containers"]
        self.grace_seconds = int(pod.get("terminationGracePeriodSeconds", 30))
        group = int(pod.get("securityContext", {}).get("fsGroup", 0))
        secrets = log_path.parent / f"{self.name}-serviceaccount"
        env = container_env(container, pod_name=self.name)
        env |= _write_service_account(kubeconfig, secrets, group)
        env |= aws_credentials(aws_account_id)
        argv = [
            "podman",
            "run",
            "--name",
            self.name,
            "--pull=never",
            *RUNTIME_FLAGS,
            "--network",
            "host",
            "--stop-timeout",
            str(self.grace_seconds),
            *security_flags(pod, container),
            "--volume",
            f"{secrets}:{SERVICE_ACCOUNT_DIR}:ro",
            *(arg for key, value in env.items() for arg in ("--env", f"{key}={value}")),
            *(["--entrypoint", *container["command"]] if "command" in container else []),
            image,
            *container.get("args", []),
        ]
        self.process = ManagedProcess("operator-container", argv, log_path)
        self.exit_code: int | None = None

    @property
    def log_path(self) -> Path:
        return self.process.log_path

    def start(self, timeout: float = 60.0) -> None:
        _live.add(self.name)
        self.process.start()
        wait_for("the operator's liveness endpoint", self._healthy, timeout=timeout)

    def _healthy(self) -> bool:
        if not self.process.running:
            raise RuntimeError(f"the operator's container exited:\n{self.process.log_tail()}")
        return self.healthz() == 200

    def exec(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """Runs a command inside the running container, as its user."""
        return podman("exec", self.name, *argv, check=False)

    def kill(self) -> None:
        """SIGKILL: no clean-up, as when a node dies."""
        podman("kill", "--signal", "KILL", self.name, check=False)
        wait_for("the operator to die", lambda: not self.process.running, timeout=30)

    def stop(self) -> int | None:
        """`podman stop`: SIGTERM to the entry point (PID 1), SIGKILL after the chart's grace
        period, as the kubelet does; then the container is removed. Returns its exit code
        (137 means it had to be killed), or None if it never ran."""
        try:
            podman("stop", "--time", str(self.grace_seconds), self.name, check=False)
            self.process.stop(timeout=30)
            state = podman("inspect", "--format", "{{.State.ExitCode}}", self.name, check=False)
            if state.returncode == 0 and self.exit_code is None:
                self.exit_code = int(state.stdout.strip())
        finally:
            _remove(self.name)
        return self.exit_code

    def log_tail(self, lines: int = 80) -> str:
        return self.process.log_tail(lines)


def _remove(name: str) -> None:
    podman("rm", "--force", "--time", "0", name, check=False)
    _live.discard(name)


@atexit.register
def _remove_leftovers() -> None:
    for name in list(_live):
        with contextlib.suppress(Exception):
            _remove(name)
