"""The chart's pods in a namespace that enforces the restricted Pod Security Standard, admitted
by the local kube-apiserver's own PodSecurity admission (reliability matrix row 29).

There is no kubelet here, so the pods are created from the rendered workloads' templates
directly, as the Deployment's or StatefulSet's controller would; a pod that breaks the
standard is refused in the same namespace, so the check can fail.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from awsorg_localcluster.controlplane import LocalControlPlane

from .cases import SCENARIOS
from .helm import render

pytestmark = pytest.mark.e2e

RESTRICTED = "awsorg-restricted"


@pytest.fixture(scope="module")
def control_plane() -> Iterator[LocalControlPlane]:
    with LocalControlPlane() as cp:
        cp.kubectl("create", "namespace", RESTRICTED)
        cp.kubectl(
            "label", "namespace", RESTRICTED, "pod-security.kubernetes.io/enforce=restricted"
        )
        yield cp


def pod_of(workload: dict[str, Any], name: str) -> dict[str, Any]:
    template = copy.deepcopy(workload["spec"]["template"])
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": RESTRICTED, **template.get("metadata", {})},
        "spec": template["spec"],
    }


def create(cp: LocalControlPlane, pod: dict[str, Any]) -> tuple[bool, str]:
    account = pod["spec"].get("serviceAccountName")
    if account:  # the chart's ServiceAccount, as its release would have created it
        account_yaml = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": account}}
        cp.kubectl("apply", "-n", RESTRICTED, "-f", "-", input=json.dumps(account_yaml))
    done = cp.kubectl("create", "-f", "-", input=json.dumps(pod), check=False)
    return done.returncode == 0, done.stderr


@pytest.mark.parametrize("scenario", ["defaults", "two-replicas", "everything"])
def test_every_pod_shape_of_the_chart_is_admitted_under_restricted(
    control_plane: LocalControlPlane, helm: Path, tmp_path: Path, scenario: str
) -> None:
    rendered = render(helm, tmp_path, SCENARIOS[scenario])
    workloads = rendered.of_kind("Deployment") + rendered.of_kind("StatefulSet")
    assert workloads, "the chart rendered no pods"
    for i, workload in enumerate(workloads):
        admitted, why = create(control_plane, pod_of(workload, f"{scenario}-{i}"))
        assert admitted, f"{workload['kind']} of {scenario}: {why}"


def test_a_pod_that_breaks_the_standard_is_refused(
    control_plane: LocalControlPlane, helm: Path, tmp_path: Path
) -> None:
    (workload,) = render(helm, tmp_path).of_kind("Deployment")
    pod = pod_of(workload, "escalating")
    container = pod["spec"]["containers"][0]
    container["securityContext"]["allowPrivilegeEscalation"] = True
    admitted, why = create(control_plane, pod)
    assert not admitted
    assert 'violates PodSecurity "restricted:latest"' in why and "allowPrivilegeEscalation" in why
