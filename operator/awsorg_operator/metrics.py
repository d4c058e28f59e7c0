"""Prometheus metrics. Names follow Prometheus conventions: a prefix, `_total`, `_seconds`.

The per-resource series (`awsorg_resource_*`), which say which organization is unhealthy and
since when, are in `kube/resource_metrics.py`: set from the handler side after each reconcile
(the reconcile and the report stay pure). This module stays free of the API model, since the
AWS side counts its calls here.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

AWS_CALLS = Counter(
    "awsorg_aws_api_calls_total",
    "AWS API calls made by the operator, after botocore's own retries.",
    ["service", "operation", "outcome"],
)
RECONCILE_DURATION = Histogram(
    "awsorg_reconcile_duration_seconds",
    "Time one reconcile of an AuditManagerOrgConfig took.",
    ["result"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
DRIFT_DETECTED = Counter(
    "awsorg_drift_detected_total",
    "Reconciles that found AWS changed outside Kubernetes.",
    ["policy"],
)
AWS_CHANGES = Counter(
    "awsorg_aws_changes_total",
    "Mutating AWS calls made by the operator.",
    ["operation", "outcome"],
)
RESYNC_INTERVAL = Gauge(
    "awsorg_resync_interval_seconds",
    "The operator's --resync-seconds: how often each resource is checked against AWS.",
)
