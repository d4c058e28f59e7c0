"""Rows of the reliability matrix (docs/reliability.md) whose behaviour lives in the wiring
between the chart, the operator's process and AWS: the chart's AWS client values (row 2),
drift behind the operator's back (row 20) and liveness of a stuck reconcile (row 16). Each
asserts on what the emulator's call log and the operator's endpoints say happened."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from awsorg_devstack import Operator
from awsorg_emulator import EmulatorControl
from awsorg_emulator.schema import CallRecord
from tests.e2e.conftest import AUDIT, RESYNC_SECONDS, Kube, wait_for
from tests.e2e.test_operator import NAME, REGIONS, admin_in, adopting, aws, writes
from tests.e2e.test_reliability import _role

pytestmark = pytest.mark.e2e

# (service, operation, Region): one call of each client the operator builds. AssumeRole is
# sent by the STS client of the assumed role's credentials.
CLIENTS = [
    ("sts", "AssumeRole", "us-east-1"),
    ("sts", "GetCallerIdentity", "us-east-1"),
    ("organizations", "DescribeOrganization", "us-east-1"),
    *[("auditmanager", "GetAccountStatus", r) for r in REGIONS],
]


@pytest.fixture
def started(
    operator_kubeconfig: Path, control: EmulatorControl, kube: Kube, tmp_path: Path
) -> Iterator[list[Operator]]:
    """Operators started by the test with values of its own; stopped after it."""
    ops: list[Operator] = []
    try:
        yield ops
    finally:
        control.clear_faults()
        kube.delete_all()
        for op in ops:
            op.stop()


def start(
    ops: list[Operator],
    kubeconfig: Path,
    control: EmulatorControl,
    tmp: Path,
    values: Mapping[str, str],
) -> Operator:
    op = Operator(kubeconfig, control.endpoint_url, tmp / f"operator-{len(ops)}.log", values)
    ops.append(op)
    op.start()
    return op


def errors(op: Operator) -> float:
    """Reconciles that ended in an error, from the operator's own metrics."""
    # prometheus_client's filter takes sample names, not the histogram's.
    count = "awsorg_reconcile_duration_seconds_count"
    lines = [x for x in op.metrics(names=(count,)).splitlines() if x.startswith(count)]
    assert lines, "no reconcile counter: the check would prove nothing"
    return sum(float(x.rsplit(" ", 1)[1]) for x in lines if 'result="error"' in x)


def test_the_charts_client_values_reach_every_client_assume_role_included(
    kube: Kube,
    operator_kubeconfig: Path,
    control: EmulatorControl,
    tmp_path: Path,
    started: list[Operator],
) -> None:
    """Row 2. Non-default values through the chart: a 2 s read timeout and 4 attempts. The
    first call of each client hangs 6 s, then answers 500 twice: only a client with both
    values gets through it in one reconcile (the default 10 s timeout would wait for the
    slow answer, the default 3 attempts would give up on the second 500)."""
    for service, operation, region in CLIENTS:
        fault = control.add_fault
        fault("latency", service=service, operation=operation, region=region, latency_seconds=6)
        fault("internal", service=service, operation=operation, region=region, count=2)
    op = start(
        started,
        operator_kubeconfig,
        control,
        tmp_path,
        {"aws.readTimeout": "2", "aws.maxAttempts": "4", "aws.connectTimeout": "2"},
    )
    kube.apply(adopting(credentials={"roleARN": _role(control)}))
    kube.wait_reason(NAME, "Reconciled", timeout=120)
    # The slow first answers are logged when they end, after the client gave up on them.
    wait_for("every slow answer logged", lambda: _attempts(control) == _expected(), timeout=30)
    calls = control.calls()
    for service, operation, region in CLIENTS:
        mine = [
            c
            for c in calls
            if (c["service"], c["operation"], c["region"]) == (service, operation, region)
        ]
        slow = next(c for c in mine if c["fault"] == "latency")
        retried = [c for c in mine if c["started"] > slow["started"]]
        # The retry went out while the slow answer was still pending: the read timeout.
        assert retried and retried[0]["started"] < slow["ended"], (operation, region, mine)
    assert errors(op) == 0, "a call gave up before its fourth attempt"


def _attempts(control: EmulatorControl) -> dict[tuple[str, str, str], int]:
    seen: dict[tuple[str, str, str], int] = {}
    for c in control.calls():
        key = (c["service"], c["operation"], c["region"])
        if key in CLIENTS and c["fault"] is not None:
            seen[key] = seen.get(key, 0) + 1
    return seen


def _expected() -> dict[tuple[str, str, str], int]:
    return dict.fromkeys(CLIENTS, 3)


def test_an_administrator_deregistered_outside_is_registered_again_at_one_recheck(
    kube: Kube, operator: Operator, control: EmulatorControl
) -> None:
    """Row 20. The administrator itself deregistered behind the operator's back: a Drifted
    Event naming what changed, and the re-registration sent by the first reconcile that began after
    the deregistration (no reconcile in between that saw the drift and let it be)."""
    kube.apply(adopting())
    kube.wait_reason(NAME, "Reconciled")
    control.clear_calls()
    aws(control, "auditmanager").deregister_organization_admin_account(adminAccountId=AUDIT)
    wait_for(
        "the administrator registered again",
        lambda: admin_in(control, "us-east-1") == AUDIT,
        timeout=6 * RESYNC_SECONDS,
    )
    wait_for(
        "a Drifted Event naming what changed",
        lambda: any(
            e["reason"] == "Drifted" and "us-east-1: no delegated administrator" in e["message"]
            for e in kube.events(NAME)
        ),
        timeout=30,
    )
    calls = control.calls()
    (gone,) = [c for c in calls if c["operation"] == "DeregisterOrganizationAdminAccount"]
    (again,) = [c for c in calls if c["operation"] == "RegisterOrganizationAdminAccount"]
    between = [
        c
        for c in calls
        if c["operation"] == "DescribeOrganization"
        and gone["ended"] < c["started"] < again["started"]
    ]
    assert len(between) <= 1, f"{len(between)} reconciles before the re-registration"
    assert [w for w in writes(control) if w[0].startswith("Register")] == [
        ("RegisterOrganizationAdminAccount", "us-east-1")
    ], writes(control)


@pytest.mark.slow
def test_a_stuck_reconcile_fails_healthz_and_it_recovers(
    kube: Kube,
    operator_kubeconfig: Path,
    control: EmulatorControl,
    tmp_path: Path,
    started: list[Operator],
) -> None:
    """Row 16, end to end: a reconcile held past the chart's `stuckSeconds` (its minimum,
    60 s) by AWS reads that answer after 40 s each makes /healthz fail; when the reconcile
    ends, /healthz recovers by itself. The API server stays up throughout, so the failure
    is the watchdog's."""
    op = start(
        started,
        operator_kubeconfig,
        control,
        tmp_path,
        {"operator.stuckSeconds": "60", "aws.readTimeout": "50", "aws.maxAttempts": "1"},
    )
    for operation in ("DescribeOrganization", "ListDelegatedAdministrators"):
        control.add_fault("latency", operation=operation, latency_seconds=40, count=1)
    kube.apply(adopting())
    wait_for("the reconcile to be stuck", lambda: op.healthz() == 500, timeout=150)
    assert not kube.condition(NAME), "the reconcile had ended: the failure was not its"
    wait_for("/healthz to recover", lambda: op.healthz() == 200, timeout=120)
    kube.wait_reason(NAME, "Reconciled", timeout=60)


STALE_SECONDS = 30


def test_killed_after_a_write_the_in_flight_record_keeps_it_from_being_sent_again(
    kube: Kube, operator: Operator, control: EmulatorControl
) -> None:
    """Row 10, deterministic: killed while eu-west-1's registration is in flight, the operator
    restarts into reads that still show the account unregistered (AWS's reads lag a write,
    here for 30 s). Only the in-flight record written before the write keeps it from being
    sent again; the first reads after the restart fall in the lag, as the call log shows."""
    control.reset(seed="empty", maintenance_mode=False)
    control.configure(stale_read_seconds=STALE_SECONDS)
    # The fault is consumed when the request reaches the emulator: once it is gone, the write
    # is sent and not yet answered, and the kill lands there, whatever the machine's speed.
    control.add_fault(
        "latency",
        service="auditmanager",
        operation="RegisterAccount",
        region="eu-west-1",
        latency_seconds=8,
    )
    kube.apply(adopting())
    wait_for("eu-west-1's registration sent", lambda: not control.faults(), timeout=30)
    operator.kill()
    operator.start()
    wait_for(
        "Reconciled, or the registration sent again",
        lambda: kube.condition(NAME).get("reason") == "Reconciled" or len(_sent(control)) > 1,
        timeout=6 * RESYNC_SECONDS,
    )
    calls = control.calls()
    registrations = _sent(control)
    assert len(registrations) == 1, f"sent {len(registrations)} times: {writes(control)}"
    sent = registrations[0]
    lagging = [
        c
        for c in calls
        if c["operation"] == "GetAccountStatus"
        and _eu(c)
        and sent["ended"] < c["started"] < sent["ended"] + STALE_SECONDS
    ]
    assert lagging, "no read fell in the lag: the record was not needed"
    assert all(admin_in(control, r) == AUDIT for r in REGIONS)


def _sent(control: EmulatorControl) -> list[CallRecord]:
    calls = control.calls()
    return [c for c in calls if c["operation"] == "RegisterAccount" and _eu(c)]


def _eu(call: Mapping[str, object]) -> bool:
    return call["region"] == "eu-west-1"
