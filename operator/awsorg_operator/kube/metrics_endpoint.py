"""/metrics, answered from the last rendering: a scrape never waits for one.

Rendering the Prometheus text costs CPU in proportion to the resources (13 series each), and
prometheus_client's own server rendered it inside every request: at a thousand organizations
/metrics took seconds to answer and, scraped often, took most of the operator's CPU (py-spy
in docs/performance.md). The per-resource families now come formatted (`render`: about
50 times cheaper). And a scrape gets the text rendered last; if that is older than
`MAX_AGE_SECONDS`, one background thread renders it anew for the next scrape. Series are
thus at most one scrape interval plus `MAX_AGE_SECONDS` old. A query naming families
(`?name[]=...`, prometheus_client's filter) is rendered at once: it collects only those.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

MAX_AGE_SECONDS = 10.0


class Rendering:
    """The registry's text, rendered at most once per `max_age`, in the background."""

    def __init__(
        self,
        registry: CollectorRegistry = REGISTRY,
        max_age: float = MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._registry = registry
        self._max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        self._text: bytes | None = None
        self._at = 0.0
        self._rendering = False

    def latest(self) -> bytes:
        with self._lock:
            text, stale = self._text, self._clock() - self._at > self._max_age
            start = text is not None and stale and not self._rendering
            if start:
                self._rendering = True
        if text is None:  # the first scrape: nothing to answer with yet
            return self._render()
        if start:
            threading.Thread(target=self._render, name="metrics-render", daemon=True).start()
        return text

    def _render(self) -> bytes:
        try:
            text = render(self._registry)
            with self._lock:
                self._text, self._at = text, self._clock()
            return text
        finally:
            with self._lock:
                self._rendering = False


def render(registry: Collector) -> bytes:
    """The registry in the text format, as `generate_latest`, except that a family that comes
    formatted (`resource_metrics.Family`) is copied rather than formatted sample by sample."""
    parts = []
    for family in registry.collect():
        text = getattr(family, "exposition", None)
        parts.append(text if isinstance(text, bytes) else generate_latest(_One(family)))
    return b"".join(parts)


class _One(Collector):
    """One family as a registry, for `generate_latest`."""

    def __init__(self, family: Metric) -> None:
        self._family = family

    def collect(self) -> Iterable[Metric]:
        return [self._family]


def serve(port: int, rendering: Rendering | None = None) -> ThreadingHTTPServer:
    """Serves /metrics on every address, as prometheus_client's `start_http_server` did."""
    found = rendering or Rendering()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            names = parse_qs(urlsplit(self.path).query).get("name[]")
            body = generate_latest(REGISTRY.restricted_registry(names)) if names else None
            body = body if body is not None else found.latest()
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE_LATEST)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # a line per scrape would drown the operator's own log

    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    return server
