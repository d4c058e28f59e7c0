"""Where the suite's time goes: pytest's own durations, summed per test folder.

Each test's setup, call and teardown time goes to its folder, so a session fixture's setup (a
control plane, an image, a release) counts in the folder of the first test that needs it.
Fixtures whose setup takes long are also listed by name. With AWSORG_TIMINGS set (hack/test.sh
sets it), the figures are appended to that file as "label<TAB>seconds" lines for the script's
closing table; otherwise they close pytest's own summary.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

import pytest

# A fixture setup at least this long is named in the table: it is where a folder's time went.
SLOW_FIXTURE_SECONDS = 20.0

_folders: dict[str, float] = defaultdict(float)
_fixtures: dict[str, float] = defaultdict(float)
_collection: list[float] = []


def pytest_collection(session: pytest.Session) -> None:
    _collection.append(time.monotonic())


def pytest_collection_finish(session: pytest.Session) -> None:
    if _collection:
        _collection[0] = time.monotonic() - _collection[0]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    folder = str(PurePosixPath(report.nodeid.split("::", 1)[0]).parent)
    _folders[folder] += report.duration


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any]) -> Iterator[None]:
    start = time.monotonic()
    try:
        return (yield)
    finally:
        took = time.monotonic() - start
        if took >= SLOW_FIXTURE_SECONDS:
            where = PurePosixPath(fixturedef.baseid.split("::", 1)[0] or "tests")
            _fixtures[f"fixture {fixturedef.argname} ({where})"] += took


def _rows() -> list[tuple[str, float]]:
    rows = [("collection", _collection[0])] if _collection else []
    rows += sorted(_folders.items())
    rows += [(f"  in it: {name}", s) for name, s in sorted(_fixtures.items())]
    return rows


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get("AWSORG_TIMINGS")
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.writelines(f"{label}\t{seconds:.1f}\n" for label, seconds in _rows())


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if os.environ.get("AWSORG_TIMINGS"):
        return  # hack/test.sh prints them in its own table
    terminalreporter.section("time per folder (s)")
    for label, seconds in _rows():
        terminalreporter.write_line(f"{label:<60} {seconds:8.1f}")
