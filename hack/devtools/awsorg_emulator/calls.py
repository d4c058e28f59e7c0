"""The call log: every AWS request the emulator answered, in order."""

from __future__ import annotations

import threading
import time

from .context import RequestContext
from .schema import CallRecord

OK = "ok"


class CallLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[CallRecord] = []

    def record(
        self, ctx: RequestContext, error_code: str | None, fault: str | None, started: float
    ) -> None:
        entry: CallRecord = {
            "service": ctx.service,
            "operation": ctx.operation,
            "account": ctx.account,
            "region": ctx.region,
            "outcome": error_code or OK,
            "fault": fault,
            "started": started,
            "ended": time.time(),
            "sourceIPAddress": ctx.source_ip,
            "userAgent": ctx.user_agent,
        }
        with self._lock:
            self._calls.append(entry)

    def entries(self) -> list[CallRecord]:
        with self._lock:
            return list(self._calls)

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()
