"""Install the operator's CRD and RBAC from the chart, and run the operator as its pod would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from awsorg_devbase import ManagedProcess, free_ports, wait_for
from awsorg_localcluster import LocalControlPlane, tool_path

REPO = Path(__file__).resolve().parents[3]
CHART = REPO / "charts" / "awsorg-operator"
NAMESPACE = "awsorg-system"
RELEASE = "awsorg-operator"
RBAC_KINDS = {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}


def render_chart(*args: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        [str(tool_path("helm")), "template", RELEASE, str(CHART), "--namespace", NAMESPACE, *args],
        check=False,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"helm template {' '.join(args)} failed:\n{done.stderr}")
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def install_crd_and_rbac(cp: LocalControlPlane) -> Path:
    """Applies the CRD and the chart's RBAC; returns a kubeconfig of the chart's
    ServiceAccount, which can do what the chart grants and nothing else."""
    cp.kubectl("apply", "-f", str(REPO / "crds"))
    cp.kubectl(
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd/auditmanagerorgconfigs.awsorg.io",
    )
    rbac = [d for d in render_chart() if d["kind"] in RBAC_KINDS]
    (account,) = [d["metadata"]["name"] for d in rbac if d["kind"] == "ServiceAccount"]
    kubeconfig = cp.kubeconfig_for_service_account(NAMESPACE, account)
    cp.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(rbac))
    return kubeconfig


def install_peering(cp: LocalControlPlane) -> str:
    """Applies kopf's peering CRD (from the chart's crds/), the chart's RBAC with peering, and
    its ClusterKopfPeering object, as `helm install --set peering.enabled=true` would; returns
    the peering name."""
    cp.kubectl("apply", "-f", str(CHART / "crds" / "kopf.dev_clusterkopfpeerings.yaml"))
    cp.kubectl(
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd/clusterkopfpeerings.kopf.dev",
    )
    rendered = render_chart("--set", "peering.enabled=true")
    kinds = RBAC_KINDS | {"ClusterKopfPeering"}
    cp.kubectl(
        "apply", "-f", "-", input=yaml.safe_dump_all([d for d in rendered if d["kind"] in kinds])
    )
    (peering,) = [d["metadata"]["name"] for d in rendered if d["kind"] == "ClusterKopfPeering"]
    return str(peering)


def chart_pod_spec(values: Mapping[str, str]) -> dict[str, Any]:
    """The pod spec of the chart's Deployment, rendered with `values` (`--set` paths)."""
    sets = [arg for path, value in values.items() for arg in ("--set", f"{path}={value}")]
    (deployment,) = [d for d in render_chart(*sets) if d["kind"] == "Deployment"]
    return deployment["spec"]["template"]["spec"]  # type: ignore[no-any-return]


def container_env(container: Mapping[str, Any], pod_name: str) -> dict[str, str]:
    """A rendered container's environment, the downward API fields filled in as the kubelet
    would, each pod with its own name (kopf's peering tells replicas apart by it)."""
    downward = {"metadata.namespace": NAMESPACE, "metadata.name": pod_name}
    env = {}
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = str(var["value"])
        else:
            env[var["name"]] = downward[var["valueFrom"]["fieldRef"]["fieldPath"]]
    return env


def chart_env(values: Mapping[str, str], pod_name: str = f"{RELEASE}-local") -> dict[str, str]:
    """The operator container's environment in the chart's Deployment, rendered with `values`."""
    (container,) = chart_pod_spec(values)["containers"]
    return container_env(container, pod_name)


def operator_values(
    aws_endpoint_url: str, metrics_port: int, health_port: int, values: Mapping[str, str] | None
) -> dict[str, str]:
    """The Helm values of an operator on this machine: the emulator as AWS and ports of its
    own (operators share the host's network), then the caller's `values`."""
    return {
        "aws.endpointURL": aws_endpoint_url,
        "aws.region": "us-east-1",
        "operator.metricsPort": str(metrics_port),
        "operator.healthPort": str(health_port),
        **(values or {}),
    }


def aws_credentials(
    aws_account_id: str, aws_secret_access_key: str = "not-a-secret"
) -> dict[str, str]:
    """What IRSA or Pod Identity gives a pod. The emulator reads a 12-digit access key as the
    caller's account; an IAM user's access key (with its secret) as that user's account."""
    return {"AWS_ACCESS_KEY_ID": aws_account_id, "AWS_SECRET_ACCESS_KEY": aws_secret_access_key}


class OperatorEndpoints:
    """The operator's HTTP endpoints, on the host's loopback."""

    metrics_port: int
    health_port: int

    def healthz(self, timeout: float = 5.0) -> int | None:
        """The HTTP status /healthz answers, or None when it does not answer."""
        url = f"http://127.0.0.1:{self.health_port}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:
                return int(r.status)
        except urllib.error.HTTPError as e:
            return int(e.code)
        except OSError:
            return None

    def metrics(self, timeout: float = 5.0, names: tuple[str, ...] = ()) -> str:
        """The metrics, or only the families `names` (prometheus_client's `name[]` filter:
        the others are not even collected, which at a thousand resources saves most of
        the CPU of a full read)."""
        query = "&".join(f"name[]={n}" for n in names)
        url = f"http://127.0.0.1:{self.metrics_port}/metrics" + (f"?{query}" if query else "")
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return str(r.read().decode())


class Operator(OperatorEndpoints):
    """The operator process as the chart's pod runs it: the image's entry point, with the
    environment the chart's Deployment sets for the given values. Only what a pod gets from
    outside the chart is added: the API server connection (a pod's ServiceAccount token) and
    AWS credentials (IRSA or Pod Identity in a pod)."""

    def __init__(
        self,
        kubeconfig: Path,
        aws_endpoint_url: str,
        log_path: Path,
        values: Mapping[str, str] | None = None,
        aws_account_id: str = "123456789012",
        aws_secret_access_key: str = "not-a-secret",
    ) -> None:
        self.metrics_port, self.health_port = free_ports(2)
        chart_values = operator_values(
            aws_endpoint_url, self.metrics_port, self.health_port, values
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS", "KUBE", "POD_"))}
        env.update(chart_env(chart_values, pod_name=f"{RELEASE}-local-{self.health_port}"))
        credentials = aws_credentials(aws_account_id, aws_secret_access_key)
        env.update({"KUBECONFIG": str(kubeconfig), **credentials})
        entry_point = Path(sys.executable).parent / "awsorg-operator"
        self.process = ManagedProcess("operator", [str(entry_point)], log_path, env=env)

    @property
    def log_path(self) -> Path:
        return self.process.log_path

    def start(self, timeout: float = 60.0) -> None:
        self.process.start()
        wait_for("the operator's liveness endpoint", self._healthy, timeout=timeout)

    def _healthy(self) -> bool:
        if not self.process.running:
            raise RuntimeError(f"the operator exited:\n{self.process.log_tail()}")
        return self.healthz() == 200

    def kill(self) -> None:
        """SIGKILL: no clean-up, as when a node dies."""
        pid = self.process.pid
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
        wait_for("the operator to die", lambda: not self.process.running, timeout=10)

    def stop(self) -> None:
        self.process.stop()

    def log_tail(self, lines: int = 80) -> str:
        return self.process.log_tail(lines)
