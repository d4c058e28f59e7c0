"""Value sets the chart checks share."""

from __future__ import annotations

from typing import Any

import yaml

from .helm import CHART

#: The chart's own values.yaml.
VALUES: dict[str, Any] = yaml.safe_load((CHART / "values.yaml").read_text())

#: Value sets every check runs on: the defaults and each switch that adds or changes objects.
SCENARIOS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "two-replicas": {"replicaCount": 2},
    "service-monitor": {
        "metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}}}
    },
    "monitoring": {
        "metrics": {
            "serviceMonitor": {"enabled": True},
            "prometheusRule": {"enabled": True, "labels": {"release": "prometheus"}},
            "dashboard": {"enabled": True, "annotations": {"grafana_folder": "AWS"}},
        }
    },
    "peering-one-replica": {"peering": {"enabled": True, "priority": 10}},
    "everything": {
        "replicaCount": 3,
        "image": {"digest": "sha256:" + "a" * 64},
        "imagePullSecrets": ["registry"],
        "serviceAccount": {
            "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/op"}
        },
        "operator": {"verbose": True, "resyncSeconds": 86400},
        "aws": {
            "region": "eu-west-1",
            "endpointURL": "http://127.0.0.1:4566",
            "serviceEndpoints": {"auditmanager": {"eu-west-1": "http://127.0.0.1:5000"}},
        },
        "peering": {"name": "awsorg"},
        "extraEnv": [{"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"}],
        "podAnnotations": {"example.com/team": "platform"},
        "podLabels": {"example.com/cost-center": "security"},
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "ops"}],
        "affinity": {"nodeAffinity": {}},
        "priorityClassName": "system-cluster-critical",
        "metrics": {
            "serviceMonitor": {"enabled": True},
            "prometheusRule": {
                "enabled": True,
                "runbookBaseURL": "https://git.example.com/ops/awsorg/troubleshooting.md",
            },
            "dashboard": {"enabled": True, "namespace": "grafana"},
        },
    },
}

#: Wrong values a user may well write, where the schema must stop them, and a word of the
#: message they then read. helm prints the same JSON pointer (see test_chart_render.py).
BAD_VALUES: list[tuple[str, str, Any, str]] = [
    ("replicas-zero", "replicaCount", 0, "/replicaCount"),
    ("replicas-as-string", "replicaCount", "2", "/replicaCount"),
    ("replicas-typo", "replicas", 2, "replicas"),
    ("pull-policy", "image.pullPolicy", "Sometimes", "/image/pullPolicy"),
    ("latest-tag", "image.tag", "latest", "/image/tag"),
    ("short-digest", "image.digest", "sha256:abc", "/image/digest"),
    ("log-format", "operator.logFormat", "yaml", "/operator/logFormat"),
    ("region-case", "operator.defaultRegion", "US-EAST-1", "/operator/defaultRegion"),
    ("region-typo-key", "operator.defaultRegoin", "us-east-1", "defaultRegoin"),
    ("resync-zero", "operator.resyncSeconds", 0, "/operator/resyncSeconds"),
    ("privileged-port", "operator.metricsPort", 80, "/operator/metricsPort"),
    ("endpoint-no-scheme", "aws.endpointURL", "localhost:4566", "/aws/endpointURL"),
    ("unknown-service", "aws.serviceEndpoints", {"s3": "https://s3.example.com"}, "s3"),
    (
        "auditmanager-not-a-region",
        "aws.serviceEndpoints.auditmanager",
        {"useast": "https://auditmanager.example.com"},
        "useast",
    ),
    (
        "auditmanager-not-a-url",
        "aws.serviceEndpoints.auditmanager",
        {"us-east-1": "auditmanager.example.com"},
        "/aws/serviceEndpoints/auditmanager/us-east-1",
    ),
    ("attempts-zero", "aws.maxAttempts", 0, "/aws/maxAttempts"),
    ("sa-without-name", "serviceAccount", {"create": False}, "/serviceAccount"),
    ("monitor-without-service", "metrics.service.enabled", False, "/metrics/service/enabled"),
    ("runbook-not-a-url", "metrics.prometheusRule.runbookBaseURL", "docs/x.md", "runbookBaseURL"),
    (
        "dashboard-namespace",
        "metrics.dashboard.namespace",
        "Grafana",
        "/metrics/dashboard/namespace",
    ),
    ("env-number", "extraEnv", [{"name": "X", "value": 1}], "/extraEnv/0/value"),
    ("env-bad-name", "extraEnv", [{"name": "1X", "value": "1"}], "/extraEnv/0/name"),
    ("memory-words", "resources.limits.memory", "lots", "/resources/limits/memory"),
    ("annotation-number", "podAnnotations", {"a": 1}, "/podAnnotations/a"),
]
