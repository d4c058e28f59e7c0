"""The soak's judge (`awsorg_experiments.soak`, reliability row 15) on the samples of a healthy
and of a broken operator: with the soak's fault spacing its stall and /healthz checks fire
when the operator stops reconciling or turns unhealthy, and spacing that leaves no quiet time
is itself a failure, never a pass."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import pytest

from awsorg_experiments import soak
from awsorg_experiments.soak import FAULTS, Sample, Soak

pytestmark = pytest.mark.unit

MINUTES = 7


def run(
    stalls_at: float | None = None,
    unhealthy_at: float | None = None,
    first: float = soak.FIRST_FAULT_SECONDS,
    every: float = soak.FAULT_SECONDS,
    step: Callable[[float], float] = lambda t: soak.SAMPLE_SECONDS,
) -> dict[str, object]:
    nothing = cast(Any, None)
    s = Soak(nothing, nothing, nothing)
    # As the soak's loop injects them: in turn, until one recovery before the end.
    starts = [first + k * every for k in range(int(MINUTES * 60 / every) + 1)]
    ends = MINUTES * 60 - soak.RECOVERY_SECONDS
    s.faults = [(f, FAULTS[k % len(FAULTS)][0]) for k, f in enumerate(starts) if f < ends]
    t = 0.0
    while t < MINUTES * 60:
        recovering = any(f <= t <= f + soak.FAULT_LASTS for f, _ in s.faults)
        counted = min(t, stalls_at) if stalls_at is not None else t
        broken = unhealthy_at is not None and t >= unhealthy_at
        s.samples.append(
            Sample(t, 80.0, 12, 9, counted // 10, 500 if recovering or broken else 200)
        )
        t += step(t)
    return soak._judge(s, MINUTES)


def test_a_healthy_operator_passes_and_every_cycle_is_judged() -> None:
    report = run()
    assert report["passed"], report["failures"]
    assert cast(int, report["stall_windows_judged"]) >= len(FAULTS)


@pytest.mark.parametrize(
    ("broken", "words"),
    [({"stalls_at": 200.0}, "no reconcile for"), ({"unhealthy_at": 200.0}, "/healthz unhealthy")],
)
def test_a_broken_operator_fails_between_faults(broken: dict[str, float], words: str) -> None:
    report = run(stalls_at=broken.get("stalls_at"), unhealthy_at=broken.get("unhealthy_at"))
    assert not report["passed"]
    assert any(words in f for f in cast(list[str], report["failures"])), report["failures"]


def test_faults_spaced_with_no_quiet_time_fail_rather_than_pass() -> None:
    """The old spacing (a fault every 45 s, 45 s of recovery) judged nothing after the first
    fault: an operator that stalled after a minute passed."""
    report = run(stalls_at=60.0, first=45.0, every=45.0)
    failures = cast(list[str], report["failures"])
    assert not report["passed"] and not any("no reconcile" in f for f in failures)
    assert any("judged nothing" in f for f in failures), failures


def dense_after_faults(t: float) -> float:
    """As a soak whose API server restart held its loop: no sample for 40 s after a fault,
    then samples every 0.2 s for 10 s, then every 2 s again."""
    since = (t - soak.FIRST_FAULT_SECONDS) % soak.FAULT_SECONDS
    if t < soak.FIRST_FAULT_SECONDS or since >= 50:
        return soak.SAMPLE_SECONDS
    return 40.0 - since if since < 40 else 0.2


def test_samples_unevenly_spaced_are_judged_over_the_window_in_seconds() -> None:
    """A window counted in samples (ten of 2 s) shrank to 2 s where samples came dense, and
    failed a healthy operator; by time it judges the same 20 s wherever the samples fall."""
    report = run(step=dense_after_faults)
    assert report["passed"], report["failures"]
    stalled = run(stalls_at=200.0, step=dense_after_faults)
    assert any("no reconcile" in f for f in cast(list[str], stalled["failures"]))
