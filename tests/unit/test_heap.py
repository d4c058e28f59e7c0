"""The heap trimmer (kube/heap.py) finds glibc's malloc_trim here, calls it, and stops."""

from __future__ import annotations

import time

import pytest

from awsorg_operator.kube import heap

pytestmark = pytest.mark.unit


def test_the_trimmer_runs_on_glibc_and_stops() -> None:
    trim = heap._malloc_trim()
    assert trim is not None, "this image's Python runs on glibc: malloc_trim must be found"
    assert trim(0) in (0, 1)  # 1: memory was released, 0: there was none to release
    trimmer = heap.HeapTrimmer(every=0.01)
    trimmer.start()
    assert trimmer._thread.is_alive()
    trimmer.stop()
    deadline = time.monotonic() + 5
    while trimmer._thread.is_alive() and time.monotonic() < deadline:
        trimmer._thread.join(0.1)
    assert not trimmer._thread.is_alive()
