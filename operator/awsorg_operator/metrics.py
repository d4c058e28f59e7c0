"""Prometheus metrics. Names follow Prometheus conventions: a prefix, `_total`, `_seconds`.

The per-resource gauges (`awsorg_resource_*`) say which organization is unhealthy and since
when. Their cardinality is bounded: one series per resource and condition status, reason or
planned state, never per AWS message. `kube/resource_metrics.py` sets them from the handler
side after each reconcile (the reconcile and the report stay pure) and removes them when the
resource's deletion is done; this module stays free of the API model, since the AWS side
counts its calls here.
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
RESOURCE_CONDITION = Gauge(
    "awsorg_resource_condition",
    "1 for the status a resource's condition has, 0 for the other two (all three always "
    "present, so a status change never restarts an alert's `for`).",
    ["name", "condition", "status"],
)
RESOURCE_CONDITION_REASON = Gauge(
    "awsorg_resource_condition_reason",
    "1 for the current reason of a resource's condition; one series per condition.",
    ["name", "condition", "reason"],
)
RESOURCE_LAST_SUCCESS = Gauge(
    "awsorg_resource_last_success_timestamp_seconds",
    "When a reconcile of the resource last talked to AWS without a failed call (Synced True).",
    ["name"],
)
RESOURCE_REGIONS_DIFFERING = Gauge(
    "awsorg_resource_regions_differing",
    "Regions of the resource with a change in status.plannedActions: AWS differs there.",
    ["name"],
)
RESOURCE_PLANNED_ACTIONS = Gauge(
    "awsorg_resource_planned_actions",
    "Changes the operator would make and has not, by state (status.plannedActions).",
    ["name", "state"],
)
