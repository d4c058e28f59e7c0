"""Watch an operator's endpoints while it works: how long /healthz and /metrics take to
answer, polled as the kubelet and Prometheus would, each from its own thread."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from types import TracebackType

# Longer than any answer we wait for: a poll that takes this long counts as missed.
POLL_TIMEOUT = 10.0


@dataclass
class Answers:
    """The answers of one endpoint: how many polls, the slowest, and those never answered."""

    polls: int = 0
    slowest_seconds: float = 0.0
    missed: int = 0
    failed: int = 0  # answered with another status than 200
    samples: list[float] = field(default_factory=list)


class EndpointPoller:
    """``with EndpointPoller({"healthz": url}, every={"healthz": 1.0}) as p: ...; p.answers``"""

    def __init__(self, urls: dict[str, str], every: dict[str, float]) -> None:
        self.urls = urls
        self.every = every
        self.answers = {name: Answers() for name in urls}
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._poll, args=(name,), daemon=True) for name in urls
        ]

    def __enter__(self) -> EndpointPoller:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(POLL_TIMEOUT + 1)

    def _poll(self, name: str) -> None:
        found = self.answers[name]
        while not self._stop.is_set():
            started = time.monotonic()
            status = _get(self.urls[name])
            took = time.monotonic() - started
            found.polls += 1
            found.samples.append(round(took, 3))
            found.slowest_seconds = max(found.slowest_seconds, took)
            if status is None:
                found.missed += 1
            elif status != 200:
                found.failed += 1
            self._stop.wait(max(0.0, self.every[name] - took))


def _get(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=POLL_TIMEOUT) as r:
            r.read()
            return int(r.status)
    except urllib.error.HTTPError as e:
        return int(e.code)
    except OSError:
        return None
