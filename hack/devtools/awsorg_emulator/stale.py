"""Stale reads: AWS is eventually consistent, so a read right after a write may answer what
was true before it. With `seconds` > 0, a successful write in a service and Region freezes
that service's and Region's reads for that long: each read answers as it last did before
the write (a read never seen before answers fresh)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from werkzeug.wrappers import Response

from .context import RequestContext

_WRITES = ("Register", "Deregister", "Update", "Enable", "Disable", "Create", "Delete")
_READS = ("Get", "List", "Describe")


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class StaleReads:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seconds = 0.0
        self._last: dict[tuple[str, ...], _Answer] = {}  # the last fresh answer of each read
        self._frozen: dict[tuple[str, str], tuple[float, dict[tuple[str, ...], _Answer]]] = {}

    def reset(self) -> None:
        with self._lock:
            self.seconds = 0.0
            self._last.clear()
            self._frozen.clear()

    def answer(self, ctx: RequestContext, body: bytes) -> Response | None:
        """The stale answer to this read, while its service and Region are frozen."""
        if not ctx.operation.startswith(_READS):
            return None
        with self._lock:
            until, answers = self._frozen.get((ctx.service, ctx.region), (0.0, {}))
            old = answers.get(_key(ctx, body)) if time.monotonic() < until else None
        if old is None:
            return None
        return Response(old.body, status=old.status, headers=old.headers)

    def observe(self, ctx: RequestContext, body: bytes, response: Response) -> None:
        if self.seconds <= 0 or response.status_code >= 400:
            return
        where = (ctx.service, ctx.region)
        with self._lock:
            if ctx.operation.startswith(_READS):
                answer = _Answer(response.status_code, list(response.headers), response.get_data())
                self._last[_key(ctx, body)] = answer
            elif ctx.operation.startswith(_WRITES):
                mine = {k: v for k, v in self._last.items() if k[:2] == where}
                until, frozen = self._frozen.get(where, (0.0, {}))
                # A second write inside the window keeps the first one's view: still stale.
                kept = frozen if time.monotonic() < until else mine
                self._frozen[where] = (time.monotonic() + self.seconds, kept)


def _key(ctx: RequestContext, body: bytes) -> tuple[str, ...]:
    return (ctx.service, ctx.region, ctx.account, ctx.operation, ctx.path, body.decode("latin-1"))
