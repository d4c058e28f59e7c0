"""Give freed memory back to the operating system after a burst of work.

At a thousand resources, the first reconcile of all (and every re-check) decodes thousands
of watch events and API answers on the event loop thread; glibc keeps what Python frees in
its heap, where one live object above a free range keeps the whole range resident. The
operator's RSS then stayed at its peak (most of it the main heap in /proc/PID/smaps), and RSS
is what the pod's memory limit counts. glibc's `malloc_trim(0)` releases the free pages
anywhere in the heap. Elsewhere than glibc (musl has no malloc_trim) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

TRIM_SECONDS = 30.0  # cheap (a few ms of CPU): often enough to follow a re-check's burst


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


class HeapTrimmer:
    """A daemon thread that calls `malloc_trim(0)` every `every` seconds until stopped."""

    def __init__(self, every: float = TRIM_SECONDS) -> None:
        self._every = every
        self._stop = threading.Event()
        self._trim = _malloc_trim()
        self._thread = threading.Thread(target=self._run, name="heap-trim", daemon=True)

    def start(self) -> None:
        if self._trim is None:
            log.info("malloc_trim is not available: freed memory stays with the allocator")
            return
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        assert self._trim is not None
        while not self._stop.wait(self._every):
            self._trim(0)
