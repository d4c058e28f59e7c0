"""hack/build-tools.sh's binaries are found, and kubeconform validates offline."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from awsorg_localcluster import TOOLS, kubeconform_schema_dir, tool_path
from awsorg_localcluster.kubeschemas import write_crd_schemas

pytestmark = pytest.mark.e2e

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: awsorg-operator
  labels: {app: awsorg-operator}
  annotations: null
spec:
  replicas: 1
  selector: {matchLabels: {app: awsorg-operator}}
  template:
    metadata:
      creationTimestamp: null
      labels: {app: awsorg-operator}
    spec:
      containers:
        - name: operator
          image: example.invalid/awsorg-operator:0.1.0
          ports: [{name: metrics, containerPort: 8080}]
          resources: {limits: {cpu: 0.5, memory: 128Mi}}
          livenessProbe: {httpGet: {path: /healthz, port: metrics}}
          volumeMounts: [{name: tmp, mountPath: /tmp}]
      volumes: [{name: tmp, emptyDir: {}}]
"""

CLUSTER_ROLE = """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: awsorg-operator}
rules:
  - apiGroups: [awsorg.io]
    resources: [auditmanagerorgconfigs]
    verbs: [get, list, watch, patch]
"""


def kubeconform(
    manifest: str, *schema_locations: str, strict: bool = True
) -> subprocess.CompletedProcess[str]:
    locations = schema_locations or (str(kubeconform_schema_dir()),)
    argv = [str(tool_path("kubeconform")), "-summary", "-output", "text"]
    if strict:
        argv.append("-strict")
    for location in locations:
        argv += ["-schema-location", location]
    # No network here: an unknown kind must fail, not be fetched or skipped.
    return subprocess.run(
        [*argv, "-"], input=manifest, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("name", TOOLS)
def test_every_tool_is_an_executable(name: str) -> None:
    path = tool_path(name)
    assert path.is_absolute()
    assert os.access(path, os.X_OK)


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("kube-apiserver", ["--version"], "Kubernetes v1."),
        ("kubectl", ["version", "--client"], "Client Version: v1."),
        ("etcd", ["--version"], "etcd Version: 3."),
        ("helm", ["version", "--short"], "v4."),
        ("kubeconform", ["-v"], "v0."),
        ("argocd", ["version", "--client", "--short"], "argocd: v3.6."),
    ],
)
def test_tool_reports_a_release_version(name: str, args: list[str], expected: str) -> None:
    done = subprocess.run(
        [str(tool_path(name)), *args], capture_output=True, text=True, timeout=60, check=True
    )
    assert expected in done.stdout


@pytest.mark.parametrize(
    ("case", "manifest", "valid", "message"),
    [
        ("deployment", DEPLOYMENT, True, ""),
        ("cluster role", CLUSTER_ROLE, True, ""),
        (
            "misspelt field",
            DEPLOYMENT.replace("replicas:", "replica:"),
            False,
            "additional properties 'replica' not allowed",
        ),
        ("wrong type", DEPLOYMENT.replace("replicas: 1", "replicas: one"), False, "replicas"),
        (
            "missing required field",
            DEPLOYMENT.replace("selector: {matchLabels: {app: awsorg-operator}}", ""),
            False,
            "selector",
        ),
        (
            "unknown kind",
            "apiVersion: example.invalid/v1\nkind: Nothing\nmetadata: {name: x}\n",
            False,
            "could not find schema",
        ),
    ],
)
def test_kubeconform_validates_offline(case: str, manifest: str, valid: bool, message: str) -> None:
    done = kubeconform(manifest)
    output = done.stdout + done.stderr
    assert (done.returncode == 0) is valid, output
    assert message in output
    if valid:
        assert "Valid: 1, Invalid: 0, Errors: 0, Skipped: 0" in output, output


def test_kubeconform_validates_custom_resources_from_our_crds(tmp_path: Path) -> None:
    crds = sorted((Path(__file__).parents[2] / "crds").glob("*.yaml"))
    assert crds, "crds/ holds the operator's CRD"
    assert write_crd_schemas(crds, tmp_path, strict=True) >= 1
    crd = yaml.safe_load(crds[0].read_text())
    version = crd["spec"]["versions"][0]["name"]
    unknown_field = (
        f"apiVersion: {crd['spec']['group']}/{version}\n"
        f"kind: {crd['spec']['names']['kind']}\n"
        "metadata: {name: x}\n"
        "notAField: true\n"
    )
    done = kubeconform(
        unknown_field,
        str(kubeconform_schema_dir()),
        str(tmp_path / "{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"),
    )
    assert done.returncode != 0
    assert "notAField" in done.stdout + done.stderr
