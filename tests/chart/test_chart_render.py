"""The chart rendered by the pinned helm, checked with helm lint, kubeconform and by reading it."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from awsorg_localcluster.kubeschemas import write_crd_schemas

from .cases import BAD_VALUES, SCENARIOS, VALUES
from .helm import (
    CHART,
    CRD,
    KUBE_VERSION,
    NAMESPACE,
    REPO,
    Manifest,
    Rendered,
    deep_set,
    env_of,
    render,
    run_helm,
    template_args,
    values_file,
)

pytestmark = pytest.mark.integration

SCENARIO_IDS = list(SCENARIOS)
THIRDPARTY = Path(__file__).parent / "thirdparty"
RULES = CHART / "files" / "prometheus-rules.yaml"
DASHBOARD = CHART / "files" / "grafana-dashboard.json"
APP_VERSION = yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"]


@pytest.fixture(scope="module")
def rendered(helm: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Rendered]:
    out = tmp_path_factory.mktemp("rendered")
    return {name: render(helm, out, values) for name, values in SCENARIOS.items()}


def _workload(r: Rendered) -> Manifest:
    (workload,) = [m for m in r.manifests if m["kind"] in ("Deployment", "StatefulSet")]
    return workload


def _pod_spec(r: Rendered) -> dict[str, Any]:
    spec: dict[str, Any] = _workload(r)["spec"]["template"]["spec"]
    return spec


# --- helm lint and the Kubernetes OpenAPI ------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIO_IDS)
def test_helm_lint_passes(helm: Path, tmp_path: Path, scenario: str) -> None:
    args = ["lint", str(CHART), "--strict", "--namespace", NAMESPACE]
    args += ["--kube-version", KUBE_VERSION]
    if SCENARIOS[scenario]:
        args += ["--values", str(values_file(tmp_path, SCENARIOS[scenario]))]
    result = run_helm(helm, *args)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def crd_schemas(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """kubeconform schemas for the chart's CRDs, strict: a misspelt field is an error."""
    out = tmp_path_factory.mktemp("crd-schemas")
    # The chart's own CRDs, and prometheus-operator's PrometheusRule (tests/chart/thirdparty).
    crds = sorted((CHART / "crds").glob("*.yaml")) + sorted(THIRDPARTY.glob("*.yaml"))
    write_crd_schemas(crds, out, strict=True)
    return out


def _kubeconform(kubeconform: Path, kube_schemas: Path, crd_schemas: Path, manifests: str) -> Any:
    done = subprocess.run(
        [
            str(kubeconform),
            "-strict",
            "-summary",
            "-output",
            "json",
            "-kubernetes-version",
            KUBE_VERSION,
            "-schema-location",
            str(kube_schemas),
            "-schema-location",
            f"{crd_schemas}/{{{{ .ResourceKind }}}}_{{{{ .ResourceAPIVersion }}}}.json",
            # The prometheus-operator CRDs are not available offline; the ServiceMonitor is
            # checked field by field below.
            "-skip",
            "ServiceMonitor",
            "-",
        ],
        input=manifests,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    report = json.loads(done.stdout)
    assert done.returncode == 0, json.dumps(report["resources"], indent=2) + done.stderr
    return report


@pytest.mark.parametrize("scenario", SCENARIO_IDS)
def test_every_rendered_manifest_matches_the_kubernetes_openapi(
    helm: Path,
    kubeconform: Path,
    kube_schemas: Path,
    crd_schemas: Path,
    tmp_path: Path,
    scenario: str,
) -> None:
    full = render(helm, tmp_path, SCENARIOS[scenario], include_crds=True)
    report = _kubeconform(kubeconform, kube_schemas, crd_schemas, full.text)
    summary = report["summary"]
    skipped = 1 if "ServiceMonitor" in full.kinds() else 0
    assert summary["valid"] == len(full.manifests) - skipped, summary
    assert summary["skipped"] == skipped


def test_examples_match_the_crd(kubeconform: Path, kube_schemas: Path, crd_schemas: Path) -> None:
    examples = sorted((REPO / "examples").glob("*.yaml"))
    assert examples, "examples/ holds the manifests the README points to"
    text = "\n---\n".join(p.read_text() for p in examples)
    report = _kubeconform(kubeconform, kube_schemas, crd_schemas, text)
    assert report["summary"]["invalid"] == 0


# --- workload shape: one Recreate Deployment, or a StatefulSet with peering --------------


def test_default_is_one_recreate_deployment_without_peering(rendered: dict[str, Rendered]) -> None:
    r = rendered["defaults"]
    deployment = r.one("Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert not {"StatefulSet", "PodDisruptionBudget", "ClusterKopfPeering"} & r.kinds()
    assert not {"AWSORG_PEERING", "AWSORG_PRIORITY"} & set(env_of(deployment))


@pytest.mark.parametrize("scenario", ["two-replicas", "everything"])
def test_more_replicas_run_a_statefulset_with_distinct_peering_priorities(
    rendered: dict[str, Rendered], scenario: str
) -> None:
    r = rendered[scenario]
    assert "Deployment" not in r.kinds()
    sts = r.one("StatefulSet")
    assert sts["spec"]["replicas"] == SCENARIOS[scenario]["replicaCount"]
    assert sts["spec"]["podManagementPolicy"] == "Parallel"
    env = env_of(sts)
    # Each pod's priority is its ordinal, which the StatefulSet controller puts in this label.
    label = "metadata.labels['apps.kubernetes.io/pod-index']"
    assert env["AWSORG_PRIORITY"] == {"fieldRef": {"fieldPath": label}}
    assert env["POD_ID"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    peering = r.one("ClusterKopfPeering")
    assert peering["apiVersion"] == "kopf.dev/v1"
    assert env["AWSORG_PEERING"] == peering["metadata"]["name"]
    pdb = r.one("PodDisruptionBudget")
    assert pdb["spec"]["selector"] == sts["spec"]["selector"]
    assert pdb["spec"]["maxUnavailable"] == 1


def test_peering_with_one_replica_keeps_the_deployment(rendered: dict[str, Rendered]) -> None:
    r = rendered["peering-one-replica"]
    env = env_of(r.one("Deployment"))
    assert env["AWSORG_PEERING"] == r.one("ClusterKopfPeering")["metadata"]["name"]
    assert env["AWSORG_PRIORITY"] == "10"
    assert "PodDisruptionBudget" not in r.kinds()


# The label each controller puts on its own pods: the StatefulSet's, the Deployment's.
STATEFULSET_POD = "statefulset.kubernetes.io/pod-name"
DEPLOYMENT_POD = "pod-template-hash"


@pytest.mark.parametrize(
    ("scenario", "other"), [("defaults", STATEFULSET_POD), ("two-replicas", DEPLOYMENT_POD)]
)
def test_each_workload_starts_once_the_other_kinds_pods_are_gone(
    rendered: dict[str, Rendered], scenario: str, other: str
) -> None:
    """helm upgrade between 1 and more replicas creates the new kind before it deletes the
    old: the new pods' init container waits until this release's pods of the other are gone."""
    workload = _workload(rendered[scenario])
    spec = _pod_spec(rendered[scenario])
    (init,) = spec["initContainers"]
    (operator,) = spec["containers"]
    assert init["name"] == "wait-for-other-workload"
    assert init["image"] == operator["image"]
    # The image's entry point runs the subcommand (kube/startup.py): no code in the YAML.
    assert "command" not in init and init["args"] == ["wait-for-turn"]
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in init["env"]}
    labels = workload["spec"]["selector"]["matchLabels"]
    assert env["OTHER_PODS"] == ",".join([f"{k}={v}" for k, v in labels.items()] + [other])
    assert env["POD_NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    if other == DEPLOYMENT_POD:  # and a standby lets the pods above it announce themselves
        index = "metadata.labels['apps.kubernetes.io/pod-index']"
        assert env["PRIORITY"] == {"fieldRef": {"fieldPath": index}}
        assert env["TOP_PRIORITY"] == str(workload["spec"]["replicas"] - 1)
        assert env["PEERING"] == rendered[scenario].one("ClusterKopfPeering")["metadata"]["name"]
    else:
        assert not {"PRIORITY", "TOP_PRIORITY", "PEERING"} & set(env)


# --- the pod: restricted Pod Security Standard, probes, settings -------------------------


@pytest.mark.parametrize("scenario", SCENARIO_IDS)
def test_pod_meets_the_restricted_pod_security_standard(
    rendered: dict[str, Rendered], scenario: str
) -> None:
    spec = _pod_spec(rendered[scenario])
    pod = spec["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert pod["runAsUser"] != 0
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        assert not spec.get(key)
    for container in spec["initContainers"] + spec["containers"]:
        ctx = container["securityContext"]
        assert ctx["allowPrivilegeEscalation"] is False
        assert ctx["privileged"] is False
        assert ctx["capabilities"] == {"drop": ["ALL"]}
        assert ctx["readOnlyRootFilesystem"] is True
        assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}} in spec["volumes"]
    assert all("hostPath" not in v for v in spec["volumes"])


def test_probes_use_the_health_endpoint(rendered: dict[str, Rendered]) -> None:
    (container,) = _pod_spec(rendered["defaults"])["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"metrics": 8080, "health": 8081}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "health"}


#: (values path, value, environment variable, what the operator gets)
SETTINGS: list[tuple[str, Any, str, str]] = [
    ("operator.defaultRegion", "eu-central-1", "AWSORG_DEFAULT_REGION", "eu-central-1"),
    ("operator.resyncSeconds", 86400, "AWSORG_RESYNC_SECONDS", "86400"),
    ("operator.logFormat", "plain", "AWSORG_LOG_FORMAT", "plain"),
    ("operator.verbose", True, "AWSORG_VERBOSE", "true"),
    ("operator.metricsPort", 9090, "AWSORG_METRICS_PORT", "9090"),
    ("operator.healthPort", 9091, "AWSORG_HEALTH_PORT", "9091"),
    ("aws.connectTimeout", 1.5, "AWSORG_AWS_CONNECT_TIMEOUT", "1.5"),
    ("aws.readTimeout", 30, "AWSORG_AWS_READ_TIMEOUT", "30"),
    ("aws.maxAttempts", 5, "AWSORG_AWS_MAX_ATTEMPTS", "5"),
    ("aws.workers", 64, "AWSORG_AWS_WORKERS", "64"),
    ("operator.stuckSeconds", 600, "AWSORG_STUCK_SECONDS", "600"),
    ("operator.watchTimeout", 60, "AWSORG_WATCH_TIMEOUT", "60"),
    ("aws.region", "eu-west-1", "AWS_REGION", "eu-west-1"),
    ("aws.endpointURL", "http://127.0.0.1:4566", "AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
    (
        "aws.serviceEndpoints",
        {"organizations": "https://org.example.com"},
        "AWS_ENDPOINT_URL_ORGANIZATIONS",
        "https://org.example.com",
    ),
    ("peering.priority", 1000000, "AWSORG_PRIORITY", "1000000"),
    ("extraEnv", [{"name": "EXTRA", "value": "1"}], "EXTRA", "1"),
]


@pytest.mark.parametrize(
    ("dotted", "value", "variable", "expected"), SETTINGS, ids=[s[0] for s in SETTINGS]
)
def test_setting_reaches_the_operator_environment(
    helm: Path, tmp_path: Path, dotted: str, value: Any, variable: str, expected: str
) -> None:
    values = deep_set({}, dotted, value)
    if dotted.startswith("peering."):
        values["peering"]["enabled"] = True
    env = env_of(_workload(render(helm, tmp_path, values)))
    assert env[variable] == expected


def test_defaults_match_the_operators_own_defaults(rendered: dict[str, Rendered]) -> None:
    env = env_of(_workload(rendered["defaults"]))
    assert env["AWSORG_DEFAULT_REGION"] == "us-east-1"
    assert env["AWSORG_RESYNC_SECONDS"] == "300"
    assert env["AWSORG_METRICS_PORT"] == "8080"
    assert env["AWSORG_HEALTH_PORT"] == "8081"
    assert "AWSORG_VERBOSE" not in env
    assert "AWS_ENDPOINT_URL" not in env


def test_image_reference(rendered: dict[str, Rendered]) -> None:
    (default,) = _pod_spec(rendered["defaults"])["containers"]
    assert default["image"] == f"awsorg-operator:{APP_VERSION}"
    (pinned,) = _pod_spec(rendered["everything"])["containers"]
    assert pinned["image"] == "awsorg-operator@sha256:" + "a" * 64


# --- RBAC: one commented rule per need, no wildcards, no Secrets -------------------------

CORE_RULES = [
    {
        "apiGroups": ["awsorg.io"],
        "resources": ["auditmanagerorgconfigs"],
        "verbs": ["get", "list", "watch", "patch"],
    },
    {
        "apiGroups": ["awsorg.io"],
        "resources": ["auditmanagerorgconfigs/status"],
        "verbs": ["patch"],
    },
    {
        "apiGroups": ["apiextensions.k8s.io"],
        "resources": ["customresourcedefinitions"],
        "verbs": ["list", "watch"],
    },
]


def _peering_rules(name: str) -> list[dict[str, Any]]:
    return [
        {
            "apiGroups": ["kopf.dev"],
            "resources": ["clusterkopfpeerings"],
            "verbs": ["list", "watch"],
        },
        {
            "apiGroups": ["kopf.dev"],
            "resources": ["clusterkopfpeerings"],
            "resourceNames": [name],
            "verbs": ["patch"],
        },
    ]


@pytest.mark.parametrize("scenario", SCENARIO_IDS)
def test_cluster_role_grants_exactly_what_the_operator_needs(
    rendered: dict[str, Rendered], scenario: str
) -> None:
    r = rendered[scenario]
    peering = r.of_kind("ClusterKopfPeering")
    expected = CORE_RULES + (_peering_rules(peering[0]["metadata"]["name"]) if peering else [])
    assert r.one("ClusterRole")["rules"] == expected
    role = r.one("Role")
    assert role["metadata"]["namespace"] == NAMESPACE
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "verbs": ["get", "create", "update"],
        },
        # The init container's: the other workload's pods (wait-for-other-workload).
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]},
    ]


@pytest.mark.parametrize("scenario", SCENARIO_IDS)
def test_rbac_has_no_wildcards_and_no_secrets(rendered: dict[str, Rendered], scenario: str) -> None:
    r = rendered[scenario]
    for role in r.of_kind("ClusterRole") + r.of_kind("Role"):
        for rule in role["rules"]:
            words = [w for key in ("apiGroups", "resources", "verbs") for w in rule[key]]
            assert not [w for w in words if "*" in w], rule
            assert "secrets" not in rule["resources"]
            assert "nonResourceURLs" not in rule


@pytest.mark.parametrize("scenario", SCENARIO_IDS)
def test_every_rbac_rule_has_a_comment_saying_why(
    rendered: dict[str, Rendered], scenario: str
) -> None:
    for doc in rendered[scenario].documents():
        if not re.search(r"^kind: (Cluster)?Role$", doc, re.MULTILINE):
            continue
        lines = doc.split("rules:", 1)[1].splitlines()
        for i, line in enumerate(lines):
            if line.strip().startswith("- apiGroups:"):
                assert lines[i - 1].strip().startswith("#"), f"uncommented rule: {line.strip()}"


@pytest.mark.parametrize("scenario", SCENARIO_IDS)
def test_bindings_give_the_roles_to_the_operators_service_account(
    rendered: dict[str, Rendered], scenario: str
) -> None:
    r = rendered[scenario]
    account = _pod_spec(r)["serviceAccountName"]
    assert r.one("ServiceAccount")["metadata"]["name"] == account
    for kind, role_kind in (("ClusterRoleBinding", "ClusterRole"), ("RoleBinding", "Role")):
        binding = r.one(kind)
        assert binding["roleRef"]["name"] == r.one(role_kind)["metadata"]["name"]
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": account, "namespace": NAMESPACE}
        ]


def test_rbac_and_service_account_can_be_brought_by_the_user(helm: Path, tmp_path: Path) -> None:
    values = {"rbac": {"create": False}, "serviceAccount": {"create": False, "name": "mine"}}
    r = render(helm, tmp_path, values)
    assert not {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"} & r.kinds()
    assert "ServiceAccount" not in r.kinds()
    assert _pod_spec(r)["serviceAccountName"] == "mine"


def test_irsa_annotation_lands_on_the_service_account(rendered: dict[str, Rendered]) -> None:
    account = rendered["everything"].one("ServiceAccount")
    assert account["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/op"
    }


# --- metrics ------------------------------------------------------------------------------


def test_service_monitor_scrapes_the_metrics_service(rendered: dict[str, Rendered]) -> None:
    r = rendered["service-monitor"]
    service, monitor = r.one("Service"), r.one("ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    labels = service["metadata"]["labels"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == service["spec"]["ports"][0]["name"] == "metrics"
    assert endpoint["path"] == "/metrics"
    assert (
        service["spec"]["selector"].items()
        <= _workload(r)["spec"]["selector"]["matchLabels"].items()
    )
    assert "ServiceMonitor" not in rendered["defaults"].kinds()
    # The alerts select the operator by job name, whatever the release is called.
    assert {"targetLabel": "job", "replacement": "awsorg-operator"} in endpoint["relabelings"]
    rules = yaml.safe_load(RULES.read_text())
    assert 'job="awsorg-operator"' in rules["groups"][0]["rules"][0]["expr"]


def test_prometheus_rule_is_the_rules_file_with_the_runbook_base(
    rendered: dict[str, Rendered],
) -> None:
    rules = yaml.safe_load(RULES.read_text())
    monitoring = rendered["monitoring"].one("PrometheusRule")
    assert monitoring["metadata"]["labels"]["release"] == "prometheus"
    assert monitoring["metadata"]["namespace"] == NAMESPACE
    assert monitoring["spec"] == rules
    custom = rendered["everything"].one("PrometheusRule")["spec"]
    urls = [r["annotations"]["runbook_url"] for r in custom["groups"][0]["rules"]]
    assert urls and all(
        u.startswith("https://git.example.com/ops/awsorg/troubleshooting.md#") for u in urls
    ), urls
    assert "PrometheusRule" not in rendered["defaults"].kinds()


def test_dashboard_config_map_carries_the_dashboard_for_the_sidecar(
    rendered: dict[str, Rendered],
) -> None:
    cm = rendered["monitoring"].one("ConfigMap")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert cm["metadata"]["annotations"] == {"grafana_folder": "AWS"}
    assert cm["metadata"]["namespace"] == NAMESPACE
    assert json.loads(cm["data"]["awsorg-operator.json"]) == json.loads(DASHBOARD.read_text())
    assert rendered["everything"].one("ConfigMap")["metadata"]["namespace"] == "grafana"
    assert "ConfigMap" not in rendered["defaults"].kinds()


# --- wrong values fail with the message a user reads --------------------------------------


@pytest.mark.parametrize(
    ("dotted", "value", "where"), [c[1:] for c in BAD_VALUES], ids=[c[0] for c in BAD_VALUES]
)
def test_helm_refuses_wrong_value_naming_it(
    helm: Path, tmp_path: Path, dotted: str, value: Any, where: str
) -> None:
    values = deep_set(VALUES, dotted, value)
    if dotted == "metrics.service.enabled":
        values["metrics"]["serviceMonitor"]["enabled"] = True
    result = run_helm(helm, *template_args(values_file(tmp_path, values)))
    assert result.returncode != 0, f"helm accepted {dotted}={value!r}"
    assert "values don't meet the specifications of the schema" in result.stderr
    assert where in result.stderr, result.stderr


def test_helm_refuses_the_same_port_twice(helm: Path, tmp_path: Path) -> None:
    values = {"operator": {"metricsPort": 9000, "healthPort": 9000}}
    result = run_helm(helm, *template_args(values_file(tmp_path, values)))
    assert result.returncode != 0
    assert "operator.metricsPort and operator.healthPort must differ" in result.stderr


def test_chart_crd_is_what_helm_installs(helm: Path, tmp_path: Path) -> None:
    crds = render(helm, tmp_path, include_crds=True).of_kind("CustomResourceDefinition")
    names = {c["metadata"]["name"] for c in crds}
    assert names == {"auditmanagerorgconfigs.awsorg.io", "clusterkopfpeerings.kopf.dev"}
    ours = next(c for c in crds if c["metadata"]["name"] == "auditmanagerorgconfigs.awsorg.io")
    assert ours == yaml.safe_load(CRD.read_text())


def test_notes_explain_crd_upgrades(helm: Path, tmp_path: Path) -> None:
    path = values_file(tmp_path, deep_set(VALUES, "replicaCount", 2))
    args = ["install", "awsorg-operator", str(CHART), "--dry-run=client", "-n", NAMESPACE]
    result = run_helm(helm, *args, "--values", str(path))
    assert result.returncode == 0, result.stderr
    notes = result.stdout.split("NOTES:", 1)[1]
    assert "StatefulSet of 2 pods" in notes
    assert "helm show crds" in notes
