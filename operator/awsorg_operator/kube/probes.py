"""What /healthz judges (`health_endpoint.py` answers it from a thread of its own): the event
loop runs (its heartbeat is recent), the API server can be reached, and no reconcile has been
running for longer than a bound.

The API server is asked by a thread of its own (`ApiServerCheck`), and the probe reads its
last answer: asked from the probe, through a thread, each refresh of /healthz waited for a
free thread, the GIL and a round trip, while a thousand reconciles competed for all three.

Each AWS call is bounded by its timeouts and attempts, so a reconcile that runs past
`stuck_seconds` is stuck in a way only a restart fixes. The checks are wired in `runtime.py`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
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
LOOP_EVERY = 1.0  # seconds between two heartbeats of the event loop
# A loop that has not beaten for this long is blocked: as long as the API server's bound, far
# above the few seconds a loop busy with a thousand resources lags on a loaded machine.
LOOP_STALE = 30.0
LOOP_LATE = 1.0  # a heartbeat later than this is logged: what slows the loop shows in the log

log = logging.getLogger(__name__)


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

    def check(self) -> str:
        """The /healthz check: raises `StuckError` naming what runs past its bound."""
        stuck = self.stuck()
        if stuck:
            raise StuckError(stuck)
        return "none stuck"


class StuckError(Exception):
    """A reconcile has run past `stuck_seconds` (the message says which)."""


class LoopHeartbeat:
    """Beats every `every` seconds on the event loop (`run`, a task of its own); `check`,
    from any thread, fails when the last beat is older than `stale`: the loop is blocked.
    How late each beat came is the loop's lag; the slowest is kept, a late one logged."""

    def __init__(
        self,
        every: float = LOOP_EVERY,
        stale: float = LOOP_STALE,
        late: float = LOOP_LATE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._every = every
        self._stale = stale
        self._late = late
        self._clock = clock
        self._last: float | None = None  # a float is read and written whole under the GIL
        self.slowest = 0.0

    async def run(self) -> None:
        self._last = self._clock()
        while True:
            before = self._clock()
            await asyncio.sleep(self._every)
            self.beat(self._clock() - before - self._every)

    def beat(self, lag: float) -> None:
        self._last = self._clock()
        self.slowest = max(self.slowest, lag)
        if lag >= self._late:
            log.warning("the event loop ran %.2f s late", lag, extra={"loop_lag_seconds": lag})

    def check(self) -> str:
        last = self._last
        if last is None:
            raise LoopStalledError("the event loop has not started its heartbeat")
        age = self._clock() - last
        if age > self._stale:
            raise LoopStalledError(f"the event loop has not run for {age:.0f} s")
        return f"last beat {age:.1f} s ago, slowest {self.slowest:.2f} s late"


class LoopStalledError(Exception):
    """The event loop has not beaten for too long (the message says how long)."""


def api_server_version() -> str:
    """Raises when the API server cannot be reached within the probe's timeout."""
    # kopf.login_via_client loaded the same kubeconfig or in-cluster configuration.
    api = kubernetes.client.VersionApi(api_client())
    version = api.get_code(_request_timeout=API_SERVER_PROBE_TIMEOUT)
    return str(version.git_version)


class ApiServerCheck:
    """Asks the API server every `every` seconds from a daemon thread, started after kopf's
    login loaded the configuration; `latest` is its last answer."""

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

    def check(self) -> str:
        """The /healthz check: the last answer; the first probe asks for itself. Before
        `start` (kopf's login loads the configuration), nothing is asked."""
        if self._thread is None:
            raise ApiServerError("not logged in yet")
        found = self.latest()
        return found if found is not None else self.refresh()

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
