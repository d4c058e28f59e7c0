"""Turn the benchmark's JSON results into `docs/performance.md` and its plot.

    python -m awsorg_generators.bench_report --results .work/bench --doc docs/performance.md \
        before after

Each label is a `<label>.json` written by `awsorg_experiments.bench`; the tables show the labels
side by side, in the order given.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: write a PNG
import matplotlib.pyplot as plt

from awsorg_experiments.bench import CRITICAL_PATH_CALLS, median, percentile

# Runs made before their results recorded the critical path (issue 9's `before` and
# `after`) were measured with the code of that time: adoption 5 calls deep, a set-up 7.
LEGACY_CRITICAL_PATH_CALLS = {"adopt": 5, "setup": 7}


def depth(run: dict[str, Any], mode: str) -> int:
    return int(run.get("critical_path_calls", LEGACY_CRITICAL_PATH_CALLS)[mode])


def load(results: Path, labels: Sequence[str]) -> list[dict[str, Any]]:
    return [json.loads((results / f"{label}.json").read_text()) for label in labels]


def ready_table(runs: list[dict[str, Any]]) -> str:
    """p50, p95 and calls per cell and run; "x path" is the p50 over the run's critical path
    (depth x latency), "above 0 ms" the part of the p50 above the same cell at 0 ms over it:
    what the latency added, against what it must add (issue 19's target: at most 1.5)."""
    runs = [r for r in runs if r["ready"]]  # an --orgs-only run has no trials
    if not runs:
        return "No time-to-Ready trials in these runs (`--orgs-only`)."
    labels = [r["label"] for r in runs]
    head = ["mode", "Regions", "latency/call", "critical path"]
    for label in labels:
        head += [f"{label} {c}" for c in ("p50", "p95", "calls", "x path", "above 0 ms")]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    keys = dict.fromkeys(
        (t["mode"], t["regions"], t["latency_ms"]) for r in runs for t in r["ready"]
    )
    for mode, regions, latency in keys:
        path = CRITICAL_PATH_CALLS[mode] * latency / 1000
        row = [mode, str(regions), f"{latency} ms", f"{path:.2f} s" if latency else "-"]
        for run in runs:
            row += _ready_cells(run, mode, regions, latency)
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def _ready_cells(run: dict[str, Any], mode: str, regions: int, latency: int) -> list[str]:
    cells = {(t["mode"], t["regions"], t["latency_ms"]): t for t in run["ready"]}
    found = cells.get((mode, regions, latency))
    if found is None:
        return ["-"] * 5
    p50 = median(found["seconds"])
    out = [f"{p50:.2f} s", f"{percentile(found['seconds'], 95):.2f} s", str(found["aws_calls"][0])]
    if not latency:
        return [*out, "-", "-"]
    path = depth(run, mode) * latency / 1000
    zero = cells.get((mode, regions, 0))
    above = f"{(p50 - median(zero['seconds'])) / path:.2f}" if zero else "-"
    return [*out, f"{p50 / path:.2f}", above]


def orgs_table(runs: list[dict[str, Any]]) -> str:
    head = [
        "run",
        "organizations",
        "Regions",
        "latency/call",
        "re-check of all",
        "AWS calls",
        "writes",
        "CPU s",
        "RSS MiB",
        "threads",
        "first reconcile of all",
        "slowest /healthz",
        "slowest /metrics",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for run in runs:
        for o in run["orgs"]:
            row = [
                run["label"],
                str(o["organizations"]),
                str(o["regions"]),
                f"{o['latency_ms']} ms",
                f"{o['recheck_seconds']:.1f} s",
                str(o["recheck_calls"]),
                str(o["recheck_writes"]),
                f"{o['cpu_seconds']:.1f}",
                f"{o['rss_mib']:.0f}",
                str(o["threads"]),
                f"{o['first_reconcile_seconds']:.1f} s",
                _slowest(o, "healthz"),
                _slowest(o, "metrics"),
            ]
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def _slowest(o: dict[str, Any], endpoint: str) -> str:
    if not o.get("endpoint_polls"):
        return "-"  # measured since issue 19
    missed = f" ({o['endpoint_missed']} missed)" if o.get("endpoint_missed") else ""
    return f"{o[f'{endpoint}_slowest_seconds']:.2f} s{missed}"


def profile_table(runs: list[dict[str, Any]]) -> str:
    """Where the operator's CPU went during each run's profiled re-checks (py-spy): by layer
    for every profiled count, and by function for the largest."""
    out = []
    for run in runs:
        profiled = [o for o in run["orgs"] if o.get("profile", {}).get("samples")]
        out += [_layers(run["label"], o) for o in profiled if o["profile"].get("layers")]
        # The largest count of each run: the small ones are a few samples each.
        for o in sorted(profiled, key=lambda o: o["organizations"])[-1:]:
            total = int(o["profile"]["samples"][0][1])
            out.append(
                f"**{run['label']}, {o['organizations']} organizations** ({total} samples)\n\n"
                "| share of CPU samples, self | function | share, inclusive | function |\n"
                "| --- | --- | --- | --- |"
            )
            pairs = zip(o["profile"]["self"], o["profile"]["inclusive"], strict=False)
            for (leaf, a), (frame, b) in pairs:
                out.append(f"| {a:.1%} | {_frame(leaf)} | {b:.1%} | {_frame(frame)} |")
            out.append("")
    return "\n".join(out) or "No profiled run (`--profile`)."


def _layers(label: str, o: dict[str, Any]) -> str:
    total = int(o["profile"]["samples"][0][1])
    head = f"**{label}, {o['organizations']} organizations, by layer** ({total} samples)"
    rows = [f"| {share:.1%} | {name} |" for name, share in o["profile"]["layers"]]
    return "\n".join([head, "", "| share of CPU samples | layer |", "| --- | --- |", *rows, ""])


def _frame(frame: str) -> str:
    """``func (pkg/mod.py)`` as code and text: the module is a library's, not a repo file."""
    name, _, where = frame.partition(" (")
    return f"`{name}` ({where}" if where else f"`{name}`"


def calls_table(runs: list[dict[str, Any]], minimum: dict[str, float]) -> str:
    """Calls per steady re-check and organization (from the smallest N-organizations run)."""
    by_run = [r["orgs"][0]["calls_by_operation"] if r["orgs"] else {} for r in runs]
    operations = sorted(set(minimum).union(*by_run))
    head = ["operation", "minimum", *[r["label"] for r in runs]]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for op in operations:
        row = [op, f"{minimum.get(op, 0):g}", *[f"{b.get(op, 0):g}" for b in by_run]]
        lines.append("| " + " | ".join(row) + " |")
    totals = ["**total**", f"{sum(minimum.values()):g}", *[f"{sum(b.values()):g}" for b in by_run]]
    lines.append("| " + " | ".join(totals) + " |")
    return "\n".join(lines)


def plot(runs: list[dict[str, Any]], png: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    styles = ["--", "-", ":", "-."]
    for ax, mode in zip(axes, ("adopt", "setup"), strict=True):
        for style, run in zip(styles, [r for r in runs if r["ready"]], strict=False):
            cells = [t for t in run["ready"] if t["mode"] == mode]
            for latency in sorted({t["latency_ms"] for t in cells}):
                row = sorted(
                    (t["regions"], median(t["seconds"]))
                    for t in cells
                    if t["latency_ms"] == latency
                )
                ax.plot(
                    [r for r, _ in row],
                    [s for _, s in row],
                    style,
                    marker="o",
                    label=f"{run['label']}, {latency} ms/call",
                )
        ax.set_title("adoption (0 writes)" if mode == "adopt" else "set-up from nothing")
        ax.set_xlabel("Regions")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("apply to Ready=True, p50 (s)")
    if axes[1].get_legend_handles_labels()[0]:  # an --orgs-only run plots nothing
        axes[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("labels", nargs="+")
    p.add_argument("--results", type=Path, default=Path(".work/bench"))
    p.add_argument("--doc", type=Path, default=Path("docs/performance.md"))
    p.add_argument(
        "--template",
        type=Path,
        help="markdown with {ready}, {orgs}, {calls}, {runs}, {profile} fields",
    )
    args = p.parse_args(argv)
    runs = load(args.results, args.labels)
    png = args.doc.with_suffix(".png")
    plot(runs, png)
    minimum = steady_minimum(runs[0]["orgs"][0]["regions"] if runs[0]["orgs"] else 2)
    fields = {
        "ready": ready_table(runs),
        "orgs": orgs_table(runs),
        "calls": calls_table(runs, minimum),
        "runs": runs_table(runs),
        "profile": profile_table(runs),
        "png": png.name,
    }
    template = (args.template or TEMPLATE).read_text()
    args.doc.write_text(template.format(**fields))
    print(f"wrote {args.doc} and {png}")
    return 0


def steady_minimum(regions: int) -> dict[str, float]:
    """The written minimum per steady re-check of one organization (see the doc)."""
    return {
        "DescribeOrganization": 1,
        "DescribeAccount": 1,
        "ListAWSServiceAccessForOrganization": 1,
        "ListDelegatedAdministrators": 1,
        "GetAccountStatus": regions,
        "GetSettings": regions,
        "GetOrganizationAdminAccount": regions,
    }


def runs_table(runs: list[dict[str, Any]]) -> str:
    head = ["run", "date", "cores", "load average (before, after)", "versions"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in runs:
        load = f"{r['load_average'][0]} / {r['load_after'][0]}"
        vers = ", ".join(f"{k} {v}" for k, v in r["versions"].items())
        lines.append(f"| {r['label']} | {r['date']} | {r['cores']} | {load} | {vers} |")
    return "\n".join(lines)


TEMPLATE = Path(__file__).with_name("performance.md.in")

if __name__ == "__main__":
    raise SystemExit(main())
