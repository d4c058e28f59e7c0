"""Monitoring end to end: a real Prometheus (Debian's `prometheus`, on a free port with its own
storage) scrapes the operator running against the real API server and the AWS emulators, and
evaluates the chart's own alert rules: an alert fires when a resource goes unhealthy and
resolves when it recovers. Also: every metric the dashboard and the rules query is one the
operator really exports, every dashboard panel's query returns series with its legend's labels,
and a deleted resource's series go."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from awsorg_devbase import WaitTimeoutError
from awsorg_devbase import wait_for as devbase_wait_for
from awsorg_devstack import Operator
from awsorg_devstack.prometheus import RULES, PrometheusServer, shortened_rules
from awsorg_emulator import EmulatorControl
from tests.e2e.conftest import RESYNC_SECONDS, Kube, wait_for
from tests.e2e.test_operator import EXAMPLE, NAME, adopting, aws

pytestmark = pytest.mark.e2e

DASHBOARD = RULES.parent / "grafana-dashboard.json"
# The shipped `for:` durations are minutes; here every alert's `for` is 3 s, with the same
# expressions (shortened_rules changes nothing else).
FOR = "3s"
PROMETHEUS_TIMEOUT = 90.0  # scrape and evaluation every second, on a busy 2-core machine


@pytest.fixture
def prometheus(
    request: pytest.FixtureRequest, operator: Operator, tmp_path: Path
) -> Iterator[PrometheusServer]:
    server = PrometheusServer(
        tmp_path / "prometheus",
        [f"127.0.0.1:{operator.metrics_port}"],
        shortened_rules(RULES, FOR),
    )
    with server:
        try:
            yield server
        finally:
            failed = getattr(request.node, "report_call", None)
            if failed is not None and failed.failed:
                print("\n--- prometheus alerts ---\n" + json.dumps(server.alerts(), indent=1))
                print("\n--- prometheus log ---\n" + server.log_tail())


def _alerts_of(prom: PrometheusServer, name: str) -> list[dict[str, Any]]:
    return [a for a in prom.alerts() if a["labels"].get("name") == name]


def _firing(prom: PrometheusServer, alertname: str, name: str) -> list[dict[str, Any]]:
    return [a for a in prom.firing(alertname) if a["labels"].get("name") == name]


def test_an_alert_fires_when_aws_denies_access_and_resolves_when_it_is_back(
    kube: Kube, operator: Operator, control: EmulatorControl, prometheus: PrometheusServer
) -> None:
    kube.apply(EXAMPLE)
    kube.wait_reason(NAME, "Reconciled")
    ready = f'awsorg_resource_condition{{name="{NAME}",condition="Ready",status="True"}} == 1'
    wait_for("Prometheus to scrape Ready", lambda: prometheus.query(ready), PROMETHEUS_TIMEOUT)
    assert _alerts_of(prometheus, NAME) == []

    control.add_fault(
        "accessDenied", service="organizations", operation="DescribeOrganization", count=10**6
    )
    kube.wait_reason(NAME, "AccessDenied", type_="Synced", timeout=3 * RESYNC_SECONDS)
    (alert,) = wait_for(
        "AwsorgAwsAccessDenied firing",
        lambda: _firing(prometheus, "AwsorgAwsAccessDenied", NAME),
        PROMETHEUS_TIMEOUT,
    )
    assert alert["labels"]["reason"] == "AccessDenied"
    assert alert["labels"]["severity"] == "critical"
    assert NAME in alert["annotations"]["description"]
    assert alert["annotations"]["runbook_url"].endswith("troubleshooting.md#awsorgawsaccessdenied")
    # One cause pages once: the general not-Ready alert leaves this reason to its own.
    # (AwsorgReconcileStale may join it: 3 resync intervals are 30 s here.)
    names = {a["labels"]["alertname"] for a in _alerts_of(prometheus, NAME)}
    assert "AwsorgResourceNotReady" not in names, names

    control.clear_faults()
    # The re-check timer (every RESYNC_SECONDS) finds AWS answering again.
    kube.wait_reason(NAME, "Reconciled", timeout=6 * RESYNC_SECONDS)
    wait_for(
        "the alert resolved",
        lambda: not _alerts_of(prometheus, NAME),
        PROMETHEUS_TIMEOUT,
    )


def test_drift_under_observe_fires_with_the_region_and_resolves_when_aws_is_set_back(
    kube: Kube, operator: Operator, control: EmulatorControl, prometheus: PrometheusServer
) -> None:
    kube.apply(adopting(kmsKey="DEFAULT", managementPolicy="Observe"))
    kube.wait_reason(NAME, "Reconciled")
    settings = aws(control, "auditmanager")  # us-east-1
    settings.update_settings(kmsKey="arn:aws:kms:us-east-1:123456789012:key/changed-by-hand")
    kube.wait_reason(NAME, "Drifted", timeout=3 * RESYNC_SECONDS)
    (alert,) = wait_for(
        "AwsorgResourceDriftedUnderObserve firing",
        lambda: _firing(prometheus, "AwsorgResourceDriftedUnderObserve", NAME),
        PROMETHEUS_TIMEOUT,
    )
    assert alert["annotations"]["runbook_url"].endswith("#awsorgresourcedriftedunderobserve")
    differing = prometheus.query(f'awsorg_resource_regions_differing{{name="{NAME}"}}')
    assert [r["value"][1] for r in differing] == ["1"], differing
    waiting = prometheus.query(f'awsorg_resource_planned_actions{{name="{NAME}"}} > 0')
    assert {r["metric"]["state"] for r in waiting} == {"NotApplied"}, waiting

    settings.update_settings(kmsKey="DEFAULT")
    kube.wait_reason(NAME, "Reconciled", timeout=3 * RESYNC_SECONDS)
    wait_for("the alert resolved", lambda: not _alerts_of(prometheus, NAME), PROMETHEUS_TIMEOUT)


def test_a_deleted_resource_leaves_no_series_and_a_stopped_operator_fires_operator_down(
    kube: Kube, operator: Operator, prometheus: PrometheusServer
) -> None:
    kube.apply(EXAMPLE)
    kube.wait_reason(NAME, "Reconciled")
    series = f'name="{NAME}"'
    wait_for("the resource's series", lambda: series in operator.metrics(), 30)
    # Not firing while the operator is scraped. Waited for: `absent(up)` holds from
    # Prometheus's first rule evaluation until its first scrape, which on a loaded machine
    # can exceed the shortened `for` when the resource is reconciled quickly.
    wait_for(
        "AwsorgOperatorDown not firing while scraped",
        lambda: prometheus.firing("AwsorgOperatorDown") == [],
        PROMETHEUS_TIMEOUT,
    )

    kube("delete", "amoc", NAME, "--wait=false")
    wait_for("the resource gone", lambda: not kube.names(), timeout=60)
    wait_for("its series gone", lambda: series not in operator.metrics(), 30)

    operator.stop()
    (alert,) = wait_for(
        "AwsorgOperatorDown firing",
        lambda: prometheus.firing("AwsorgOperatorDown"),
        PROMETHEUS_TIMEOUT,
    )
    assert alert["annotations"]["runbook_url"].endswith("#awsorgoperatordown")


_METRIC = re.compile(r"\b(awsorg_[a-z0-9_]+)")


def _exported(text: str) -> set[str]:
    """Every sample name /metrics can show, from its `# TYPE` lines: a metric with labels
    and no sample yet (no AWS write so far) is still declared there."""
    suffixes = {
        "counter": ("_total", "_created"),
        "gauge": ("",),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
    }
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            base = name.removesuffix("_total") if kind == "counter" else name
            names |= {base + s for s in suffixes.get(kind, ("",))}
    return names


def _dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", []) if "expr" in t]


def _rule_queries() -> list[str]:
    rules = yaml.safe_load(RULES.read_text())
    return [r["expr"] for g in rules["groups"] for r in g["rules"]]


def test_every_metric_the_dashboard_and_the_rules_query_is_exported(
    kube: Kube, operator: Operator
) -> None:
    kube.apply(EXAMPLE)
    kube.wait_reason(NAME, "Reconciled")
    exported = _exported(operator.metrics())
    assert "awsorg_resource_condition" in exported, sorted(exported)
    queries = _dashboard_queries() + _rule_queries()
    assert len(_dashboard_queries()) >= 8, "the dashboard's panels have queries"
    used = {m for q in queries for m in _METRIC.findall(q)}
    assert used, queries
    assert used <= exported, sorted(used - exported)


# --- the dashboard against real data ---------------------------------------------------------
#
# Grafana itself cannot run here (its license rules it out), so each panel's query is sent as
# Grafana would send it, to the real Prometheus scraping the operator at work. Template
# variables are made concrete first: `$__rate_interval` (Grafana: at least 4 scrape intervals)
# becomes RATE_WINDOW, long enough to hold every event of the test; `${datasource}` only picks
# the data source, which is this Prometheus, and appears in no query.
RATE_WINDOW = "5m"
_LEGEND_LABEL = re.compile(r"\{\{\s*(\w+)\s*\}\}")
_BY = re.compile(r"^\s*\w+\s+by\s*\(([^)]*)\)")


def concrete(expr: str) -> str:
    query = expr.replace("$__rate_interval", RATE_WINDOW)
    assert "$" not in query, f"a template variable the test cannot make concrete: {expr}"
    return query


def _panel_targets() -> list[tuple[str, str, set[str]]]:
    """(panel title, query, labels each series must carry): the legend's {{label}}s, or for a
    table (no legend) the labels its outer `by (...)` keeps."""
    board = json.loads(DASHBOARD.read_text())
    found = []
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            labels = set(_LEGEND_LABEL.findall(target.get("legendFormat", "")))
            if target.get("format") == "table" and (by := _BY.match(target["expr"])):
                labels |= {label.strip() for label in by.group(1).split(",")}
            found.append((panel["title"], concrete(target["expr"]), labels))
    return found


def _empty_panels(prom: PrometheusServer) -> list[str]:
    empty = []
    for title, query, labels in _panel_targets():
        series = prom.query(query)
        if not any(labels <= set(s["metric"]) for s in series):
            empty.append(f"{title}: {query} (labels {sorted(labels)}) -> {series}")
    return empty


def test_every_dashboard_panel_shows_data_from_the_operator_at_work(
    kube: Kube, operator: Operator, control: EmulatorControl, prometheus: PrometheusServer
) -> None:
    """One resource lives through what the panels show: adopted (Ready), AWS changed behind its
    back and set right (drift, a write), a refused read (an error outcome), then Observe with
    a difference it leaves (a change waiting, a Region differing)."""
    kube.apply(adopting(kmsKey="DEFAULT"))
    kube.wait_reason(NAME, "Reconciled")
    settings = aws(control, "auditmanager")  # us-east-1
    settings.update_settings(kmsKey="arn:aws:kms:us-east-1:123456789012:key/changed-by-hand")
    wait_for(
        "the drift set right",
        lambda: prometheus.query('awsorg_aws_changes_total{operation="UpdateSettings"}'),
        3 * RESYNC_SECONDS + PROMETHEUS_TIMEOUT,
    )
    control.add_fault("accessDenied", service="auditmanager", operation="GetSettings", count=1)
    wait_for(
        "a refused call counted",
        lambda: prometheus.query('awsorg_aws_api_calls_total{outcome!="ok"}'),
        3 * RESYNC_SECONDS + PROMETHEUS_TIMEOUT,
    )
    kube.apply(adopting(kmsKey="DEFAULT", managementPolicy="Observe"))
    # Changed only once the operator holds Observe: a re-check still on Manage would set it right.
    kube.wait_observed(NAME)
    settings.update_settings(kmsKey="arn:aws:kms:us-east-1:123456789012:key/changed-again")
    kube.wait_reason(NAME, "Drifted", timeout=6 * RESYNC_SECONDS)

    with contextlib.suppress(WaitTimeoutError):  # the assertion below says which panels
        devbase_wait_for(
            "every panel's query to return series with its legend's labels",
            lambda: not _empty_panels(prometheus),
            timeout=PROMETHEUS_TIMEOUT,
        )
    assert _empty_panels(prometheus) == []
    assert len(_panel_targets()) >= 14, "every panel's queries were sent"
