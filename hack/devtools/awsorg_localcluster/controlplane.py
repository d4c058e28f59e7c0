"""A real etcd + kube-apiserver on loopback ports, the pair envtest runs.

No controller-manager, scheduler or kubelet: CRDs, validation, finalizers,
the status subresource, RBAC, ServiceAccounts and TokenRequest work as in a
real cluster; garbage collection of ownerReferences, namespace deletion
(namespaces stay Terminating) and Pods do not.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import datetime
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import threading
import urllib.error
import urllib.request
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from awsorg_devbase import ManagedProcess, WaitTimeoutError, free_ports, tail, wait_for

from .pki import PKI, write_pki
from .tools import tool_path

__all__ = ["ControlPlaneError", "KubectlError", "LocalControlPlane"]

_SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
_CONTEXT = "awsorg-localcluster"
_POLL_SECONDS = 0.1

_T = TypeVar("_T")
_instances: weakref.WeakSet[LocalControlPlane] = weakref.WeakSet()


class ControlPlaneError(RuntimeError):
    """etcd or kube-apiserver did not start, or died; the message has their logs."""


class KubectlError(subprocess.CalledProcessError):
    """A kubectl command failed; ``str()`` includes its stdout and stderr."""

    def __str__(self) -> str:
        return (
            f"{super().__str__()}\n--- stdout ---\n{self.stdout or ''}"
            f"\n--- stderr ---\n{self.stderr or ''}"
        )


class ApiError(RuntimeError):
    """The API server answered a read with an error (the message holds its Status)."""


class LocalControlPlane:
    """etcd + kube-apiserver with TLS, RBAC and ServiceAccount tokens, on 127.0.0.1.

    Use as a context manager (or call :meth:`start` / :meth:`stop`)::

        with LocalControlPlane() as cp:
            cp.kubectl("apply", "-f", "crds/")
            sa_config = cp.kubeconfig_for_service_account("awsorg-system", "operator")

    Everything lives in a fresh temporary folder (:attr:`workdir`), removed by
    :meth:`stop` unless ``keep_workdir`` (or ``AWSORG_LOCALCLUSTER_KEEP=1``).
    """

    def __init__(
        self,
        *,
        workdir: Path | None = None,
        keep_workdir: bool | None = None,
        start_timeout: float = 90.0,
        extra_apiserver_args: Sequence[str] = (),
        extra_etcd_args: Sequence[str] = (),
        address: str = "127.0.0.1",
        server_ips: Sequence[str] = (),
    ) -> None:
        """
        Args:
            workdir: folder for certificates, etcd data, logs and kubeconfigs;
                a new temporary one by default (then removed by :meth:`stop`).
            keep_workdir: keep the folder after :meth:`stop` (for a post
                mortem); defaults to ``AWSORG_LOCALCLUSTER_KEEP=1`` in the
                environment, and is always true for a ``workdir`` you pass.
            start_timeout: seconds each of etcd and kube-apiserver may take to
                become ready.
            extra_apiserver_args, extra_etcd_args: more ``--flag=value``
                arguments; later ones win over the defaults.
            address: where kube-apiserver listens and what it advertises (a node
                cluster's host address; loopback otherwise).
            server_ips: more addresses for the serving certificate.
        """
        if keep_workdir is None:
            keep_workdir = workdir is not None or os.environ.get("AWSORG_LOCALCLUSTER_KEEP") == "1"
        # Absolute: etcd and kube-apiserver run in it, so a relative path in their flags
        # would point inside it (`hack/soak.sh`'s default `.work/soak` did).
        self._requested_workdir = workdir.resolve() if workdir is not None else None
        self._keep_workdir = keep_workdir
        self._start_timeout = start_timeout
        self._extra_apiserver_args = list(extra_apiserver_args)
        self._extra_etcd_args = list(extra_etcd_args)
        self._address = address
        self._server_ips = (address, *server_ips)
        self._lock = threading.RLock()
        self._workdir: Path | None = None
        self._pki: PKI | None = None
        self._etcd: ManagedProcess | None = None
        self._apiserver: ManagedProcess | None = None
        self._apiserver_port = 0
        self._etcd_client_port = 0
        self._kubectl: Path | None = None
        self._kubeconfig: Path | None = None

    # --- life cycle -------------------------------------------------------

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

    def start(self) -> None:
        """Start etcd and kube-apiserver and wait until /readyz says ok.

        On any failure (also KeyboardInterrupt) whatever was started is
        stopped again before the exception propagates.
        """
        with self._lock:
            if self._apiserver is not None:
                raise RuntimeError("this LocalControlPlane is already started")
            _instances.add(self)
            try:
                self._start()
            except BaseException:
                self.stop()
                raise

    def _start(self) -> None:
        apiserver_bin = tool_path("kube-apiserver")
        etcd_bin = tool_path("etcd")
        self._kubectl = tool_path("kubectl")

        if self._requested_workdir is not None:
            self._requested_workdir.mkdir(parents=True, exist_ok=True)
            self._workdir = self._requested_workdir
        else:
            self._workdir = Path(tempfile.mkdtemp(prefix="awsorg-localcluster-"))
        workdir = self._workdir
        self._pki = write_pki(workdir / "pki", server_ips=self._server_ips)
        (workdir / "logs").mkdir(exist_ok=True)

        etcd_client, etcd_peer, self._apiserver_port = free_ports(3)
        self._etcd_client_port = etcd_client
        self._etcd = ManagedProcess(
            "etcd",
            [str(etcd_bin), *self._etcd_args(etcd_client, etcd_peer)],
            workdir / "logs" / "etcd.log",
            # ETCD_* variables would silently change etcd's configuration.
            env={k: v for k, v in os.environ.items() if not k.startswith("ETCD_")},
            cwd=workdir,
        )
        self._etcd.start()
        self._wait_for(self._etcd, self._etcd_healthy, "etcd /health")

        self._apiserver = ManagedProcess(
            "kube-apiserver",
            [str(apiserver_bin), *self._apiserver_args()],
            workdir / "logs" / "kube-apiserver.log",
            cwd=workdir,
        )
        self._apiserver.start()
        self._wait_for(self._apiserver, self._apiserver_ready, "kube-apiserver /readyz")
        self._kubeconfig = self._write_admin_kubeconfig()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop kube-apiserver, then etcd (SIGTERM, SIGKILL after ``timeout``).

        Idempotent; removes the work folder unless it is to be kept.
        """
        with self._lock:
            try:
                for process in (self._apiserver, self._etcd):
                    if process is not None:
                        process.stop(timeout=timeout)
            finally:
                _instances.discard(self)
                if self._workdir is not None and not self._keep_workdir:
                    shutil.rmtree(self._workdir, ignore_errors=True)

    def restart_apiserver(self, timeout: float | None = None) -> None:
        """Stop kube-apiserver and start it again on the same port and certificates.

        etcd keeps running, so all objects survive; returns once /readyz is ok.
        Clients see connection errors meanwhile, as with a real API server restart.
        """
        with self._lock:
            self.stop_apiserver()
            self.start_apiserver(timeout)

    def stop_apiserver(self) -> None:
        """Stop kube-apiserver only (etcd keeps the data): the API server is gone for
        clients until `start_apiserver`."""
        with self._lock:
            self._require(self._apiserver).stop(timeout=15.0)

    def start_apiserver(self, timeout: float | None = None) -> None:
        """Start kube-apiserver again on the same port and certificates; returns once
        /readyz is ok."""
        with self._lock:
            apiserver = self._require(self._apiserver)
            apiserver.start()
            self._wait_for(
                apiserver,
                self._apiserver_ready,
                "kube-apiserver /readyz after restart",
                timeout=timeout,
            )

    # --- facts for tests --------------------------------------------------

    @property
    def workdir(self) -> Path:
        return self._require(self._workdir)

    @property
    def kubeconfig(self) -> Path:
        """Admin kubeconfig (client certificate in group system:masters)."""
        return self._require(self._kubeconfig)

    @property
    def server(self) -> str:
        """The API server's URL, ``https://ADDRESS:PORT`` (127.0.0.1 unless ``address``)."""
        self._require(self._apiserver)
        return f"https://{self._address}:{self._apiserver_port}"

    @property
    def etcd_url(self) -> str:
        self._require(self._etcd)
        return f"http://127.0.0.1:{self._etcd_client_port}"

    @property
    def ca_cert(self) -> Path:
        """The CA that signed the serving certificate (PEM)."""
        return self._require(self._pki).ca_cert

    @property
    def pki(self) -> PKI:
        return self._require(self._pki)

    @property
    def log_paths(self) -> Mapping[str, Path]:
        """``{"etcd": ..., "kube-apiserver": ...}`` (appended to across restarts)."""
        return {p.name: p.log_path for p in (self._etcd, self._apiserver) if p is not None}

    @property
    def pids(self) -> Mapping[str, int]:
        """Process ids of the components that are running now."""
        return {
            p.name: p.pid
            for p in (self._etcd, self._apiserver)
            if p is not None and p.running and p.pid is not None
        }

    @property
    def running(self) -> bool:
        return all(p is not None and p.running for p in (self._etcd, self._apiserver))

    def log_tail(self, component: str, lines: int = 50) -> str:
        """Last lines of ``"etcd"`` or ``"kube-apiserver"``'s log."""
        return tail(self.log_paths[component], lines)

    def diagnostics(self, lines: int = 40) -> str:
        """Both logs' tails, for a failing test to print."""
        parts = [
            f"--- {name} ({path}) ---\n{tail(path, lines)}" for name, path in self.log_paths.items()
        ]
        return "\n".join(parts)

    # --- clients ----------------------------------------------------------

    def kubectl(
        self,
        *args: str,
        kubeconfig: Path | None = None,
        check: bool = True,
        input: str | None = None,
        timeout: float = 120.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``kubectl --kubeconfig=... ARGS`` (admin unless ``kubeconfig``).

        Output is captured as text; with ``check`` a non-zero exit raises
        :class:`KubectlError` whose message includes stdout and stderr.
        """
        kubectl = self._require(self._kubectl)
        config = kubeconfig if kubeconfig is not None else self.kubeconfig
        env = dict(os.environ)
        env.pop("KUBECONFIG", None)
        # kubectl caches discovery per host:port; a port reused by another
        # control plane must not see this one's (or an old) cache.
        env["KUBECACHEDIR"] = str(self.workdir / "kube-cache")
        argv = [str(kubectl), f"--kubeconfig={config}", *args]
        done = subprocess.run(
            argv,
            input=input,
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise KubectlError(done.returncode, argv, done.stdout, done.stderr)
        return done

    def get_json(self, path: str, *, timeout: float = 30.0) -> Any:
        """GET ``path`` (e.g. ``/api/v1/events``) as the admin, parsed: what ``kubectl get -o
        json`` prints for one object. For the reads a test polls: a kubectl process costs
        about 0.1 s of CPU, this a few milliseconds. An answer other than 2xx raises
        :class:`ApiError` with the API server's message."""
        request = urllib.request.Request(self.server + path, headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=self._ssl_context()) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            raise ApiError(f"GET {path}: HTTP {e.code}: {e.read().decode(errors='replace')}") from e

    def kubeconfig_for_service_account(
        self,
        namespace: str,
        name: str,
        *,
        expiration: datetime.timedelta = datetime.timedelta(hours=24),
    ) -> Path:
        """A kubeconfig that authenticates as ServiceAccount ``namespace/name``.

        Creates the namespace and the ServiceAccount if needed, asks the
        TokenRequest API (``kubectl create token``) for a token valid for
        ``expiration`` and writes ``<workdir>/kubeconfigs/sa-<ns>-<name>.kubeconfig``.
        The account can do only what RBAC grants it
        (``system:serviceaccount:<ns>:<name>``).
        """
        manifest = {
            "apiVersion": "v1",
            "kind": "List",
            "items": [
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
                {
                    "apiVersion": "v1",
                    "kind": "ServiceAccount",
                    "metadata": {"name": name, "namespace": namespace},
                },
            ],
        }
        self.kubectl(
            "apply",
            "--server-side",
            "--field-manager=awsorg-localcluster",
            "-f",
            "-",
            input=json.dumps(manifest),
        )
        seconds = int(expiration.total_seconds())
        token = self.kubectl(
            "create", "token", name, f"--namespace={namespace}", f"--duration={seconds}s"
        ).stdout.strip()
        if not token:
            raise ControlPlaneError(f"TokenRequest for {namespace}/{name} returned no token")
        user = f"system:serviceaccount:{namespace}:{name}"
        path = self.workdir / "kubeconfigs" / f"sa-{namespace}-{name}.kubeconfig"
        self._write_kubeconfig(path, user, {"token": token}, namespace=namespace)
        return path

    # --- internals --------------------------------------------------------

    @staticmethod
    def _require(value: _T | None) -> _T:
        if value is None:
            raise RuntimeError("the control plane is not started")
        return value

    def _etcd_args(self, client_port: int, peer_port: int) -> list[str]:
        client = f"http://127.0.0.1:{client_port}"
        peer = f"http://127.0.0.1:{peer_port}"
        return [
            "--name=awsorg-localcluster",
            f"--data-dir={self.workdir / 'etcd'}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=awsorg-localcluster={peer}",
            "--initial-cluster-state=new",
            # Throw-away data: no fsync makes every write (and so the tests) faster.
            "--unsafe-no-fsync=true",
            *self._extra_etcd_args,
        ]

    def _apiserver_args(self) -> list[str]:
        pki = self._require(self._pki)
        return [
            f"--bind-address={self._address}",
            f"--advertise-address={self._address}",
            f"--secure-port={self._apiserver_port}",
            f"--etcd-servers={self.etcd_url}",
            f"--cert-dir={self.workdir / 'apiserver-certs'}",
            f"--tls-cert-file={pki.serving_cert}",
            f"--tls-private-key-file={pki.serving_key}",
            f"--client-ca-file={pki.ca_cert}",
            "--authorization-mode=RBAC",
            f"--service-account-issuer={_SERVICE_ACCOUNT_ISSUER}",
            f"--service-account-key-file={pki.service_account_pub}",
            f"--service-account-signing-key-file={pki.service_account_key}",
            # Only a setting: nothing here routes to it (there are no nodes).
            "--service-cluster-ip-range=10.0.0.0/24",
            # No kubelet can reach a Service here: keep the "kubernetes" Service's
            # endpoints out of it (1.37 refuses a loopback address for them anyway).
            "--endpoint-reconciler-type=none",
            "--allow-privileged=true",
            "--profiling=false",
            *self._extra_apiserver_args,
        ]

    def _ssl_context(self) -> ssl.SSLContext:
        pki = self._require(self._pki)
        context = ssl.create_default_context(cafile=str(pki.ca_cert))
        context.load_cert_chain(str(pki.admin_cert), str(pki.admin_key))
        return context

    def _etcd_healthy(self) -> bool:
        with urllib.request.urlopen(f"{self.etcd_url}/health", timeout=2) as response:
            body: dict[str, Any] = json.loads(response.read())
        return response.status == 200 and body.get("health") == "true"

    def _apiserver_ready(self) -> bool:
        request = urllib.request.Request(f"{self.server}/readyz")
        with urllib.request.urlopen(request, timeout=5, context=self._ssl_context()) as response:
            return bool(response.status == 200 and response.read().strip() == b"ok")

    def _wait_for(
        self,
        process: ManagedProcess,
        ready: Callable[[], bool],
        what: str,
        *,
        timeout: float | None = None,
    ) -> None:
        """Polls `ready` until it holds; a component that exits or misses the deadline fails
        as ControlPlaneError with both logs, which is what a broken start-up needs to show."""

        def check() -> bool:
            if not process.running:
                raise ControlPlaneError(
                    f"{process.name} exited with code {process.returncode} before {what} "
                    f"was ok\n{self.diagnostics(lines=60)}"
                )
            return ready()

        try:
            wait_for(
                what,
                check,
                timeout if timeout is not None else self._start_timeout,
                _POLL_SECONDS,
                ignore=(OSError, urllib.error.URLError, ValueError),
            )
        except WaitTimeoutError as e:
            last = str(e.last) if isinstance(e.last, Exception) else "not ready"
            raise ControlPlaneError(
                f"{what} not ok within the deadline (last: {last})\n{self.diagnostics(lines=60)}"
            ) from None

    def _write_admin_kubeconfig(self) -> Path:
        pki = self._require(self._pki)
        return self._write_kubeconfig(
            self.workdir / "kubeconfigs" / "admin.kubeconfig",
            "awsorg-admin",
            {
                "client-certificate-data": _b64(pki.admin_cert.read_bytes()),
                "client-key-data": _b64(pki.admin_key.read_bytes()),
            },
        )

    def _write_kubeconfig(
        self,
        path: Path,
        user: str,
        credentials: Mapping[str, str],
        *,
        namespace: str = "default",
    ) -> Path:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": _CONTEXT,
                    "cluster": {
                        "server": self.server,
                        "certificate-authority-data": _b64(self.ca_cert.read_bytes()),
                    },
                }
            ],
            "users": [{"name": user, "user": dict(credentials)}],
            "contexts": [
                {
                    "name": _CONTEXT,
                    "context": {"cluster": _CONTEXT, "user": user, "namespace": namespace},
                }
            ],
            "current-context": _CONTEXT,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        # The file holds a credential: readable by its owner only.
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as stream:
            json.dump(config, stream, indent=2)
        return path


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@atexit.register
def _stop_all() -> None:
    for control_plane in list(_instances):
        with contextlib.suppress(Exception):
            control_plane.stop(timeout=5.0)
