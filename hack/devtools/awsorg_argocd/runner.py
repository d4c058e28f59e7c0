"""Argo CD's application-controller and repo-server, with redis and `git daemon`, on free
127.0.0.1 ports against a LocalControlPlane; what argocd-server would set up in the cluster
(CRDs, the `argocd` namespace, its ConfigMaps and Secret, the `default` AppProject) is
applied here. argocd-server, dex, ApplicationSet and notifications are not run: kubectl on
Application objects is how the tests drive it.

Pitfalls this handles (Argo CD's own guide to running it outside a cluster:
https://argo-cd.readthedocs.io/en/stable/developer-guide/running-locally/): the repo-server runs
git-verify-wrapper.sh on every manifest generation, so it must be on its PATH;
ARGOCD_FAKE_IN_CLUSTER makes the in-cluster destination use the kubeconfig; the multi-call
binary picks its role from its name, so each role gets a link of its own.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from awsorg_devbase import ManagedProcess, WaitTimeoutError, free_ports, wait_for
from awsorg_localcluster import LocalControlPlane, argocd_files_dir, tool_path

from .gitrepo import GitServer

NAMESPACE = "argocd"
_PART_OF = {"app.kubernetes.io/part-of": "argocd"}
_CRDS = ("application-crd.yaml", "appproject-crd.yaml", "applicationset-crd.yaml")


class ArgoCDError(RuntimeError):
    pass


def _wait(what: str, check: Callable[[], object], timeout: float) -> None:
    """The common wait, failing as Argo CD's own error: the message says which part did not
    come up."""
    try:
        wait_for(what, check, timeout, every=0.2)
    except WaitTimeoutError as e:
        raise ArgoCDError(str(e)) from None


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return int(r.status) == 200
    except (urllib.error.URLError, OSError):
        return False


def _config_map(name: str, data: Mapping[str, str] | None = None) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": name} | _PART_OF
    meta = {"name": name, "namespace": NAMESPACE, "labels": labels}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": dict(data or {})}


def _cluster_objects() -> list[dict[str, Any]]:
    """What an Argo CD install puts in its namespace before the controllers start."""
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "argocd-secret", "namespace": NAMESPACE, "labels": _PART_OF},
        "stringData": {"server.secretkey": secrets.token_hex(16)},
    }
    # argocd-server creates the default project when it starts; we do not run it.
    project = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": "default", "namespace": NAMESPACE},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": "*", "namespace": "*"}],
            "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
        },
    }
    return [
        _config_map("argocd-cm"),
        _config_map("argocd-rbac-cm"),
        _config_map("argocd-cmd-params-cm"),
        secret,
        project,
    ]


class ArgoCD:
    """Start with `with ArgoCD(cluster, workdir) as argocd:`; everything it started is
    stopped on exit, also when start-up fails half-way."""

    def __init__(
        self,
        cluster: LocalControlPlane,
        workdir: Path,
        *,
        argocd_cm_patches: Iterable[Path] = (),
        start_timeout: float = 120.0,
    ) -> None:
        self.cluster = cluster
        self.workdir = workdir
        self.cm_patches = list(argocd_cm_patches)
        self.start_timeout = start_timeout
        ports = free_ports(5)
        self.redis_port, self.repo_port, self.repo_metrics_port = ports[:3]
        self.controller_metrics_port = ports[3]
        self._extra_port = ports[4]
        self.git = GitServer(workdir / "git", workdir / "logs" / "git-daemon.log")
        self._processes: list[ManagedProcess] = []

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- life cycle ---------------------------------------------------------

    def start(self) -> None:
        self.install_in_cluster()
        self._start(self._redis(), lambda: _listening(self.redis_port))
        self.git.start()
        self._processes.append(self.git.process)
        _wait("git daemon", lambda: self._alive(self.git.process) and _listening(self.git.port), 30)
        repo_server = self._role("argocd-repo-server", self._repo_server_args())
        self._start(repo_server, lambda: _listening(self.repo_port))
        controller = self._role("argocd-application-controller", self._controller_args())
        metrics = f"http://127.0.0.1:{self.controller_metrics_port}/metrics"
        self._start(controller, lambda: _http_ok(metrics))

    def stop(self) -> None:
        for process in reversed(self._processes):
            process.stop()
        self._processes.clear()

    def install_in_cluster(self) -> None:
        crds = argocd_files_dir() / "crds"
        for name in _CRDS:
            self.cluster.kubectl("apply", "--server-side", "-f", str(crds / name))
        for name in ("applications.argoproj.io", "appprojects.argoproj.io"):
            self.cluster.kubectl(
                "wait", "--for=condition=Established", "--timeout=60s", f"crd/{name}"
            )
        self.cluster.kubectl("create", "namespace", NAMESPACE)
        manifest = {"apiVersion": "v1", "kind": "List", "items": _cluster_objects()}
        self.cluster.kubectl("apply", "-f", "-", input=json.dumps(manifest))
        for patch in self.cm_patches:
            self.patch_argocd_cm(patch)

    def remove_from_cluster(self) -> None:
        """Undoes install_in_cluster, for a cluster that outlives this Argo CD (the one node
        every tests/node module shares); call it once the controllers are stopped."""
        crds = [f"crd/{name.removesuffix('-crd.yaml')}s.argoproj.io" for name in _CRDS]
        self.cluster.kubectl("delete", *crds, "--ignore-not-found", "--timeout=120s",
                             timeout=180)  # fmt: skip
        self.cluster.kubectl("delete", "namespace", NAMESPACE, "--ignore-not-found",
                             "--timeout=180s", timeout=240)  # fmt: skip

    def patch_argocd_cm(self, patch: Path) -> None:
        """As docs/argocd.md tells users: `kubectl patch --type merge --patch-file`."""
        self.cluster.kubectl(
            "-n",
            NAMESPACE,
            "patch",
            "configmap",
            "argocd-cm",
            "--type",
            "merge",
            "--patch-file",
            str(patch),
        )

    # --- the processes ------------------------------------------------------

    def _start(self, process: ManagedProcess, ready: Callable[[], bool]) -> None:
        self._processes.append(process)
        process.start()
        _wait(process.name, lambda: self._alive(process) and ready(), self.start_timeout)

    @staticmethod
    def _alive(process: ManagedProcess) -> bool:
        if not process.running:
            raise ArgoCDError(f"{process.name} exited:\n{process.log_tail(40)}")
        return True

    def _log(self, name: str) -> Path:
        return self.workdir / "logs" / f"{name}.log"

    def _redis(self) -> ManagedProcess:
        redis = shutil.which("redis-server")
        if redis is None:
            raise ArgoCDError("redis-server is not installed (hack/system-packages.sh)")
        argv = [redis, "--port", str(self.redis_port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
        return ManagedProcess("redis", argv, self._log("redis"))

    def _role(self, role: str, args: list[str]) -> ManagedProcess:
        """The multi-call binary under the name of `role`, with git, helm and Argo CD's
        wrapper scripts on PATH and HOME, TMPDIR in the work folder."""
        bin_dir = self.workdir / "bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        link = bin_dir / role
        if not link.exists():
            link.symlink_to(tool_path("argocd"))
        home = self.workdir / "home" / role
        (home / "tmp").mkdir(parents=True, exist_ok=True)
        path = [
            str(bin_dir),
            str(argocd_files_dir() / "bin"),
            str(tool_path("helm").parent),
            os.environ.get("PATH", "/usr/bin:/bin"),
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBE", "ARGOCD_"))}
        env |= {
            "PATH": os.pathsep.join(path),
            "HOME": str(home),
            "TMPDIR": str(home / "tmp"),
            "KUBECONFIG": str(self.cluster.kubeconfig),
            # Without it the in-cluster destination ignores KUBECONFIG.
            "ARGOCD_FAKE_IN_CLUSTER": "true",
            # The repo-server exits at start-up with GPG on and no keyring.
            "ARGOCD_GPG_ENABLED": "false",
            "ARGOCD_ASK_PASS_SOCK": str(home / "askpass.sock"),
            "ARGOCD_APP_CONF_PATH": str(home / "app-conf"),
            "ARGOCD_GNUPGHOME": str(home / "gnupg"),
        }
        return ManagedProcess(role, [str(link), *args], self._log(role), env=env, cwd=home)

    def _repo_server_args(self) -> list[str]:
        return [
            "--address=127.0.0.1",
            f"--port={self.repo_port}",
            "--metrics-address=127.0.0.1",
            f"--metrics-port={self.repo_metrics_port}",
            f"--redis=127.0.0.1:{self.redis_port}",
            "--logformat=text",
        ]

    def _controller_args(self) -> list[str]:
        return [
            f"--namespace={NAMESPACE}",
            f"--repo-server=127.0.0.1:{self.repo_port}",
            f"--redis=127.0.0.1:{self.redis_port}",
            f"--metrics-port={self.controller_metrics_port}",
            # Each resource's health and Lua message in the Application's status.
            "--persist-resource-health",
            "--status-processors=4",
            "--operation-processors=2",
            "--logformat=text",
        ]

    # --- Applications -------------------------------------------------------

    def application(self, name: str) -> dict[str, Any]:
        out = self.cluster.kubectl("-n", NAMESPACE, "get", "application", name, "-o", "json")
        loaded: dict[str, Any] = json.loads(out.stdout)
        return loaded

    def exists(self, name: str) -> bool:
        done = self.cluster.kubectl("-n", NAMESPACE, "get", "application", name, check=False)
        return done.returncode == 0

    def refresh(self, name: str, *, hard: bool = False) -> None:
        """Asks the controller to compare again now (what the UI's Refresh button does),
        instead of waiting for its 120 s resync; `hard` also drops the repo-server's cache."""
        value = "hard" if hard else "normal"
        self.cluster.kubectl(
            "-n",
            NAMESPACE,
            "annotate",
            "--overwrite",
            "application",
            name,
            f"argocd.argoproj.io/refresh={value}",
        )

    def refreshed(self, name: str) -> bool:
        """The controller has taken the last refresh request (it removes the annotation)."""
        annotations = self.application(name)["metadata"].get("annotations", {})
        return "argocd.argoproj.io/refresh" not in annotations

    def log_tails(self, lines: int = 30) -> str:
        return "\n".join(
            f"--- {p.name} ---\n{p.log_tail(lines)}" for p in self._processes if p.name != "redis"
        )
