"""Runs the docs' marked blocks (awsorg_devstack.docblocks) as a reader would, on the local stack.

A scenario gets a fresh control plane, the emulator reset to an organization that already uses
Audit Manager, and a working folder that holds the repository's top-level folders (linked) and
the doc's `file:` blocks. Every block runs verbatim with `bash -euo pipefail` in that folder,
with only what the docs tell a reader to have: the tools on PATH, a HOME of its own and
KUBECONFIG (the control plane's admin).

The local control plane has no kubelet, so the test plays it for the operator's pod: after each
block, when the chart's Deployment exists, it starts the operator's image with podman as that
pod (the release's values, the ServiceAccount's token, AWS credentials as IRSA would give them,
the emulator as AWS endpoint); when the Deployment is gone, it stops it. An `in-pod` block
(`kubectl exec -i deploy/awsorg-operator -- CMD`) runs CMD in that container with `podman exec`.
"""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import yaml

from awsorg_devstack import NAMESPACE, RELEASE, REPO, ContainerOperator
from awsorg_devstack.docblocks import Block, files_for
from awsorg_emulator import MANAGEMENT_ACCOUNT_ID, EmulatorControl, EmulatorProcess
from awsorg_localcluster import LocalControlPlane, tool_path

# The account the cluster runs in, as docs/aws-permissions.md names it; the emulator reads a
# 12-digit access key as the caller's account.
CLUSTER_ACCOUNT_ID = "111122223333"
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
MANAGEMENT_ROLE = "awsorg-operator-management"  # docs/aws-permissions.md
BLOCK_TIMEOUT = 420.0  # a block may wait for the operator: `kubectl wait --timeout=5m`


def flat_values(values: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Helm values as `--set` paths (a dot inside a key escaped, as `--set` wants it)."""
    flat: dict[str, str] = {}
    for key, value in values.items():
        path = prefix + key.replace(".", "\\.")
        if isinstance(value, Mapping):
            flat |= flat_values(value, path + ".")
        elif isinstance(value, bool):
            flat[path] = str(value).lower()
        elif isinstance(value, list):
            raise ValueError(f"the docs' values set a list ({path}): translate it here")
        else:
            flat[path] = str(value)
    return flat


class Pod:
    """The operator's pod as the kubelet would run it from the release's Deployment."""

    def __init__(self, cluster: LocalControlPlane, emulator: EmulatorProcess, image: str) -> None:
        self.cluster, self.emulator, self.image = cluster, emulator, image
        self.container: ContainerOperator | None = None

    def sync(self, logs: Path) -> None:
        deployment = self.cluster.kubectl(
            "-n", NAMESPACE, "get", "deployment", RELEASE, "-o", "json", check=False
        )
        if deployment.returncode == 0 and self.container is None:
            self._start(json.loads(deployment.stdout), logs)
        elif deployment.returncode != 0 and self.container is not None:
            self.stop()

    def _start(self, deployment: dict[str, Any], logs: Path) -> None:
        account = deployment["spec"]["template"]["spec"]["serviceAccountName"]
        token = self.cluster.kubeconfig_for_service_account(NAMESPACE, account)
        # The values the reader installed with (none for a Deployment applied as manifests).
        user_values = _helm("get", "values", RELEASE, "-n", NAMESPACE, "-o", "json",
                            kubeconfig=self.cluster.kubeconfig)  # fmt: skip
        self.container = ContainerOperator(
            self.image,
            token,
            self.emulator.endpoint_url,
            logs / "operator.log",
            flat_values(user_values),
            aws_account_id=self._irsa_account(account),
        )
        self.container.start()

    def _irsa_account(self, service_account: str) -> str:
        """The account of the IRSA role the ServiceAccount names: IRSA gives the pod that
        role's credentials. No guess without it: a misspelt annotation must fail here."""
        found = self.cluster.kubectl(
            "-n", NAMESPACE, "get", "serviceaccount", service_account, "-o", "json"
        )
        annotations = json.loads(found.stdout)["metadata"].get("annotations", {})
        if IRSA_ANNOTATION not in annotations:
            raise AssertionError(
                f"the docs' ServiceAccount has no {IRSA_ANNOTATION}: {annotations}"
            )
        return str(annotations[IRSA_ANNOTATION].split(":")[4])

    def exec_prefix(self) -> str:
        if self.container is None:
            raise RuntimeError("an in-pod block runs before the operator's Deployment exists")
        return f"podman exec -i {self.container.name} "

    def stop(self) -> None:
        if self.container is not None:
            self.container.stop()
            self.container = None


def _helm(*args: str, kubeconfig: Path) -> dict[str, Any]:
    done = subprocess.run(
        [str(tool_path("helm")), f"--kubeconfig={kubeconfig}", *args],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return (json.loads(done.stdout) or {}) if done.returncode == 0 else {}


def reader_env(workdir: Path, cluster: LocalControlPlane) -> dict[str, str]:
    """What the docs tell a reader to have: the tools on PATH, and KUBECONFIG."""
    home = workdir / ".home"
    home.mkdir(exist_ok=True)
    tools = {str(tool_path(name).parent) for name in ("kubectl", "helm")}
    # Not the test's virtual environment: a reader has the tools, not this repository's venv.
    path = [*sorted(tools), "/usr/local/bin", "/usr/bin", "/bin"]
    env = {"PATH": os.pathsep.join(path), "HOME": str(home), "KUBECONFIG": str(cluster.kubeconfig)}
    # The reader's podman is this machine's: where it keeps its containers (CONTAINERS_CONF,
    # CONTAINERS_STORAGE_CONF, ...), or `podman exec` would not find the operator's.
    return env | {k: v for k, v in os.environ.items() if k.startswith("CONTAINERS_")}


def workdir_for(blocks: list[Block], root: Path) -> Path:
    """A reader's folder: the repository's folders (linked, so nothing lands in the checkout)
    and the `file:` blocks of the scenario's docs."""
    root.mkdir(parents=True)
    for entry in REPO.iterdir():
        if not entry.name.startswith("."):
            (root / entry.name).symlink_to(entry)
    for name, text in files_for(blocks).items():
        (root / name).write_text(text)
    return root


@contextmanager
def pod_for(cluster: LocalControlPlane, emulator: EmulatorProcess, image: str) -> Iterator[Pod]:
    pod = Pod(cluster, emulator, image)
    try:
        yield pod
    finally:
        pod.stop()


def run_block(block: Block, workdir: Path, env: Mapping[str, str], pod: Pod) -> str:
    """Runs one block; returns its output, or raises AssertionError with it and where it is."""
    script = block.text
    if block.in_pod:
        script = block.pod_script(pod.exec_prefix())
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=workdir, env=dict(env), capture_output=True, text=True, timeout=BLOCK_TIMEOUT,
        check=False,
    )  # fmt: skip
    output = done.stdout + done.stderr
    if done.returncode != block.exit_status:
        raise AssertionError(
            f"{block.where} exited {done.returncode}, the doc promises {block.exit_status}:\n"
            f"{script}\n--- output ---\n{output}"
        )
    return output


# --- the AWS side: the management role the docs have a reader create ---------------------


def aws(control: EmulatorControl, service: str, region: str = "us-east-1") -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        region_name=region,
        endpoint_url=control.endpoint_url,
        aws_access_key_id=MANAGEMENT_ACCOUNT_ID,
        aws_secret_access_key="not-a-secret",
    )


def create_management_role(control: EmulatorControl, external_id: str) -> None:
    """The role docs/aws-permissions.md has a reader create in the management account: its
    documented trust policy (the one with an external ID) and policy (the one that reads the
    organization), with the reader's own external ID. Found by content, not by file name."""
    trust = _documented_policy(
        lambda s: "sts:ExternalId" in json.dumps(s.get("Condition", {})),
        # The administrator's account's role has one too (spec.adminCredentials).
        skip="trust-admin-settings.json",
    )
    for statement in _statements(trust):
        for test in statement.get("Condition", {}).values():
            if "sts:ExternalId" in test:
                test["sts:ExternalId"] = external_id
    policy = _documented_policy(
        lambda s: "organizations:DescribeOrganization" in _list(s.get("Action"))
    )
    iam = aws(control, "iam")
    iam.create_role(RoleName=MANAGEMENT_ROLE, AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(
        RoleName=MANAGEMENT_ROLE, PolicyName="awsorg-operator", PolicyDocument=json.dumps(policy)
    )


def _documented_policy(wanted: Callable[[dict[str, Any]], bool], skip: str = "") -> dict[str, Any]:
    """The one policy document of docs/iam/ (but `skip`) with a statement that is `wanted`."""
    paths = [p for p in sorted((REPO / "docs" / "iam").glob("*.json")) if p.name != skip]
    policies = [json.loads(p.read_text()) for p in paths]
    found: list[dict[str, Any]] = [p for p in policies if any(map(wanted, _statements(p)))]
    assert len(found) == 1, f"docs/iam/ holds {len(found)} such policies, the test wants one"
    return found[0]


def example_external_id() -> str:
    manifest = yaml.safe_load((REPO / "examples" / "cross-account-role.yaml").read_text())
    return str(manifest["spec"]["credentials"]["externalID"])


def assert_the_documented_role_is_the_one_assumed(role_arn: str, control: EmulatorControl) -> None:
    """The emulator lets any role be assumed: check instead that the example names the role
    the docs create, and that a documented policy lets the operator's role assume it."""
    account, name = role_arn.split(":")[4], role_arn.rsplit("/", 1)[1]
    assert (account, name) == (MANAGEMENT_ACCOUNT_ID, MANAGEMENT_ROLE), role_arn
    allowed = [
        resource
        for path in sorted((REPO / "docs" / "iam").glob("*.json"))
        for statement in _statements(json.loads(path.read_text()))
        if statement.get("Effect") == "Allow" and "sts:AssumeRole" in _list(statement.get("Action"))
        for resource in _list(statement.get("Resource"))
    ]
    assert any(fnmatch.fnmatchcase(role_arn, r) for r in allowed), (role_arn, allowed)
    assert control.issued_credentials(), "the operator assumed the role"


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in _list(policy.get("Statement")) if isinstance(s, dict)]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]
