"""The chart's memory sizing, measured on the one-node cluster (hack/node-sizing.sh):

    python -m awsorg_experiments.nodesizing --orgs 1,10,100,1000 --out .work/node-sizing

For each organization count: the chart installed with `helm install` (a limit far above any
need, so that the kernel's high-water mark is the operator's, not the limit's), N organizations
made as :class:`.nodememory.Load` makes them, every resource Ready, one re-check of all; then
the container's peak memory, the release uninstalled and the resources removed. Writes
``sizing.json`` and ``sizing.md`` (the table docs/configuration.md shows) into the folder.
Nothing here asserts: tests/node/test_memory.py holds the chart's defaults to the result.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from awsorg_devstack import REPO, build_image
from awsorg_devstack.stack import aws_credentials
from awsorg_emulator import MANAGEMENT_ACCOUNT_ID, EmulatorProcess
from awsorg_localcluster import LocalNode, tool_path

from .nodememory import ContainerMemory, Load, Peaks, container_cgroup, kubelet_working_set
from .nodememory import pods_of as pods_of

NAMESPACE, RELEASE = "awsorg-system", "awsorg-operator"
SELECTOR = f"app.kubernetes.io/instance={RELEASE}"
RESYNC_SECONDS = 60  # short: the re-check of all comes soon after all are Ready
# A limit far above any need: the measured peak is the operator's, not reclaim under a limit.
# A full core requested: with the chart's 50m, a thousand organizations' first reconcile on
# this shared 2-core machine starved /healthz and the liveness probe restarted the container
# (twice, in the first run), which cut the measurement short.
MEASURING = {"requests": {"cpu": "1", "memory": "192Mi"}, "limits": {"memory": "2Gi"}}


@dataclass
class Row:
    organizations: int
    peaks: Peaks
    seconds: float  # install to the end of the re-check of all
    restarts: int  # the container's, by then: a restart measured only part of the run


def values(image: str, endpoint_url: str, resources: dict[str, Any] | None) -> dict[str, Any]:
    """docs/install.md's awsorg-values.yaml for this node, as tests/node/conftest.py writes it."""
    repository, tag = image.rsplit(":", 1)
    env = aws_credentials(MANAGEMENT_ACCOUNT_ID)
    found: dict[str, Any] = {
        "image": {"repository": repository, "tag": tag, "pullPolicy": "Never"},
        "operator": {"defaultRegion": "us-east-1", "resyncSeconds": RESYNC_SECONDS},
        "aws": {"endpointURL": endpoint_url, "region": "us-east-1"},
        "extraEnv": [{"name": k, "value": v} for k, v in env.items()],
    }
    if resources is not None:
        found["resources"] = resources
    return found


def helm(node: LocalNode, folder: Path, *args: str) -> None:
    home = str(folder / "helm")
    env = os.environ | {"KUBECONFIG": str(node.kubeconfig), "HELM_CACHE_HOME": home,
                        "HELM_CONFIG_HOME": home, "HELM_DATA_HOME": home}  # fmt: skip
    subprocess.run([str(tool_path("helm")), *args], env=env, cwd=REPO, check=True, timeout=900)


def measure(node: LocalNode, emulator: EmulatorProcess, image: str, count: int, out: Path) -> Row:
    kubectl = node.control_plane.kubectl
    folder = out / f"orgs-{count}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "awsorg-values.yaml"
    path.write_text(yaml.safe_dump(values(image, emulator.endpoint_url, MEASURING)))
    started = time.monotonic()
    helm(node, folder, "install", RELEASE, "charts/awsorg-operator", "-n", NAMESPACE,
         "--create-namespace", "-f", str(path), "--wait", "--timeout=600s")  # fmt: skip
    load = Load(kubectl, emulator.control, count)
    try:
        (pod,) = pods_of(kubectl, NAMESPACE, SELECTOR)
        name = pod["metadata"]["name"]
        memory = ContainerMemory(
            container_cgroup(pod), lambda: kubelet_working_set(kubectl, NAMESPACE, name), 10.0
        )
        with memory.watching() as peaks:
            load.run(folder, timeout=1800)
        seconds = time.monotonic() - started
        (now,) = pods_of(kubectl, NAMESPACE, SELECTOR)
        restarts = int(now["status"]["containerStatuses"][0]["restartCount"])
    finally:
        load.remove(NAMESPACE, timeout=900)
        helm(node, folder, "uninstall", RELEASE, "-n", NAMESPACE, "--wait", "--timeout=300s")
    return Row(count, peaks, round(seconds, 1), restarts)


def table(rows: list[Row]) -> str:
    lines = [
        "| organizations | peak charged (max_usage) | peak working set | peak RSS "
        "| kubelet's working set | reclaims | restarts |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        p = r.peaks
        lines.append(
            f"| {r.organizations} | {p.max_usage:.0f} MiB | {p.working_set:.0f} MiB "
            f"| {p.rss:.0f} MiB | {p.kubelet_working_set:.0f} MiB | {p.failcnt} | {r.restarts} |"
        )
    return "\n".join(lines) + "\n"


def commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, check=False,
                          capture_output=True, text=True)  # fmt: skip
    return done.stdout.strip()


def run(counts: list[int], out: Path) -> list[Row]:
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    head = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "commit": commit(),
            "cores": os.cpu_count(), "load_before": os.getloadavg()}  # fmt: skip
    checkout = hashlib.sha256(str(REPO).encode()).hexdigest()[:8]
    image = build_image(f"localhost/awsorg-operator:e2e-{checkout}")
    rows: list[Row] = []
    with (
        LocalNode(images=[image]) as node,
        EmulatorProcess(host=node.host_address, log_path=out / "emulator.log") as emulator,
    ):
        for count in counts:
            rows.append(measure(node, emulator, image, count, out))
            print(json.dumps(asdict(rows[-1])), flush=True)
    head["load_after"] = os.getloadavg()
    (out / "sizing.json").write_text(json.dumps({**head, "rows": [asdict(r) for r in rows]}))
    note = f"{head['date']}, commit {head['commit']}, load {head['load_before']} → "
    (out / "sizing.md").write_text(f"{note}{head['load_after']}\n\n{table(rows)}")
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--orgs", default="1,10,100,1000", help="organization counts")
    p.add_argument("--out", type=Path, default=Path(".work/node-sizing"))
    args = p.parse_args()
    rows = run([int(n) for n in args.orgs.split(",") if n], args.out)
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
