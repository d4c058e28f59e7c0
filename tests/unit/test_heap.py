"""The heap trimmer (kube/heap.py) finds glibc's malloc_trim here, calls it, and stops."""

from __future__ import annotations

import pytest

from awsorg_devbase import wait_for
from awsorg_operator.kube import heap

pytestmark = pytest.mark.unit


def test_the_trimmer_runs_on_glibc_and_stops() -> None:
    trim = heap._malloc_trim()
    assert trim is not None, "this image's Python runs on glibc: malloc_trim must be found"
    assert trim(0) in (0, 1)  # 1: memory was released, 0: there was none to release
    trimmer = heap.HeapTrimmer(every=0.01)
    calls: list[int] = []
    real = trimmer._trim
    assert real is not None

    def counted(pad: int) -> int:  # still trims
        calls.append(pad)
        return real(pad)

    trimmer._trim = counted
    trimmer.start()
    wait_for("the trimmer to call malloc_trim", lambda: calls, timeout=10)
    assert set(calls) == {0}
    trimmer.stop()
    trimmer._thread.join(5)
    assert not trimmer._thread.is_alive()
