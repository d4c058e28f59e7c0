"""What /healthz judges, besides kopf answering at all (a blocked event loop cannot answer):
the API server can be reached, and no reconcile has been running for longer than a bound.

The API server is asked by a thread of its own (`ApiServerCheck`), and the probe reads its
last answer: asked from the probe, through a thread, each refresh of /healthz waited for a
free thread, the GIL and a round trip, while a thousand reconciles competed for all three.

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
API_SERVER_EVERY = 5.0  # seconds between two questions to the API server
# An answer older than this is not trusted: the checking thread itself is stuck.
API_SERVER_STALE = 30.0


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


class ApiServerCheck:
    """Asks the API server every `every` seconds from a daemon thread, started by the first
    probe (after kopf's login loaded the configuration); `latest` is its last answer."""

    def __init__(
        self,
        ask: Callable[[], str] = api_server_version,
        every: float = API_SERVER_EVERY,
        stale: float = API_SERVER_STALE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ask = ask
        self._every = every
        self._stale = stale
        self._clock = clock
        self._lock = threading.Lock()
        self._answer: tuple[str | Exception, float] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="apiserver", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def refresh(self) -> str:
        """Asks now (blocking): the first probe, before the thread has answered."""
        self._record()
        return self.latest() or ""

    def _record(self) -> None:
        try:
            answer: str | Exception = self._ask()
        except Exception as e:
            answer = e
        with self._lock:
            self._answer = (answer, self._clock())

    def latest(self) -> str | None:
        """The API server's version; None before the first answer. Raises `ApiServerError`
        when the last answer was a failure, or is too old to trust."""
        with self._lock:
            found = self._answer
        if found is None:
            return None
        answer, at = found
        if isinstance(answer, Exception):
            raise ApiServerError(str(answer)) from answer
        age = self._clock() - at
        if age > self._stale:
            raise ApiServerError(f"no answer for {age:.0f} s")
        return answer

    def _run(self) -> None:
        while not self._stop.is_set():
            self._record()
            self._stop.wait(self._every)


class ApiServerError(Exception):
    """The API server could not be reached (the message says why)."""
