"""Waiting for a condition: poll a check until it holds or a deadline passes.

Every dev tool waits on something another process does (a port opens, a log line appears, a
status condition turns). A fixed sleep is too short on a loaded machine and wastes time on a
quiet one; a check polled against a deadline is neither, and when it times out it says what
was awaited and what the check saw last. The one helper for all the dev packages and tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["WaitTimeoutError", "wait_for"]

T = TypeVar("T")


class WaitTimeoutError(AssertionError):
    """The check did not hold before the deadline. An AssertionError, so that a test whose
    condition never comes fails rather than errors; callers with errors of their own (a
    control plane that did not start) raise those instead, from `what` and `last`."""

    def __init__(self, what: str, timeout: float, last: object) -> None:
        super().__init__(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
        self.what = what
        self.timeout = timeout
        self.last = last
        """What the check returned last, or the ignored exception it raised last."""


def wait_for(
    what: str,
    check: Callable[[], T | None],
    timeout: float = 60.0,
    every: float = 0.25,
    *,
    first: float | None = None,
    ignore: tuple[type[Exception], ...] = (),
) -> T:
    """Calls `check` until it returns something truthy, and returns that.

    `check` runs at once, then every `every` seconds (from `first` seconds on, doubled up to
    `every`: for what is usually there almost at once), and a last time at the deadline,
    `timeout` seconds from now; then WaitTimeoutError. An exception from `check` ends the wait
    (so a check can stop waiting for a process that died) unless it is one of `ignore` (a
    server that does not answer yet).
    """
    deadline = time.monotonic() + timeout
    delay = every if first is None else first
    last: object = None
    while True:
        try:
            result = check()
        except ignore as error:
            last = error
        else:
            if result:
                return result
            last = result
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WaitTimeoutError(what, timeout, last)
        time.sleep(min(delay, remaining))  # a poll interval, bounded by the deadline
        delay = min(delay * 2, every)
