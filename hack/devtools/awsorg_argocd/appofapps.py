"""What an app of apps renders, without Argo CD: for steps a test takes in Argo CD's place."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import yaml

from awsorg_localcluster import tool_path


def render_helm_source(application: dict[str, Any], checkout: Path) -> list[dict[str, Any]]:
    """The manifests of a Helm-sourced Application, as Argo CD's repo-server renders them:
    `helm template` of `checkout/<path>` with the source's `valuesObject` and `parameters`,
    Argo CD's build variables ($ARGOCD_APP_SOURCE_REPO_URL, ..._TARGET_REVISION) substituted."""
    source = application["spec"]["source"]
    variables = {
        "$ARGOCD_APP_SOURCE_REPO_URL": source["repoURL"],
        "$ARGOCD_APP_SOURCE_TARGET_REVISION": source["targetRevision"],
    }
    helm = source.get("helm", {})
    argv = [str(tool_path("helm")), "template", application["metadata"]["name"]]
    argv += [str(checkout / source["path"]), "--values", "-"]
    for parameter in helm.get("parameters", []):
        value = variables.get(parameter["value"], parameter["value"])
        argv += ["--set", f"{parameter['name']}={value}"]
    done = subprocess.run(
        argv,
        input=json.dumps(helm.get("valuesObject", {})),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"helm template failed:\n{done.stderr}")
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]
