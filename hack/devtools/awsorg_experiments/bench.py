"""The benchmark (issue 9): the operator, run as the chart runs it, against the local control
plane and the AWS emulator with an injected per-call latency.

    python -m awsorg_experiments.bench --label after --out .work/bench [--quick]

Measures, in one run on this machine:
- time from the create request (what `kubectl apply` sends) to `Ready=True`, p50 and p95 over
  trials, for an adoption (0 writes) and a set-up from nothing, per Region count and latency;
- AWS calls per steady re-check, by operation;
- N organizations (one resource each, reached through `credentials.roleARN`): how long one
  re-check of all of them takes when they come due together, the operator's RSS, CPU seconds
  and threads.
Writes `<out>/<label>.json`; `awsorg_generators.bench_report` turns the labels into
`docs/performance.md` and its plot. Nothing here asserts a speed: it measures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, cast

from kubernetes import client, config

from awsorg_devbase import wait_for
from awsorg_devstack.probing import EndpointPoller
from awsorg_devstack.profiler import Profile
from awsorg_devstack.stack import Operator, install_crd_and_rbac
from awsorg_emulator import EmulatorControl, EmulatorProcess
from awsorg_emulator.schema import CallRecord, OrganizationSeedView
from awsorg_localcluster import LocalControlPlane

GROUP, VERSION, PLURAL = "awsorg.io", "v1alpha1", "auditmanagerorgconfigs"
# Twelve Regions the CRD accepts; the first N are used for an N-Region trial.
REGIONS = (
    "us-east-1",
    "eu-west-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "eu-west-2",
    "eu-central-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
)
# The longest chain of AWS calls that must wait for each other in a new resource's first
# reconcile through credentials.roleARN, per mode, as the code measured derives it
# (docs/performance.md, "The critical path"); written into each run's results.
CRITICAL_PATH_CALLS = {"adopt": 3, "setup": 5}
MUTATING = ("Register", "Deregister", "Enable", "Disable", "Update")
MODES = ("adopt", "setup")
READY_TIMEOUT = 300.0


@dataclass(frozen=True)
class Plan:
    """What one run measures."""

    regions: tuple[int, ...]
    latencies_ms: tuple[int, ...]
    trials: int
    orgs: tuple[int, ...]
    org_latency_ms: int = 100
    org_regions: int = 2
    profile: bool = False


# RSS per organization count, 1 to 1000, is what the chart's sizing table is made from.
FULL = Plan(regions=(1, 2, 10), latencies_ms=(0, 50, 150), trials=5, orgs=(1, 10, 100, 1000))
QUICK = Plan(regions=(1, 2), latencies_ms=(0, 50), trials=2, orgs=(3,))


@dataclass
class ReadyTrials:
    mode: str
    regions: int
    latency_ms: int
    seconds: list[float] = field(default_factory=list)
    aws_calls: list[int] = field(default_factory=list)
    aws_writes: list[int] = field(default_factory=list)


@dataclass
class OrgsRun:
    organizations: int
    regions: int
    latency_ms: int
    recheck_seconds: float  # first call to last answer of the re-check of all of them
    recheck_calls: int
    recheck_writes: int
    calls_by_operation: dict[str, float]  # per organization
    cpu_seconds: float  # operator CPU over the re-check window
    rss_mib: float
    threads: int
    first_reconcile_seconds: float  # start to every resource Ready (claims, AssumeRole, ...)
    # The slowest answer of /healthz and /metrics, polled every second during the re-check;
    # a poll unanswered after 10 s counts as missed (and as 10 s).
    healthz_slowest_seconds: float = 0.0
    metrics_slowest_seconds: float = 0.0
    endpoint_polls: int = 0
    endpoint_missed: int = 0
    # py-spy over the re-check (--profile): the share of CPU samples by function.
    profile: dict[str, list[tuple[str, float]]] = field(default_factory=dict)


@dataclass
class Results:
    label: str
    date: str
    cores: int
    load_average: list[float]
    versions: dict[str, str]
    ready: list[ReadyTrials] = field(default_factory=list)
    orgs: list[OrgsRun] = field(default_factory=list)
    load_after: list[float] = field(default_factory=list)
    critical_path_calls: dict[str, int] = field(default_factory=lambda: dict(CRITICAL_PATH_CALLS))


class Bench:
    def __init__(self, cp: LocalControlPlane, emulator: EmulatorProcess, out: Path) -> None:
        self.cp = cp
        self.aws: EmulatorControl = emulator.control
        self.endpoint = emulator.endpoint_url
        self.out = out
        self.kubeconfig = install_crd_and_rbac(cp)
        config.load_kube_config(str(cp.kubeconfig))  # type: ignore[no-untyped-call]
        self.api = client.CustomObjectsApi()

    @contextmanager
    def operator(self, name: str, resync_seconds: int = 300) -> Iterator[Operator]:
        values = {"operator.resyncSeconds": str(resync_seconds), "operator.logFormat": "json"}
        op = Operator(self.kubeconfig, self.endpoint, self.out / f"operator-{name}.log", values)
        op.start()
        try:
            yield op
        finally:
            op.stop()

    # ----- time to Ready ------------------------------------------------------------------

    def one_ready(self, mode: str, regions: int, latency_ms: int, n: int) -> tuple[float, int, int]:
        """One resource from nothing to Ready; returns seconds, AWS calls, AWS writes."""
        self.aws.reset(seed="existing-customer", maintenance_mode=mode == "adopt")
        listed = list(REGIONS[:regions])
        (org,) = self.aws.add_organizations(1, listed, adopted=mode == "adopt")
        self.aws.configure(latency_seconds=latency_ms / 1000)
        name = f"bench-{mode}-{regions}-{latency_ms}-{n}"
        started = time.monotonic()
        self.create(name, org, listed)
        wait_for(f"{name} Ready", lambda: self.is_ready(name), READY_TIMEOUT, every=0.02)
        seconds = time.monotonic() - started
        calls = self.aws.calls()
        self.delete(name)
        return seconds, len(calls), len(writes_of(calls))

    # ----- many organizations -------------------------------------------------------------

    def orgs_run(self, plan: Plan, count: int) -> OrgsRun:
        """`count` adopted organizations, one resource each; the operator starts with all of
        them present, so their re-check timers come due together one interval later."""
        self.aws.reset(seed="existing-customer")
        listed = list(REGIONS[: plan.org_regions])
        orgs = self.aws.add_organizations(count, listed, adopted=True)
        self.aws.configure(latency_seconds=plan.org_latency_ms / 1000)
        names = [f"bench-org-{i}" for i in range(count)]
        for name, org in zip(names, orgs, strict=True):
            self.create(name, org, listed)
        # Long enough for the first reconcile of every resource to end before the re-checks.
        resync = max(20, int(count * 0.6))
        with self.operator(f"orgs-{count}", resync_seconds=resync) as op:
            start = time.monotonic()
            wait_for("every resource Ready", lambda: self.all_ready(names), resync * 10, 0.5)
            first = time.monotonic() - start
            self.aws.clear_calls()
            base = reconciles(op)
            cpu0 = cpu_seconds(op)
            with self.watching(op, plan.profile, count) as (poller, profile):
                wait_for(
                    f"{count} re-checks",
                    lambda: reconciles(op) >= base + count,
                    resync * 10 + READY_TIMEOUT,
                    1.0,
                )
            cpu = cpu_seconds(op) - cpu0
            status = proc_status(op)
            calls = self.aws.calls()
            for name in names:  # while the operator runs: it removes the finalizers
                self.delete(name, wait=False)
            wait_for("resources gone", lambda: not self.list_names(), READY_TIMEOUT, 0.5)
        span = max(c["ended"] for c in calls) - min(c["started"] for c in calls)
        ops = Counter(c["operation"] for c in calls)
        return OrgsRun(
            organizations=count,
            regions=plan.org_regions,
            latency_ms=plan.org_latency_ms,
            recheck_seconds=round(span, 3),
            recheck_calls=len(calls),
            recheck_writes=len(writes_of(calls)),
            calls_by_operation={k: round(v / count, 2) for k, v in sorted(ops.items())},
            cpu_seconds=round(cpu, 2),
            rss_mib=round(int(status["VmRSS"].split()[0]) / 1024, 1),
            threads=int(status["Threads"]),
            first_reconcile_seconds=round(first, 2),
            healthz_slowest_seconds=round(poller.answers["healthz"].slowest_seconds, 3),
            metrics_slowest_seconds=round(poller.answers["metrics"].slowest_seconds, 3),
            endpoint_polls=sum(a.polls for a in poller.answers.values()),
            endpoint_missed=sum(a.missed for a in poller.answers.values()),
            profile={**profile.top(), "layers": by_layer(profile.out)} if profile else {},
        )

    @contextmanager
    def watching(
        self, op: Operator, profile: bool, count: int
    ) -> Iterator[tuple[EndpointPoller, Profile | None]]:
        """The endpoints polled (and the operator sampled by py-spy) while the block runs."""
        urls = {
            "healthz": f"http://127.0.0.1:{op.health_port}/healthz",
            "metrics": f"http://127.0.0.1:{op.metrics_port}/metrics",
        }
        pid = op.process.pid
        assert pid is not None
        # /healthz as often as a kubelet could probe it, /metrics as often as Prometheus
        # scrapes at its most eager (the chart's ServiceMonitor scrapes every 30 s).
        with EndpointPoller(urls, every={"healthz": 1.0, "metrics": 5.0}) as poller:
            if not profile:
                yield poller, None
                return
            with Profile(pid, self.out / f"profile-{count}.txt") as sampled:
                yield poller, sampled

    # ----- Kubernetes ---------------------------------------------------------------------

    def create(self, name: str, org: OrganizationSeedView, regions: list[str]) -> None:
        body = resource(name, org, regions)
        self.api.create_cluster_custom_object(GROUP, VERSION, PLURAL, body)

    def get(self, name: str) -> dict[str, Any]:
        return cast(
            dict[str, Any], self.api.get_cluster_custom_object(GROUP, VERSION, PLURAL, name)
        )

    def items(self) -> list[dict[str, Any]]:
        listed = cast(dict[str, Any], self.api.list_cluster_custom_object(GROUP, VERSION, PLURAL))
        return cast(list[dict[str, Any]], listed["items"])

    def is_ready(self, name: str) -> bool:
        return ready_of(self.get(name))

    def all_ready(self, names: Sequence[str]) -> bool:
        ready = {i["metadata"]["name"] for i in self.items() if ready_of(i)}
        return ready >= set(names)

    def list_names(self) -> list[str]:
        return [str(i["metadata"]["name"]) for i in self.items()]

    def delete(self, name: str, wait: bool = True) -> None:
        # deletionPolicy Retain: the operator only releases the claim and the finalizer.
        self.api.delete_cluster_custom_object(GROUP, VERSION, PLURAL, name)
        if wait:
            wait_for(f"{name} gone", lambda: name not in self.list_names(), READY_TIMEOUT, 0.05)


def resource(name: str, org: OrganizationSeedView, regions: list[str]) -> dict[str, Any]:
    """The benchmark's resource: adopt the organization through its role."""
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "AuditManagerOrgConfig",
        "metadata": {"name": name},
        "spec": {
            "trustedAccess": "Enabled",
            "delegatedAdminAccountID": org["adminAccountID"],
            "regions": regions,
            "kmsKey": "DEFAULT",
            "credentials": {"roleARN": org["roleARN"]},
        },
    }


def ready_of(item: dict[str, Any]) -> bool:
    conditions = item.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def writes_of(calls: list[CallRecord]) -> list[CallRecord]:
    return [c for c in calls if c["operation"].startswith(MUTATING)]


def proc_status(op: Operator) -> dict[str, str]:
    pid = op.process.pid
    assert pid is not None
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {k: v.strip() for k, _, v in (line.partition(":") for line in lines)}


def cpu_seconds(op: Operator) -> float:
    pid = op.process.pid
    assert pid is not None
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # utime and stime are the 14th and 15th fields of /proc/PID/stat (the 12th and 13th
    # after the command name), in clock ticks.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reconciles(op: Operator) -> float:
    total = 0.0
    # Only the one family: a full read costs the operator CPU in proportion to its resources,
    # and a bench that read everything five times a second measured its own reads. A
    # generous timeout: how long /metrics takes is what the poller measures.
    count = "awsorg_reconcile_duration_seconds_count"
    for line in op.metrics(timeout=60, names=(count,)).splitlines():
        if line.startswith(count):
            total += float(line.rsplit(" ", 1)[1])
    return total


# Where a CPU sample belongs, by the frames on its stack: the first layer whose markers match
# wins. "Leaf" markers are matched only against the last two frames (every thread's stack
# starts in threading.py). Frames of our own on the event loop count as the reconcile.
LAYERS: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("/metrics rendering", ("prometheus_client/exposition.py", "metrics_endpoint.py"), False),
    ("AWS calls: HTTP (connect, send, read)", ("botocore/httpsession.py", "urllib3/"), False),
    ("AWS calls: SigV4 signing", ("botocore/auth.py", "botocore/signers.py"), False),
    ("AWS calls: rest of botocore (hooks, serialise, parse, retries)", ("botocore/",), False),
    ("Kubernetes API client (Leases, status journal, probe)", ("kubernetes/",), False),
    ("thread hand-offs (call pool, futures, locks)", ("concurrent/", "threading.py"), True),
    ("logging", ("logging/", "pythonjsonlogger/"), False),
    ("the reconcile (survey, plan, report, pydantic, series)", ("awsorg_operator/",), False),
    ("kopf, asyncio, aiohttp (event loop, timers, watches)", ("kopf/", "asyncio/"), False),
)


def layer_of(frames: list[str]) -> str:
    for name, markers, leaf in LAYERS:
        looked = frames[-2:] if leaf else frames
        if any(m in f and "__main__.py" not in f for f in looked for m in markers):
            return name
    return "other"


def by_layer(raw: Path) -> list[tuple[str, float]]:
    """py-spy's collapsed stacks (`--format raw`) as shares of CPU samples by layer."""
    counts: Counter[str] = Counter()
    text = raw.read_text() if raw.exists() else ""
    for line in text.splitlines():
        stack, _, n = line.rpartition(" ")
        if stack and n.isdigit():
            counts[layer_of(stack.split(";"))] += int(n)
    total = sum(counts.values()) or 1
    return [(name, round(n / total, 3)) for name, n in counts.most_common()]


def versions() -> dict[str, str]:
    from importlib.metadata import version

    found = {"python": platform.python_version()}
    for package in ("awsorg-operator", "kopf", "boto3", "moto", "kubernetes"):
        found[package] = version(package)
    return found


def run(plan: Plan, label: str, out: Path) -> Results:
    out = out.resolve()  # the control plane's processes run elsewhere
    out.mkdir(parents=True, exist_ok=True)
    results = Results(
        label=label,
        date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        cores=os.cpu_count() or 0,
        load_average=[round(x, 2) for x in os.getloadavg()],
        versions=versions(),
    )
    with (
        LocalControlPlane(workdir=out / "control-plane") as cp,
        EmulatorProcess(log_path=out / "aws-emulator.log") as emulator,
    ):
        bench = Bench(cp, emulator, out)
        with bench.operator("ready"):
            for mode in MODES:
                for regions in plan.regions:
                    for latency in plan.latencies_ms:
                        trials = ReadyTrials(mode, regions, latency)
                        for n in range(plan.trials):
                            seconds, calls, writes = bench.one_ready(mode, regions, latency, n)
                            trials.seconds.append(round(seconds, 3))
                            trials.aws_calls.append(calls)
                            trials.aws_writes.append(writes)
                        print(json.dumps(asdict(trials)), flush=True)
                        results.ready.append(trials)
        for count in plan.orgs:
            run_ = bench.orgs_run(plan, count)
            print(json.dumps(asdict(run_)), flush=True)
            results.orgs.append(run_)
    results.load_after = [round(x, 2) for x in os.getloadavg()]
    (out / f"{label}.json").write_text(json.dumps(asdict(results), indent=1))
    return results


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile: with few trials, p95 is the slowest one."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--label", required=True, help="before, after, ...: names the JSON file")
    p.add_argument("--out", type=Path, default=Path(".work/bench"))
    p.add_argument("--quick", action="store_true", help="few trials, small N (CI)")
    p.add_argument("--trials", type=int, help="trials per time-to-Ready cell")
    p.add_argument("--orgs", help='organization counts, e.g. 10,100,1000; "" for none')
    p.add_argument("--orgs-only", action="store_true", help="skip the time-to-Ready trials")
    p.add_argument("--profile", action="store_true", help="py-spy over each re-check of all")
    args = p.parse_args()
    plan = QUICK if args.quick else FULL
    if args.trials:
        plan = Plan(plan.regions, plan.latencies_ms, args.trials, plan.orgs)
    if args.orgs is not None:  # "": no N-organizations run, time to Ready only
        counts = tuple(int(x) for x in args.orgs.split(",") if x)
        plan = Plan(plan.regions, plan.latencies_ms, plan.trials, counts)
    if args.orgs_only:
        plan = Plan((), plan.latencies_ms, plan.trials, plan.orgs)
    if args.profile:
        plan = replace(plan, profile=True)
    run(plan, args.label, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
