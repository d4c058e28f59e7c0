"""A soak: the operator runs for MINUTES against the local control plane and the emulator
while the API server restarts, AWS faults come and go and AWS drifts behind its back.

    python -m awsorg_experiments.soak --minutes 60 --out .work/soak

It samples the operator's RSS, open file descriptors, threads, reconcile counter and /healthz
every few seconds and fails (exit 1) on:
- a rising memory trend: the least-squares slope of RSS after warm-up above
  `SLOPE_BOUND_MIB_PER_HOUR` plus three standard errors (a slope bound, not a size limit);
- a stalled reconcile counter: no reconcile within two re-check intervals, outside the
  recovery window after a fault;
- an unhealthy /healthz outside the recovery window after a fault;
- a duplicated AWS write: exactly one re-registration per drift made, and no other write.
It writes `soak.json` (every sample) and `soak.md` (the figures) into --out.
"""

from __future__ import annotations

import argparse
import bisect
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from awsorg_devstack.stack import Operator, install_crd_and_rbac
from awsorg_emulator import AUDIT_ACCOUNT_ID, EmulatorControl, EmulatorProcess
from awsorg_localcluster import LocalControlPlane

RESYNC_SECONDS = 10  # the chart's minimum
SAMPLE_SECONDS = 2.0
FIRST_FAULT_SECONDS = 20.0  # the resources settle first
FAULT_SECONDS = 75.0  # one fault every this often
FAULT_LASTS = 15.0  # then AWS answers again
# After a fault starts, the operator may be unhealthy or idle this long: the fault itself,
# then backoff (5 s doubling, with jitter) until the next try succeeds.
RECOVERY_SECONDS = 45.0
# Between one fault's recovery and the next fault: 30 s of quiet, longer than the stall check's
# window of two re-check intervals, so the stall and /healthz checks judge every cycle.
QUIET_SECONDS = FAULT_SECONDS - RECOVERY_SECONDS
SLOPE_BOUND_MIB_PER_HOUR = 10.0
RESOURCES = ("soak-owner", "soak-second", "soak-third")  # one owns, the others conflict
REGIONS = ["us-east-1", "eu-west-1"]
MUTATING = ("Register", "Deregister", "Enable", "Disable", "Update")


@dataclass
class Sample:
    t: float
    rss_mib: float
    fds: int
    threads: int
    reconciles: float
    healthz: int | None


@dataclass
class Soak:
    cp: LocalControlPlane
    aws: EmulatorControl
    operator: Operator
    samples: list[Sample] = field(default_factory=list)
    faults: list[tuple[float, str]] = field(default_factory=list)
    drifts: int = 0
    writes: list[dict[str, str]] = field(default_factory=list)

    def sample(self, t: float) -> None:
        pid = self.operator.process.pid
        assert pid is not None and self.operator.process.running, "the operator died"
        status = _proc_status(pid)
        self.samples.append(
            Sample(
                t,
                int(status["VmRSS"].split()[0]) / 1024,
                len(list(Path(f"/proc/{pid}/fd").iterdir())),
                int(status["Threads"]),
                _reconciles(self.operator),
                self.operator.healthz(timeout=4),
            )
        )

    def collect_writes(self) -> None:
        calls = self.aws.calls()
        self.aws.clear_calls()
        ok = [c for c in calls if c["operation"].startswith(MUTATING) and c["outcome"] == "ok"]
        self.writes += [{"operation": c["operation"], "region": c["region"]} for c in ok]


FAULTS: list[tuple[str, Callable[[Soak], object]]] = [
    ("API server restart", lambda s: s.cp.restart_apiserver()),
    (
        "drift: eu-west-1 administrator deregistered",
        lambda s: _deregister(s),
    ),
    (
        "Audit Manager throttling storm",
        lambda s: s.aws.add_fault("throttle", service="auditmanager", count=10**6),
    ),
    (
        "Organizations 5xx",
        lambda s: s.aws.add_fault("internal", service="organizations", count=10**6),
    ),
    (
        "eu-west-1 hangs",
        lambda s: s.aws.add_fault(
            "latency", service="auditmanager", region="eu-west-1", latency_seconds=15, count=10**6
        ),
    ),
]


def _deregister(s: Soak) -> None:
    import boto3

    am = boto3.client(
        "auditmanager",
        region_name="eu-west-1",
        endpoint_url=s.aws.endpoint_url,
        aws_access_key_id="123456789012",
        aws_secret_access_key="x",
    )
    am.deregister_organization_admin_account(adminAccountId=AUDIT_ACCOUNT_ID)
    s.drifts += 1
    s.aws.clear_calls()  # our own deregistration is not the operator's write


def run(minutes: float, out: Path) -> dict[str, object]:
    out.mkdir(parents=True, exist_ok=True)
    with (
        LocalControlPlane(workdir=out / "control-plane") as cp,
        EmulatorProcess(log_path=out / "aws-emulator.log") as emulator,
    ):
        kubeconfig = install_crd_and_rbac(cp)
        values = {"operator.resyncSeconds": str(RESYNC_SECONDS), "operator.logFormat": "json"}
        operator = Operator(kubeconfig, emulator.endpoint_url, out / "operator.log", values)
        operator.start()
        try:
            soak = Soak(cp, emulator.control, operator)
            _apply(cp)
            _loop(soak, minutes * 60)
            soak.collect_writes()
        finally:
            operator.stop()
    report = _judge(soak, minutes)
    (out / "soak.json").write_text(
        json.dumps({**report, "samples": [asdict(x) for x in soak.samples]}, indent=1)
    )
    (out / "soak.md").write_text(_markdown(report))
    return report


def _apply(cp: LocalControlPlane) -> None:
    for name in RESOURCES:
        spec = {
            "trustedAccess": "Enabled",
            "delegatedAdminAccountID": AUDIT_ACCOUNT_ID,
            "regions": REGIONS,
        }
        body = {"apiVersion": "awsorg.io/v1alpha1", "kind": "AuditManagerOrgConfig"}
        cp.kubectl(
            "apply", "-f", "-", input=json.dumps({**body, "metadata": {"name": name}, "spec": spec})
        )


def _loop(soak: Soak, seconds: float) -> None:
    start = time.monotonic()
    next_fault, next_sample, n, fault_ends = start + FIRST_FAULT_SECONDS, start, 0, float("inf")
    while (now := time.monotonic()) < start + seconds:
        if now >= next_sample:
            soak.sample(now - start)
            # Samples missed while an injection held the loop are skipped, not caught up.
            next_sample = max(next_sample + SAMPLE_SECONDS, now)
        if now >= fault_ends:
            soak.aws.clear_faults()
            fault_ends = float("inf")
        if now >= next_fault and now < start + seconds - RECOVERY_SECONDS:
            soak.collect_writes()
            fault_ends = now + FAULT_LASTS
            name, inject = FAULTS[n % len(FAULTS)]
            soak.faults.append((now - start, name))
            inject(soak)
            n += 1
            next_fault += FAULT_SECONDS
        time.sleep(0.2)


def _judge(s: Soak, minutes: float) -> dict[str, object]:
    failures: list[str] = []
    # Warm-up: until every kind of fault has come once (each loads code and fills caches the
    # first time); the slope is fitted over everything after it, to the end of the run.
    firsts = {name: t for t, name in reversed(s.faults)}
    warm_up = max(firsts.values(), default=0.0) + FAULT_LASTS
    warm = [x for x in s.samples if x.t > warm_up]
    slope, error = _slope([x.t / 3600 for x in warm], [x.rss_mib for x in warm])
    bound = SLOPE_BOUND_MIB_PER_HOUR + 3 * error
    if slope > bound:
        failures.append(f"RSS rises {slope:.1f} MiB/h (bound {bound:.1f})")

    def quiet(t: float) -> bool:
        return all(not (f <= t <= f + RECOVERY_SECONDS) for f, _ in s.faults)

    judged = [x for x in s.samples if quiet(x.t)]
    unhealthy = [x.t for x in judged if x.healthz != 200]
    if unhealthy:
        failures.append(f"/healthz unhealthy outside recovery at t={unhealthy[:5]}")
    window = 2 * RESYNC_SECONDS
    # Each sample against the last one a window earlier, found by time: samples are not evenly
    # spaced (a fault's injection can hold the loop, and a restart's recovery is sampled dense).
    times = [x.t for x in s.samples]
    earlier = [bisect.bisect_right(times, b.t - window) - 1 for b in s.samples]
    spans = [
        (s.samples[i], b)
        for i, b in zip(earlier, s.samples, strict=True)
        if i >= 0 and quiet(s.samples[i].t) and quiet(b.t)
    ]
    stalls = [b.t for a, b in spans if b.reconciles <= a.reconciles]
    if stalls:
        failures.append(f"no reconcile for {window} s at t={stalls[:5]}")
    if s.faults and not [a for a, _ in spans if a.t > s.faults[0][0]]:
        # Faults spaced too closely leave no quiet time: the checks above could not fire.
        failures.append(
            "no quiet window after a fault: the stall and /healthz checks judged nothing"
        )
    registers = [w for w in s.writes if w["operation"] == "RegisterOrganizationAdminAccount"]
    others = [w for w in s.writes if w["operation"] != "RegisterOrganizationAdminAccount"]
    if len(registers) != s.drifts or others:
        failures.append(
            f"{len(registers)} re-registrations for {s.drifts} drifts, other writes: {others}"
        )
    first, last = s.samples[0], s.samples[-1]
    return {
        "date": time.strftime("%Y-%m-%d"),
        "minutes": minutes,
        "passed": not failures,
        "failures": failures,
        "faults": len(s.faults),
        "fault_kinds": sorted({name for _, name in s.faults}),
        "drifts": s.drifts,
        "writes": len(s.writes),
        "rss_mib": [round(first.rss_mib, 1), round(last.rss_mib, 1)],
        "rss_slope_mib_per_hour": round(slope, 2),
        "rss_slope_bound": round(bound, 2),
        "fds": [first.fds, last.fds],
        "threads": [first.threads, last.threads],
        "reconciles": last.reconciles,
        "samples": len(s.samples),
        "quiet_samples": len(judged),
        "stall_windows_judged": len(spans),
        "fault_times": [(round(t), name) for t, name in s.faults],
    }


def _slope(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least-squares slope and its standard error."""
    if len(xs) < 3:
        return 0.0, float("inf")
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    residual = sum((y - my - slope * (x - mx)) ** 2 for x, y in zip(xs, ys, strict=True))
    return slope, (residual / (len(xs) - 2) / sxx) ** 0.5


def _proc_status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {k: v.strip() for k, _, v in (line.partition(":") for line in lines)}


def _reconciles(operator: Operator) -> float:
    total = 0.0
    for line in operator.metrics().splitlines():
        if line.startswith("awsorg_reconcile_duration_seconds_count"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _markdown(r: dict[str, object]) -> str:
    rows = "\n".join(f"| {k} | {v} |" for k, v in r.items())
    return f"| measure | value |\n| --- | --- |\n{rows}\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--minutes", type=float, required=True)
    p.add_argument("--out", type=Path, default=Path(".work/soak"))
    args = p.parse_args()
    report = run(args.minutes, args.out)
    print(json.dumps(report, indent=1))
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
