"""One control plane for the harness tests; its logs are attached to any failure."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from typing import TypeVar

import pytest

from awsorg_devbase import WaitTimeoutError, wait_for
from awsorg_localcluster import LocalControlPlane

T = TypeVar("T")


@pytest.fixture(scope="session")
def control_plane() -> Iterator[LocalControlPlane]:
    with LocalControlPlane() as cp:
        yield cp


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and report.when == "call":
        cp = getattr(item, "funcargs", {}).get("control_plane")
        if isinstance(cp, LocalControlPlane) and cp.running:
            report.sections.append(("control plane logs", cp.diagnostics()))
    return report


def wait_until(
    probe: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.2
) -> T:
    """Call ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    try:
        return wait_for(what, probe, timeout, interval)
    except WaitTimeoutError:
        pytest.fail(f"{what}: not true within {timeout}s")
