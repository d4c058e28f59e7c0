"""Independent AWS calls side by side, bounded per identity and overall.

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
# reached through). Audit Manager's and Organizations' request quotas are per account and
# a few per second at least; eight at once stays under them for the ~30 calls of 10 Regions.
PER_IDENTITY = 8
# Calls in flight for the whole operator: botocore's default pool keeps 10 connections per
# client, and each identity has its own clients, so this bounds sockets and threads.
OVERALL = 64


class CallPool:
    def __init__(self, overall: int = OVERALL, per_identity: int = PER_IDENTITY) -> None:
        self._pool = ThreadPoolExecutor(overall, thread_name_prefix="aws-call")
        self._per_identity = per_identity
        self._lock = threading.Lock()
        self._limits: dict[Identity, threading.BoundedSemaphore] = {}

    def submit(self, identity: Identity, fn: Callable[[], T]) -> Future[T]:
        """Run `fn` in the pool once the identity has a free slot: the caller waits for the
        slot (never a pool thread), the task gives it back when it ends."""
        limit = self._limit(identity)
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

    def _limit(self, identity: Identity) -> threading.BoundedSemaphore:
        with self._lock:
            found = self._limits.get(identity)
            if found is None:
                found = self._limits[identity] = threading.BoundedSemaphore(self._per_identity)
            return found
