"""What /healthz judges, besides kopf answering at all (a blocked event loop cannot answer):
the API server can be reached, and no reconcile has been running for longer than a bound.

Each AWS call is bounded by its timeouts and attempts, so a reconcile that runs past
`stuck_seconds` is stuck in a way only a restart fixes. kopf's probe handlers that ask these
are registered in `handlers.py`.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import kubernetes

from awsorg_operator.kube.calls import api_client

API_SERVER_PROBE_TIMEOUT = 3.0  # below the chart's livenessProbe timeoutSeconds (5)


class Watchdog:
    def __init__(self, stuck_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._stuck_seconds = stuck_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._running: dict[int, tuple[str, float]] = {}
        self._ids = itertools.count()

    @contextmanager
    def running(self, what: str) -> Iterator[None]:
        token = next(self._ids)
        with self._lock:
            self._running[token] = (what, self._clock())
        try:
            yield
        finally:
            with self._lock:
                del self._running[token]

    def stuck(self) -> str | None:
        """What has been running for too long, if anything."""
        now = self._clock()
        with self._lock:
            late = [
                (now - t, w) for w, t in self._running.values() if now - t > self._stuck_seconds
            ]
        if not late:
            return None
        age, what = max(late)
        return f"{what} has been running for {age:.0f} s (bound: {self._stuck_seconds:.0f} s)"


def api_server_version() -> str:
    """Raises when the API server cannot be reached within the probe's timeout."""
    # kopf.login_via_client loaded the same kubeconfig or in-cluster configuration.
    api = kubernetes.client.VersionApi(api_client())
    version = api.get_code(_request_timeout=API_SERVER_PROBE_TIMEOUT)
    return str(version.git_version)
