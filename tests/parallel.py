"""Which tests share a process when pytest-xdist spreads the suite (`pytest -n N`), and in
what order the workers take them.

A unit of work goes whole to one worker:
- tests/node, in two units: each starts a one-node cluster of its own (two kubelets side by
  side on the host), and its tests share it. The memory test at a thousand organizations and
  the restart test (minutes of probes) are one; the others, the second;
- the release tests (tests/e2e/release): one unit, they share one release;
- every other module of tests/e2e: a unit each. Each worker starts its own control plane,
  emulator, ports and folders, so these modules are hermetic among themselves;
- every other folder: a unit, as it ran in one process before.

The longest units go first, so that the run does not end waiting for one that started last.
A worker is given the next unit only when it is about to run out: no unit waits behind a long
one on a busy worker while another worker is idle.

xdist's own `--dist loadgroup` would do the grouping, but with pytest 9.2 and pytest-xdist
3.8.0 it ignores the groups (pytest-dev/pytest-xdist issue 1386): the release was cut on two
workers. So the scheduler is xdist's own scope scheduler with the units named here, through
xdist's documented hook `pytest_xdist_make_scheduler`.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import pytest

# (path prefix, unit): the first that matches names the unit.
SHARED = [
    ("tests/node/test_memory.py", "tests/node (memory, restart)"),
    ("tests/node/test_restart.py", "tests/node (memory, restart)"),
    ("tests/node/", "tests/node"),
    ("tests/e2e/release/", "tests/e2e/release"),
]
# Units that take minutes, longest first (measured: the timing table of hack/test.sh). Any
# other unit follows them, in collection order.
LONGEST_FIRST = [
    "tests/node",
    "tests/node (memory, restart)",
    "tests/e2e/test_soak.py",
    "tests/e2e/release",
    "tests/e2e/test_reliability.py",
    "tests/e2e/test_docs.py",
    "tests/e2e/test_operator.py",
    "tests/e2e/test_monitoring.py",
    "tests/e2e/test_reliability_wiring.py",
    "tests/e2e/test_ownership.py",
    "tests/e2e/test_image.py",
    "tests/integration",
]


def unit_of(nodeid: str) -> str:
    """The unit of work a test belongs to: see the module's docstring."""
    path = nodeid.split("::", 1)[0]
    for prefix, unit in SHARED:
        if path.startswith(prefix):
            return unit
    if path.startswith("tests/e2e/"):
        return path
    return str(PurePosixPath(path).parent)


def _rank(unit: str) -> int:
    return LONGEST_FIRST.index(unit) if unit in LONGEST_FIRST else len(LONGEST_FIRST)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On an xdist worker, the longest units first. The scheduler keeps the order the workers
    collected in (every worker sorts alike); a run in one process keeps pytest's order."""
    if hasattr(config, "workerinput"):
        items.sort(key=lambda item: _rank(unit_of(item.nodeid)))  # stable: modules stay whole


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling  # only under xdist

    class UnitScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def __init__(self, config: pytest.Config, log: Any = None) -> None:
            super().__init__(config, log)
            config.option.loadscopereorder = False  # the workers' order, longest first

        def _split_scope(self, nodeid: str) -> str:
            return unit_of(nodeid)

        def _reschedule(self, node: Any) -> None:
            # xdist's version tops a worker up while it still has 2 tests to run, so a long
            # unit can wait behind another long one. A worker holds its last test back until
            # it knows what follows (for the fixtures' teardown): 1 pending test is idle.
            if node.shutting_down:
                return
            if not self.workqueue:
                node.shutdown()
            elif self._pending_of(self.assigned_work[node]) <= 1:
                self._assign_work_unit(node)

    return UnitScheduling(config, log)
