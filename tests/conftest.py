"""Where the suite's time goes.

Timing: pytest's own durations, summed per test folder. Each test's setup, call and teardown
time goes to its folder, so a session fixture's setup (a control plane, an image, a release)
counts in the folder of the first test that needs it. Fixtures whose setup takes long are also
listed by name. Under pytest-xdist the sums are over every worker and add up to more than the
run's wall-clock time, so each worker's span follows, with its long units of work. With
AWSORG_TIMINGS set (hack/test.sh sets it), the figures are appended to that file as
"label<TAB>seconds" lines for the script's closing table; otherwise they close pytest's own
summary.

Which tests share a process under pytest-xdist, and in what order: tests/parallel.py.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

import pytest

# Which tests share an xdist worker, and in what order the workers take them.
from tests.parallel import (  # noqa: F401 (hooks: pytest finds them here)
    pytest_collection_modifyitems,
    pytest_xdist_make_scheduler,
    unit_of,
)

# A fixture setup at least this long is named in the table: it is where a folder's time went.
SLOW_FIXTURE_SECONDS = 20.0

_folders: dict[str, float] = defaultdict(float)
_fixtures: dict[str, float] = defaultdict(float)
_collection: dict[str, float] = {}
# (xdist worker, unit of work) -> [first start, last stop] (time.time()), on the controller.
_spans: dict[tuple[str, str], list[float]] = {}
# A unit at least this long is named under its worker: the run's critical path.
LONG_UNIT_SECONDS = 60.0


def pytest_collection(session: pytest.Session) -> None:
    _collection["start"] = time.monotonic()


def pytest_collection_finish(session: pytest.Session) -> None:
    took = time.monotonic() - _collection.pop("start", time.monotonic())
    _collection["seconds"] = max(_collection.get("seconds", 0.0), took)
    _to_controller(session.config, "collection", {"seconds": took})


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    folder = str(PurePosixPath(report.nodeid.split("::", 1)[0]).parent)
    _folders[folder] += report.duration
    worker = getattr(getattr(report, "node", None), "gateway", None)
    if worker is not None:  # on the xdist controller: when each worker ran each unit
        span = _spans.setdefault((str(worker.id), unit_of(report.nodeid)), [report.start, 0.0])
        span[0], span[1] = min(span[0], report.start), max(span[1], report.stop)


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Iterator[None]:
    start = time.monotonic()
    try:
        return (yield)
    finally:
        took = time.monotonic() - start
        if took >= SLOW_FIXTURE_SECONDS:
            where = PurePosixPath(fixturedef.baseid.split("::", 1)[0] or "tests")
            label = f"fixture {fixturedef.argname} ({where})"
            _fixtures[label] += took
            _to_controller(request.config, "fixtures", {label: _fixtures[label]})


def _to_controller(config: pytest.Config, key: str, values: dict[str, float]) -> None:
    """On an xdist worker: figures the controller merges when the worker is done."""
    output = getattr(config, "workeroutput", None)
    if output is not None:
        output.setdefault(f"awsorg_{key}", {}).update(values)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """On the xdist controller: a worker's collection time and slow fixtures."""
    output = getattr(node, "workeroutput", {})
    for label, seconds in output.get("awsorg_fixtures", {}).items():
        _fixtures[label] += seconds
    took = output.get("awsorg_collection", {}).get("seconds", 0.0)
    _collection["seconds"] = max(_collection.get("seconds", 0.0), took)


def _rows() -> list[tuple[str, float]]:
    rows = [("collection", _collection["seconds"])] if "seconds" in _collection else []
    rows += sorted(_folders.items())
    rows += [(f"  in it: {name}", s) for name, s in sorted(_fixtures.items())]
    return rows + _worker_rows()


def _worker_rows() -> list[tuple[str, float]]:
    """Under xdist: each worker's time from its first test's start to its last's end, and
    its long units in the order it ran them."""
    rows = []
    for worker in sorted({w for w, _ in _spans}):
        units = sorted((span, unit) for (w, unit), span in _spans.items() if w == worker)
        first, last = units[0][0][0], max(stop for (_, stop), _ in units)
        rows.append((f"worker {worker}: first test to last", last - first))
        rows += [
            (f"  {unit}", stop - start)
            for (start, stop), unit in units
            if stop - start >= LONG_UNIT_SECONDS
        ]
    return rows


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get("AWSORG_TIMINGS")
    if target and not hasattr(session.config, "workerinput"):  # the controller writes
        with open(target, "a", encoding="utf-8") as out:
            out.writelines(f"{label}\t{seconds:.1f}\n" for label, seconds in _rows())


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if os.environ.get("AWSORG_TIMINGS"):
        return  # hack/test.sh prints them in its own table
    terminalreporter.section("time per folder (s)")
    for label, seconds in _rows():
        terminalreporter.write_line(f"{label:<60} {seconds:8.1f}")
