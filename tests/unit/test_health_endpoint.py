"""/healthz is answered by a thread of its own (kube/health_endpoint.py), over real HTTP on
loopback, and judges the event loop by its heartbeat (kube/probes.LoopHeartbeat): a blocked
loop fails the probe, and the probe still answers at once while the loop is blocked."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from awsorg_devbase import free_ports, wait_for
from awsorg_operator.kube.health_endpoint import judge, serve
from awsorg_operator.kube.probes import (
    ApiServerCheck,
    ApiServerError,
    LoopHeartbeat,
    LoopStalledError,
)

pytestmark = pytest.mark.unit


def _failing() -> str:
    raise LoopStalledError("the event loop has not run for 31 s")


def test_every_check_answering_is_healthy_and_one_failure_is_not() -> None:
    assert judge({"a": lambda: "fine", "b": lambda: "also"}) == (200, {"a": "fine", "b": "also"})
    status, body = judge({"a": lambda: "fine", "loop": _failing})
    assert status == 500
    assert body == {"a": "fine", "loop": "LoopStalledError: the event loop has not run for 31 s"}


def test_the_heartbeat_fails_once_the_loop_has_not_beaten_for_too_long() -> None:
    now = [0.0]
    beat = LoopHeartbeat(every=1, stale=30, late=1, clock=lambda: now[0])
    with pytest.raises(LoopStalledError, match="has not started"):
        beat.check()
    beat.beat(0.25)
    now[0] = 29
    assert "slowest 0.25 s late" in beat.check()
    now[0] = 31
    with pytest.raises(LoopStalledError, match="has not run for 31 s"):
        beat.check()
    beat.beat(2.5)  # running again, late: healthy, and the lag is kept
    assert "slowest 2.50 s late" in beat.check()


def test_the_api_server_is_not_asked_before_the_login_started_its_check() -> None:
    check = ApiServerCheck(lambda: "v1.37.2", every=3600)
    with pytest.raises(ApiServerError, match="not logged in yet"):
        check.check()
    check.start()
    try:
        assert check.check() == "v1.37.2"
    finally:
        check.stop()


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop running in a thread of its own, stopped at the end."""
    found = asyncio.new_event_loop()
    thread = threading.Thread(target=found.run_forever, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        asyncio.run_coroutine_threadsafe(_cancel_others(), found).result(10)
        found.call_soon_threadsafe(found.stop)
        thread.join(10)
        found.close()


async def _cancel_others() -> None:
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)


def _get(url: str) -> tuple[int, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return int(r.status), json.loads(r.read())
    except urllib.error.HTTPError as e:
        return int(e.code), json.loads(e.read())


def test_a_blocked_event_loop_fails_healthz_which_still_answers(
    loop: asyncio.AbstractEventLoop,
) -> None:
    beat = LoopHeartbeat(every=0.01, stale=0.5)
    asyncio.run_coroutine_threadsafe(beat.run(), loop)
    (port,) = free_ports(1)
    server = serve(port, {"eventLoop": beat.check})
    url = f"http://127.0.0.1:{port}/healthz"
    unblock = threading.Event()
    try:
        wait_for("the loop to beat", lambda: _get(url)[0] == 200, timeout=10, every=0.05)
        loop.call_soon_threadsafe(unblock.wait, 30)  # blocks the loop until released
        wait_for("/healthz to fail", lambda: _get(url)[0] == 500, timeout=10, every=0.05)
        assert "has not run for" in _get(url)[1]["eventLoop"]
        unblock.set()
        wait_for("/healthz to recover", lambda: _get(url)[0] == 200, timeout=10, every=0.05)
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/other", timeout=10)
    finally:
        unblock.set()
        server.shutdown()
        server.server_close()
