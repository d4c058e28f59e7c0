"""``python -m awsorg_localcluster``: a control plane to poke at by hand.

Starts etcd and kube-apiserver, prints the admin kubeconfig and an
``export KUBECONFIG=...`` line, and runs until Ctrl-C (or SIGTERM), then
stops everything.
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
from .tools import ToolNotFoundError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m awsorg_localcluster",
        description="Run etcd + kube-apiserver on 127.0.0.1 until Ctrl-C.",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="folder for certificates, data, logs and kubeconfigs (kept); default: a temporary one",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary folder after stopping"
    )
    args = parser.parse_args(argv)

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    control_plane = LocalControlPlane(workdir=args.workdir, keep_workdir=args.keep or None)
    print("starting etcd and kube-apiserver ...", file=sys.stderr, flush=True)
    try:
        with control_plane:
            logs = ", ".join(f"{name}: {path}" for name, path in control_plane.log_paths.items())
            print(
                f"API server: {control_plane.server}\n"
                f"kubeconfig: {control_plane.kubeconfig}\n"
                f"logs: {logs}\n\n"
                f"export KUBECONFIG={control_plane.kubeconfig}\n\n"
                "Ctrl-C stops everything.",
                flush=True,
            )
            while not stop.wait(1.0):
                if not control_plane.running:
                    print("a component exited:\n" + control_plane.diagnostics(), file=sys.stderr)
                    return 1
    except (ControlPlaneError, ToolNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print("stopped.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
