"""The docs are the script: their marked blocks run verbatim on the local stack
(tests/e2e/docrun.py), every example reaches the state its header promises, and the README's
sample output is what a real run prints."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from awsorg_devstack import REPO, Operator
from awsorg_devstack.docblocks import Block, expectation, parse, scenarios
from awsorg_emulator import MANAGEMENT_ACCOUNT_ID, EmulatorControl, EmulatorProcess
from awsorg_localcluster import LocalControlPlane
from awsorg_localcluster.tools import argocd_files_dir
from tests.e2e.conftest import RESYNC_SECONDS, Kube, wait_for
from tests.e2e.docrun import (
    CLUSTER_ACCOUNT_ID,
    Pod,
    assert_the_documented_role_is_the_one_assumed,
    aws,
    create_management_role,
    example_external_id,
    pod_for,
    reader_env,
    run_block,
    workdir_for,
)

pytestmark = pytest.mark.e2e

EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))
# Changed by hand behind the operator's back: what the production guide's rollout finds.
HAND_SET_KEY = "arn:aws:kms:eu-west-1:123456789012:key/set-by-hand"


def set_kms_key_by_hand(control: EmulatorControl) -> None:
    aws(control, "auditmanager", "eu-west-1").update_settings(kmsKey=HAND_SET_KEY)


# What AWS holds before a scenario, beyond an organization already using Audit Manager.
SETUPS: dict[str, Callable[[EmulatorControl], None]] = {"production": set_kms_key_by_hand}
# What a scenario's output shows, as its doc says: plan reached the management account through
# the role, and Observe lists the change Manage then makes.
SHOWN = {
    "production": [
        "credentials of 123456789012",
        "UpdateSettings in eu-west-1",
        "UpdateSettings eu-west-1 ",
    ],
}


@pytest.fixture
def organization(emulator: EmulatorProcess) -> EmulatorControl:
    control = emulator.control
    control.reset(seed="existing-customer", maintenance_mode=True)
    create_management_role(control, example_external_id())
    return control


@pytest.mark.parametrize("name", sorted(scenarios()))
def test_the_docs_run_as_written(
    name: str,
    organization: EmulatorControl,
    emulator: EmulatorProcess,
    image: str,
    tmp_path: Path,
) -> None:
    blocks = scenarios()[name]
    if name in SETUPS:
        SETUPS[name](organization)
    workdir = workdir_for(blocks, (tmp_path / "reader").resolve())
    with LocalControlPlane(workdir=tmp_path / "control-plane") as cluster:
        env = reader_env(workdir, cluster)
        output = ""
        with pod_for(cluster, emulator, image) as pod:
            for block in blocks:
                try:
                    output += run_block(block, workdir, env, pod)
                    pod.sync(tmp_path)
                except BaseException:
                    print_diagnostics(pod, cluster, organization)
                    raise
    print(output)
    missing = [text for text in SHOWN.get(name, []) if text not in output]
    assert not missing, f"the doc says the output shows {missing}:\n{output}"


def print_diagnostics(pod: Pod, cluster: LocalControlPlane, control: EmulatorControl) -> None:
    if pod.container is not None:
        print("\n--- operator log ---\n" + pod.container.log_tail(80))
    print("\n--- emulator calls ---")
    for call in control.calls()[-30:]:
        print(call)
    resources = cluster.kubectl("get", "amoc", "-o", "yaml", check=False)
    print("\n--- resources ---\n" + resources.stdout + resources.stderr)


@pytest.fixture
def example_operator(
    request: pytest.FixtureRequest,
    cluster: LocalControlPlane,
    kube: Kube,
    operator_kubeconfig: Path,
    organization: EmulatorControl,
    tmp_path: Path,
) -> Iterator[Callable[[str], Operator]]:
    """Starts the operator for one example: in the cluster's own account when the example
    assumes a role (`spec.credentials`), else in the management account."""
    started: list[Operator] = []

    def start(account: str) -> Operator:
        values = {"operator.resyncSeconds": str(RESYNC_SECONDS)}
        op = Operator(operator_kubeconfig, organization.endpoint_url,
                      tmp_path / "operator.log", values, aws_account_id=account)  # fmt: skip
        started.append(op)
        op.start()
        return op

    try:
        yield start
    finally:
        failed = getattr(request.node, "report_call", None)
        if failed is not None and failed.failed and started:
            print("\n--- operator log ---\n" + started[0].log_tail(80))
            print("\n--- resources ---\n" + kube("get", "amoc", "-o", "yaml", check=False).stdout)
        kube.delete_all()
        for op in started:
            op.stop()


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_reaches_what_its_header_promises(
    example: Path,
    kube: Kube,
    organization: EmulatorControl,
    example_operator: Callable[[str], Operator],
) -> None:
    manifest = yaml.safe_load(example.read_text())
    promise = expectation(example)
    assumes_a_role = "credentials" in manifest["spec"]
    example_operator(CLUSTER_ACCOUNT_ID if assumes_a_role else MANAGEMENT_ACCOUNT_ID)
    kube("apply", "-f", str(example))
    name = manifest["metadata"]["name"]

    def kept() -> bool:
        c = kube.condition(name, promise.condition)
        return c.get("status") == promise.status and (
            promise.reason is None or c.get("reason") == promise.reason
        )

    wait_for(f"{example.name}: {promise}", kept, timeout=90)
    if assumes_a_role:
        role_arn = manifest["spec"]["credentials"]["roleARN"]
        assert_the_documented_role_is_the_one_assumed(role_arn, organization)


def readme_sample() -> tuple[Block, Block]:
    """The README's resource and the `kubectl get amoc -o wide` sample shown after it."""
    blocks = list(parse("README.md", (REPO / "README.md").read_text()))
    i = next(i for i, b in enumerate(blocks) if "$ kubectl get amoc -o wide" in b.text)
    manifest = next(b for b in reversed(blocks[:i]) if b.kind == "file")
    return manifest, blocks[i]


def table(text: str) -> list[list[str | int]]:
    """kubectl's columns: the header's cells with where each starts, then each row's cells
    (split where two spaces or more part them), the AGE normalised."""
    header, *rows = text.strip("\n").splitlines()
    starts: list[str | int] = [m.start() for m in re.finditer(r"(?:^|(?<=  ))\S", header)]
    cells = [re.split(r"\s{2,}", line.strip()) for line in [header, *rows]]
    aged = [[*row[:-1], re.sub(r"^(\d+[smhd])+$", "AGE", row[-1])] for row in cells]
    return [starts, *aged]


def test_readme_sample_output_is_a_real_run(
    kube: Kube, example_operator: Callable[[str], Operator]
) -> None:
    manifest, sample = readme_sample()
    example_operator(MANAGEMENT_ACCOUNT_ID)
    name = yaml.safe_load(manifest.text)["metadata"]["name"]
    kube("apply", "-f", "-", input=manifest.text)
    kube("wait", "--for=condition=Ready", f"amoc/{name}", "--timeout=90s")
    real = kube("get", "amoc", "-o", "wide").stdout
    shown = sample.text.split("$ kubectl get amoc -o wide\n", 1)[1].split("\n$ ", 1)[0]
    assert table(shown) == table(real), f"the README shows:\n{shown}\na real run prints:\n{real}"


def test_the_argo_cd_objects_of_the_production_guide_are_valid(tmp_path: Path) -> None:
    """Nobody runs them here, so the API server checks them (server-side dry run, strict
    fields) against Argo CD's own CRDs, as `kubectl apply` would in a cluster with Argo CD."""
    blocks = parse("docs/production.md", (REPO / "docs" / "production.md").read_text())
    argocd = [b for b in blocks if b.lang == "yaml" and "namespace: argocd" in b.text]
    assert {yaml.safe_load(b.text)["kind"] for b in argocd} == {"Secret", "AppProject"}
    with LocalControlPlane(workdir=tmp_path / "control-plane") as cluster:
        cluster.kubectl("apply", "-f", str(argocd_files_dir() / "crds" / "appproject-crd.yaml"))
        cluster.kubectl("wait", "--for=condition=Established", "crd/appprojects.argoproj.io")
        cluster.kubectl("create", "namespace", "argocd")
        for block in argocd:
            cluster.kubectl(
                "apply", "--dry-run=server", "--validate=strict", "-f", "-", input=block.text
            )
