"""``python -m awsorg_localcluster``: a control plane (or, with ``--node``, a one-node
cluster) to poke at by hand.

Prints an ``export KUBECONFIG=...`` line (and with ``--node`` the host address for pods),
and runs until Ctrl-C (or SIGTERM), then stops everything.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from .controlplane import ControlPlaneError, LocalControlPlane
from .node import LocalNode
from .runtime import ContainerRuntimeError
from .tools import ToolNotFoundError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m awsorg_localcluster",
        description="Run etcd + kube-apiserver on 127.0.0.1 (or, with --node, a one-node "
        "cluster in a network namespace of its own) until Ctrl-C.",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="folder for certificates, data, logs and kubeconfigs (kept); default: a temporary one",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary folder after stopping"
    )
    parser.add_argument(
        "--node",
        action="store_true",
        help="also kube-controller-manager, kube-scheduler, containerd and a kubelet (root)",
    )
    parser.add_argument(
        "--load-image",
        action="append",
        default=[],
        metavar="REF",
        help="with --node: copy this image from podman's storage into the node (repeatable)",
    )
    return parser


def _run_until_stopped(cluster: LocalControlPlane | LocalNode, stop: threading.Event) -> int:
    cp = cluster.control_plane if isinstance(cluster, LocalNode) else cluster
    logs = ", ".join(f"{name}: {path}" for name, path in cluster.log_paths.items())
    node = (
        f"host address for pods: {cluster.host_address}\n" if isinstance(cluster, LocalNode) else ""
    )
    print(
        f"API server: {cp.server}\nkubeconfig: {cp.kubeconfig}\nlogs: {logs}\n{node}\n"
        f"export KUBECONFIG={cp.kubeconfig}\n\nCtrl-C stops everything.",
        flush=True,
    )
    while not stop.wait(1.0):
        if not cluster.running:
            print("a component exited:\n" + cluster.diagnostics(), file=sys.stderr)
            return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.load_image and not args.node:
        parser.error("--load-image needs --node")

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()
        if signum == signal.SIGINT and not started.is_set():
            raise KeyboardInterrupt  # Ctrl-C while starting: stop what started

    started = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, on_signal)

    cluster: LocalControlPlane | LocalNode
    if args.node:
        cluster = LocalNode(workdir=args.workdir, keep_workdir=args.keep, images=args.load_image)
        what = "etcd, kube-apiserver, controllers, containerd and the kubelet"
    else:
        cluster = LocalControlPlane(workdir=args.workdir, keep_workdir=args.keep or None)
        what = "etcd and kube-apiserver"
    print(f"starting {what} ...", file=sys.stderr, flush=True)
    try:
        with cluster:
            started.set()
            code = _run_until_stopped(cluster, stop)
    except (ControlPlaneError, ToolNotFoundError, ContainerRuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        code = 130
    print("stopped.", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
