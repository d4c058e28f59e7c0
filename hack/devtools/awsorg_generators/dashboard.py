"""The Grafana dashboard of the chart (charts/awsorg-operator/files/grafana-dashboard.json),
built with Grafana's grafana-foundation-sdk rather than written by hand.

    python -m awsorg_generators.dashboard          # (re)writes the chart's file
    python -m awsorg_generators.dashboard --check  # exits 1 when the file is not in step

Every query uses only metrics the operator exports, and returns series with the labels its
legend uses when sent to a real Prometheus scraping the operator at work: both are checked by
tests/e2e/test_monitoring.py, which makes the template variables concrete (`$__rate_interval`);
docs/monitoring.md says what each panel shows and how it is tested.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from grafana_foundation_sdk.builders import common as common_b
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import prometheus, stat, table, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import DataSourceRef, DataTransformerConfig
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from awsorg_devstack.stack import CHART

OUTPUT = CHART / "files" / "grafana-dashboard.json"
UID = "awsorg-operator"
# Panels follow the data source the viewer picks (any Prometheus).
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")

# The newest value across replicas: only the active one reconciles (docs/monitoring.md).
READY_TRUE = 'max by (name) (awsorg_resource_condition{condition="Ready", status="True"})'


def _query(expr: str, legend: str = "") -> prometheus.Dataquery:
    q = prometheus.Dataquery().expr(expr).datasource(DATASOURCE)
    return q.legend_format(legend) if legend else q


def _stat(title: str, description: str, expr: str) -> stat.Panel:
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(_query(expr).instant())
        .graph_mode(common.BigValueGraphMode.NONE)
        .reduce_options(common_b.ReduceDataOptions().calcs(["lastNotNull"]))
        .height(4)
        .span(6)
    )


def _series(
    title: str, description: str, unit: str, *targets: prometheus.Dataquery
) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .min(0)
        .height(8)
        .span(12)
    )
    for target in targets:
        panel = panel.with_target(target)
    return panel


def _resources() -> list[dash.Row | stat.Panel | timeseries.Panel | table.Panel]:
    reasons = (
        table.Panel()
        .title("Reasons now")
        .description("Each resource's current reason, per condition: where to look first.")
        .datasource(DATASOURCE)
        .with_target(
            _query("max by (name, condition, reason) (awsorg_resource_condition_reason)")
            .instant()
            .format(PromQueryFormat.TABLE)
        )
        # Keep the labels, drop the time and the constant value 1.
        .with_transformation(
            DataTransformerConfig(
                id_val="organize",
                options={"excludeByName": {"Time": True, "Value": True}},
            )
        )
        .height(8)
        .span(12)
    )
    return [
        dash.Row("Resources"),
        _stat(
            "Resources Ready", "AuditManagerOrgConfigs whose Ready is True.", f"sum({READY_TRUE})"
        ),
        _stat(
            "Resources not Ready",
            "AuditManagerOrgConfigs whose Ready is False or Unknown.",
            f"sum(1 - {READY_TRUE})",
        ),
        _series(
            "Resources by condition",
            "How many resources have each condition in each status.",
            "short",
            _query(
                "sum by (condition, status) (max by (name, condition, status) "
                "(awsorg_resource_condition))",
                "{{condition}}={{status}}",
            ),
        ).stacking(common_b.StackingConfig().mode(common.StackingMode.NORMAL)),
        reasons,
        _series(
            "Time since last successful reconcile",
            "Per resource; past 3 resync intervals AwsorgReconcileStale fires.",
            "s",
            _query(
                "time() - max by (name) (awsorg_resource_last_success_timestamp_seconds)",
                "{{name}}",
            ),
            _query("3 * max(awsorg_resync_interval_seconds)", "3 resync intervals"),
        ),
        _series(
            "Regions differing from the spec",
            "Per resource, the Regions with a change the operator has not made (yet).",
            "short",
            _query("max by (name) (awsorg_resource_regions_differing)", "{{name}}"),
        ),
        _series(
            "Changes waiting",
            "Per resource and state: AwaitingApproval and Refused wait for a person; "
            "NotApplied is drift under Observe; InFlight is sent, not shown by AWS yet.",
            "short",
            _query(
                "max by (name, state) (awsorg_resource_planned_actions) > 0",
                "{{name}} {{state}}",
            ),
        ),
    ]


def _aws() -> list[dash.Row | stat.Panel | timeseries.Panel | table.Panel]:
    return [
        dash.Row("AWS"),
        _series(
            "AWS calls by operation",
            "AWS API calls per second, after botocore's retries.",
            "reqps",
            _query(
                "sum by (service, operation) (rate(awsorg_aws_api_calls_total[$__rate_interval]))",
                "{{service}} {{operation}}",
            ),
        ),
        _series(
            "AWS call errors by operation",
            "Failed AWS calls per second, by the AWS error code or the SDK's exception.",
            "reqps",
            _query(
                "sum by (operation, outcome) "
                '(rate(awsorg_aws_api_calls_total{outcome!="ok"}[$__rate_interval]))',
                "{{operation}} {{outcome}}",
            ),
        ),
        _series(
            "AWS changes",
            "Mutating AWS calls the operator made, by operation and outcome.",
            "short",
            _query(
                "sum by (operation, outcome) "
                "(increase(awsorg_aws_changes_total[$__rate_interval]))",
                "{{operation}} {{outcome}}",
            ),
        ),
        _series(
            "Drift detected",
            "Reconciles that found AWS changed outside Kubernetes, by managementPolicy.",
            "short",
            _query(
                "sum by (policy) (increase(awsorg_drift_detected_total[$__rate_interval]))",
                "{{policy}}",
            ),
        ),
    ]


def _reconciles() -> list[dash.Row | stat.Panel | timeseries.Panel | table.Panel]:
    def quantile(q: str) -> prometheus.Dataquery:
        return _query(
            f"histogram_quantile({q}, sum by (le) "
            "(rate(awsorg_reconcile_duration_seconds_bucket[$__rate_interval])))",
            f"p{int(float(q) * 100)}",
        )

    return [
        dash.Row("Reconciles"),
        _series(
            "Reconcile duration",
            "How long one reconcile takes: the median and the 95th percentile.",
            "s",
            quantile("0.5"),
            quantile("0.95"),
        ),
        _series(
            "Reconciles by result",
            "Reconciles per second that ended ok or with an error.",
            "ops",
            _query(
                "sum by (result) (rate(awsorg_reconcile_duration_seconds_count[$__rate_interval]))",
                "{{result}}",
            ),
        ),
    ]


def build() -> dash.Dashboard:
    board = (
        dash.Dashboard("awsorg-operator")
        .uid(UID)
        .description("AuditManagerOrgConfig resources and the operator's AWS calls")
        .tags(["awsorg-operator", "aws", "kubernetes"])
        .time("now-6h", "now")
        .refresh("1m")
        .with_variable(
            dash.DatasourceVariable("datasource").label("Data source").type("prometheus")
        )
    )
    # Ids of our own, one per panel and row: the builders leave them unset or 0.
    for n, item in enumerate([*_resources(), *_aws(), *_reconciles()], start=1):
        item.id(n)
        board = board.with_row(item) if isinstance(item, dash.Row) else board.with_panel(item)
    return board


def render() -> str:
    return JSONEncoder(sort_keys=True, indent=2).encode(build().build()) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m awsorg_generators.dashboard")
    parser.add_argument("--check", action="store_true", help="only compare with the file")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if OUTPUT.read_text() != text:
            print(f"{OUTPUT} is not what the generator makes: run it", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
