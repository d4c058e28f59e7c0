"""Reliability row 23: several replicas with the chart's peering settings, against one API
server and one AWS emulator. The emulator's call log proves one writer."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from awsorg_devstack import Operator, install_peering
from awsorg_emulator import EmulatorControl
from awsorg_localcluster import LocalControlPlane
from tests.e2e.conftest import AUDIT, RESYNC_SECONDS, Kube, wait_for
from tests.e2e.test_operator import NAME, REGIONS, admin_in, adopting, aws, writes

pytestmark = pytest.mark.e2e

Start = Callable[[str, int], Operator]


@pytest.fixture
def replicas(
    cluster: LocalControlPlane,
    operator_kubeconfig: Path,
    control: EmulatorControl,
    kube: Kube,
    tmp_path: Path,
) -> Iterator[Start]:
    """start(name, priority): one replica as the chart's pod runs it, with peering on."""
    peering = install_peering(cluster)
    started: list[Operator] = []

    def start(name: str, priority: int) -> Operator:
        op = Operator(
            operator_kubeconfig,
            control.endpoint_url,
            tmp_path / f"{name}.log",
            {
                "operator.resyncSeconds": str(RESYNC_SECONDS),
                "peering.enabled": "true",
                "peering.name": peering,
                "peering.priority": str(priority),
            },
        )
        op.start()
        started.append(op)
        return op

    try:
        yield start
    finally:
        kube.delete_all()
        for op in started:
            op.stop()


def said(op: Operator, words: str) -> bool:
    return words in op.log_path.read_text()


def wrote(op: Operator) -> list[str]:
    """The AWS writes this replica made, from its own log."""
    return [line for line in op.log_path.read_text().splitlines() if "AWS Register" in line]


@pytest.mark.slow
def test_two_replicas_have_one_writer(
    kube: Kube, replicas: Start, control: EmulatorControl
) -> None:
    control.reset(seed="empty", maintenance_mode=False)
    low = replicas("low", 10)
    high = replicas("high", 20)
    wait_for("the lower one to pause", lambda: said(low, "Pausing operations in favour of"))
    kube.apply(adopting())
    kube.wait_reason(NAME, "Reconciled")
    registered = sorted(w for w in writes(control) if w[0] == "RegisterAccount")
    assert registered == sorted(("RegisterAccount", r) for r in REGIONS), writes(control)
    assert wrote(high) and not wrote(low)

    # A rollout: the new replica (higher priority) overlaps the old one, which pauses.
    new = replicas("new", 30)
    wait_for("the old one to pause", lambda: said(high, "Pausing operations in favour of"))
    control.clear_calls()
    aws(control, "auditmanager").deregister_organization_admin_account(adminAccountId=AUDIT)
    wait_for(
        "drift corrected",
        lambda: admin_in(control, "us-east-1") == AUDIT,
        timeout=6 * RESYNC_SECONDS,
    )
    corrections = [w for w in writes(control) if w[0] == "RegisterOrganizationAdminAccount"]
    assert corrections == [("RegisterOrganizationAdminAccount", "us-east-1")], writes(control)
    assert len(wrote(new)) == 1 and len(wrote(high)) == len(REGIONS) and not wrote(low)


@pytest.mark.slow
def test_equal_priorities_freeze_loudly(
    kube: Kube, replicas: Start, control: EmulatorControl
) -> None:
    first = replicas("first", 10)
    second = replicas("second", 10)

    def loud(op: Operator) -> int:  # the warning each logs at every look at its peers
        return op.log_path.read_text().count(
            "Possibly conflicting operators with the same priority"
        )

    wait_for("a warning from both", lambda: loud(first) and loud(second))
    control.clear_calls()
    seen = {"first": loud(first), "second": loud(second)}
    kube.apply(adopting())
    # Frozen for as long as it takes each replica to look at its peers again (kopf's
    # keepalive, within a peering lifetime) with the resource there: a span set by what the
    # replicas did, not by a clock.
    wait_for(
        "both replicas to look at their peers again",
        lambda: loud(first) > seen["first"] and loud(second) > seen["second"],
        timeout=150,
    )
    frozen_until = time.time()
    assert kube.condition(NAME) == {}, "a frozen replica wrote status"
    second.stop()  # one of them goes away: the other resumes by itself
    kube.wait_reason(NAME, "Reconciled", timeout=90)
    assert said(first, "Resuming operations after the pause")
    # What happened and when: every AWS call came after the freeze.
    calls = control.calls()
    assert calls and min(c["started"] for c in calls) > frozen_until, calls[:3]
