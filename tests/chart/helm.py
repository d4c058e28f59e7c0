"""Rendering the chart with the pinned helm binary, and reading what it rendered."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "awsorg-operator"
CRD = REPO / "crds" / "awsorg.io_auditmanagerorgconfigs.yaml"
RELEASE = "awsorg-operator"
NAMESPACE = "awsorg-system"
#: The Kubernetes release the chart is checked against: the one the e2e control plane runs.
KUBE_VERSION = "1.37.2"

Manifest = dict[str, Any]


@dataclass(frozen=True)
class Rendered:
    """The output of `helm template`: the text (with the templates' comments) and the objects."""

    text: str
    manifests: tuple[Manifest, ...]

    def of_kind(self, kind: str) -> list[Manifest]:
        return [m for m in self.manifests if m["kind"] == kind]

    def one(self, kind: str) -> Manifest:
        found = self.of_kind(kind)
        assert len(found) == 1, f"expected one {kind}, rendered {len(found)}"
        return found[0]

    def kinds(self) -> set[str]:
        return {m["kind"] for m in self.manifests}

    def documents(self) -> list[str]:
        """The rendered YAML documents as text, comments included."""
        return [doc for doc in self.text.split("\n---\n") if "kind:" in doc]


@dataclass(frozen=True)
class HelmResult:
    returncode: int
    stdout: str
    stderr: str


def run_helm(helm: Path, *args: str) -> HelmResult:
    done = subprocess.run(
        [str(helm), *args], capture_output=True, text=True, check=False, timeout=120
    )
    return HelmResult(done.returncode, done.stdout, done.stderr)


def values_file(tmp_dir: Path, values: Mapping[str, Any]) -> Path:
    """Write values as JSON (valid YAML), so their types reach helm unchanged."""
    text = json.dumps(values, sort_keys=True)
    path = tmp_dir / f"values-{hashlib.sha256(text.encode()).hexdigest()[:12]}.json"
    path.write_text(text)
    return path


def template_args(
    values: Path | None, *, include_crds: bool = False, kube_version: str = KUBE_VERSION
) -> list[str]:
    args = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE]
    args += ["--kube-version", kube_version]
    if include_crds:
        args.append("--include-crds")
    if values is not None:
        args += ["--values", str(values)]
    return args


def render(
    helm: Path,
    tmp_dir: Path,
    values: Mapping[str, Any] | None = None,
    *,
    include_crds: bool = False,
    extra_args: Sequence[str] = (),
) -> Rendered:
    path = values_file(tmp_dir, values) if values else None
    result = run_helm(helm, *template_args(path, include_crds=include_crds), *extra_args)
    assert result.returncode == 0, f"helm template failed:\n{result.stderr}"
    manifests = tuple(m for m in yaml.safe_load_all(result.stdout) if m)
    return Rendered(result.stdout, manifests)


def env_of(workload: Manifest) -> dict[str, Any]:
    """The operator container's env, by name: the value, or the valueFrom object."""
    container = workload["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def deep_set(values: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """A copy of values with `a.b.c` set to value."""
    out: dict[str, Any] = json.loads(json.dumps(values))
    node = out
    *parents, leaf = dotted.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value
    return out
