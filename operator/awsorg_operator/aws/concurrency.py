"""Independent AWS calls side by side, bounded per identity, service and Region, and overall.

A reconcile's reads do not depend on each other (the organization's lists, each Region's
Audit Manager), and Regions' writes do not either: sent one after another, a reconcile takes
the sum of their round trips; sent together, only its critical path. The bounds keep one
organization from provoking AWS throttling (its quotas are per account) and the operator as a
whole from opening more connections than botocore's pools hold.

Only the thread that reconciles waits on these futures; a task never waits on another task,
so the pool cannot deadlock however full it is.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from awsorg_operator.external import Identity

T = TypeVar("T")

# Calls in flight for one identity (one organization's management account, or the role it is
# reached through) in one scope: Organizations, or one Region's Audit Manager. AWS's request
# quotas are per account, service and Region (a few per second at least): a Region's three
# reads and Organizations' three go out at once, and ten Regions do not wait for each other.
PER_IDENTITY = 8
# Calls in flight for the whole operator: botocore's default pool keeps 10 connections per
# client, and each identity has its own clients, so this bounds sockets and threads.
OVERALL = 64


class CallPool:
    def __init__(self, overall: int = OVERALL, per_identity: int = PER_IDENTITY) -> None:
        self._pool = ThreadPoolExecutor(overall, thread_name_prefix="aws-call")
        self._per_identity = per_identity
        self._lock = threading.Lock()
        self._limits: dict[tuple[Identity, str], threading.BoundedSemaphore] = {}

    def submit(self, identity: Identity, fn: Callable[[], T], scope: str = "") -> Future[T]:
        """Run `fn` in the pool once the identity has a free slot in `scope` (a service and
        Region, e.g. "auditmanager eu-west-1"): the caller waits for the slot (never a pool
        thread), the task gives it back when it ends."""
        limit = self._limit((identity, scope))
        limit.acquire()
        try:
            future = self._pool.submit(fn)
        except BaseException:
            limit.release()
            raise
        future.add_done_callback(lambda _: limit.release())
        return future

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _limit(self, key: tuple[Identity, str]) -> threading.BoundedSemaphore:
        with self._lock:
            found = self._limits.get(key)
            if found is None:
                found = self._limits[key] = threading.BoundedSemaphore(self._per_identity)
            return found
