"""The call pool bounds calls in flight per identity and scope (a service and Region), not per
identity alone: one Region's calls wait for each other past the bound, other Regions' do not."""

from __future__ import annotations

import functools
import threading

import pytest

from awsorg_operator.aws.concurrency import CallPool
from awsorg_operator.external import Identity

pytestmark = pytest.mark.unit


def test_the_bound_holds_per_scope_and_scopes_do_not_wait_for_each_other() -> None:
    pool = CallPool(overall=8, per_identity=2)
    release = threading.Event()
    lock = threading.Lock()
    running: dict[str, int] = {}
    most: dict[str, int] = {}

    def call(scope: str) -> None:
        with lock:
            running[scope] = running.get(scope, 0) + 1
            most[scope] = max(most.get(scope, 0), running[scope])
        release.wait(10)
        with lock:
            running[scope] -= 1

    me = Identity()
    try:
        futures = [pool.submit(me, functools.partial(call, s), s) for s in ("a", "b", "c")]
        # Each scope has a slot left: a fourth call in scope "a" is not held up by "b" or "c".
        futures.append(pool.submit(me, lambda: call("a"), "a"))
        blocked = threading.Thread(
            target=lambda: futures.append(pool.submit(me, lambda: call("a"), "a"))
        )
        blocked.start()
        blocked.join(0.5)
        assert blocked.is_alive(), "a third call in one scope must wait for a slot"
        release.set()
        blocked.join(10)
        for f in futures:
            f.result(10)
        assert most == {"a": 2, "b": 1, "c": 1}
    finally:
        release.set()
        pool.shutdown()
