"""End to end: a real kube-apiserver and etcd, the AWS emulators, the operator as a process.

The operator runs exactly as in its pod (`python -m awsorg_operator`), authenticated as the
ServiceAccount the Helm chart creates, bound to the chart's own ClusterRole and Role: what
these tests prove, the chart's RBAC is enough for.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from awsorg_devbase import WaitTimeoutError
from awsorg_devbase import wait_for as devbase_wait_for
from awsorg_devstack import REPO, Operator, build_image, install_crd_and_rbac
from awsorg_emulator import (
    AUDIT_ACCOUNT_ID,
    MANAGEMENT_ACCOUNT_ID,
    EmulatorControl,
    EmulatorProcess,
)
from awsorg_localcluster import ApiError, LocalControlPlane

MGMT, AUDIT = MANAGEMENT_ACCOUNT_ID, AUDIT_ACCOUNT_ID
RESYNC_SECONDS = 10  # the chart's minimum; drift tests wait for the re-check
# Most checks run kubectl: about 0.1 s of CPU each (measured), so a check polled four times a
# second cost a waiting test almost half a core, with the tests in parallel on 2 cores
# (tests/parallel.py). A check runs at once, again after 0.1 s, and backs off to once a second.
POLL_FIRST, POLL_EVERY = 0.1, 1.0


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
    try:
        return devbase_wait_for(what, check, timeout=timeout, every=POLL_EVERY, first=POLL_FIRST)
    except WaitTimeoutError as e:
        pytest.fail(str(e))


@pytest.fixture(scope="session")
def image() -> str:
    """The operator's image, built once per session by hack/image.sh. A tag per checkout:
    sessions of other checkouts on this machine build their own."""
    checkout = hashlib.sha256(str(REPO).encode()).hexdigest()[:8]
    return build_image(f"localhost/awsorg-operator:e2e-{checkout}")


@pytest.fixture(scope="session")
def cluster() -> Iterator[LocalControlPlane]:
    with LocalControlPlane() as cp:
        yield cp


@pytest.fixture(scope="session")
def operator_kubeconfig(cluster: LocalControlPlane) -> Path:
    return install_crd_and_rbac(cluster)


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    log = tmp_path_factory.mktemp("emulator") / "emulator.log"
    with EmulatorProcess(log_path=log) as process:
        yield process


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


AMOCS = "/apis/awsorg.io/v1alpha1/auditmanagerorgconfigs"


class Kube:
    """kubectl as a user would type it, with the admin kubeconfig. The reads that tests poll
    (`get`, `names`, `events`) ask the API server directly: the same JSON, without a kubectl
    process for each (about 0.1 s of CPU, which polls on 2 cores add up to minutes)."""

    def __init__(self, cluster: LocalControlPlane) -> None:
        self.cluster = cluster

    def __call__(
        self, *args: str, check: bool = True, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return self.cluster.kubectl(*args, check=check, input=input)

    def apply(self, manifest: dict[str, Any] | Path) -> subprocess.CompletedProcess[str]:
        if isinstance(manifest, Path):
            return self("apply", "-f", str(manifest))
        return self("apply", "-f", "-", input=json.dumps(manifest))

    def get(self, name: str) -> dict[str, Any]:
        return self.cluster.get_json(f"{AMOCS}/{name}")  # type: ignore[no-any-return]

    def condition(self, name: str, type_: str = "Ready") -> dict[str, Any]:
        conditions = self.get(name).get("status", {}).get("conditions", [])
        return next((c for c in conditions if c["type"] == type_), {})

    def wait_reason(
        self, name: str, reason: str, type_: str = "Ready", timeout: float = 60
    ) -> dict[str, Any]:
        return wait_for(  # type: ignore[no-any-return]
            f"{type_} reason {reason} on {name}",
            lambda: (c := self.condition(name, type_)).get("reason") == reason and c,
            timeout=timeout,
        )

    def wait_observed(self, name: str, timeout: float = 60) -> dict[str, Any]:
        """Waits until the operator has reconciled the current generation. A re-check started
        before holds the spec it began with, and finishes before this status is written: it
        shares the resource's lock with the handler that writes it."""

        def observed() -> dict[str, Any] | None:
            body = self.get(name)
            seen = body.get("status", {}).get("observedGeneration")
            return body if seen == body["metadata"]["generation"] else None

        return wait_for(f"generation observed on {name}", observed, timeout=timeout)  # type: ignore[no-any-return]

    def delete_all(self, timeout: float = 30) -> None:
        """Leaves the cluster empty for the next test, with the operator's help if it runs."""
        self("delete", "amoc", "--all", "--wait=false", check=False)
        try:
            devbase_wait_for(
                "every resource gone",
                lambda: not self.names(),
                timeout=timeout,
                every=POLL_EVERY,
                first=POLL_FIRST,
            )
        except WaitTimeoutError:
            # A deletion that waits on AWS (by design) must not leak into the next test.
            for name in self.names():
                patch = '{"metadata":{"finalizers":null}}'
                self("patch", f"amoc/{name}", "--type=merge", "-p", patch, check=False)

    def names(self) -> list[str]:
        """The resources' names; none when they cannot be listed (no CRD, no API server)."""
        try:
            items = self.cluster.get_json(AMOCS)["items"]
        except (ApiError, OSError):
            return []
        return [item["metadata"]["name"] for item in items]

    def events(self, name: str) -> list[dict[str, Any]]:
        selector = f"involvedObject.name={name},involvedObject.kind=AuditManagerOrgConfig"
        query = urllib.parse.urlencode({"fieldSelector": selector})
        return self.cluster.get_json(f"/api/v1/events?{query}")["items"]  # type: ignore[no-any-return]


@pytest.fixture
def kube(cluster: LocalControlPlane) -> Kube:
    return Kube(cluster)


@pytest.fixture
def control(emulator: EmulatorProcess) -> EmulatorControl:
    emulator.control.reset(seed="existing-customer", maintenance_mode=True)
    return emulator.control


@pytest.fixture
def operator(
    request: pytest.FixtureRequest,
    cluster: LocalControlPlane,
    kube: Kube,
    operator_kubeconfig: Path,
    emulator: EmulatorProcess,
    control: EmulatorControl,
    tmp_path: Path,
) -> Iterator[Operator]:
    op = Operator(
        operator_kubeconfig,
        emulator.endpoint_url,
        tmp_path / "operator.log",
        # Helm values: the chart turns them into the operator's settings.
        {
            "operator.resyncSeconds": str(RESYNC_SECONDS),
            "operator.logFormat": "full",
            "operator.verbose": "true",
        },
    )
    op.start()
    try:
        yield op
    finally:
        failed = getattr(request.node, "report_call", None)
        if failed is not None and failed.failed:
            print("\n--- operator log ---\n" + op.log_tail(120))
            print("\n--- kube-apiserver log ---\n" + cluster.log_tail("kube-apiserver", 40))
            print("\n--- emulator calls ---")
            for c in control.calls()[-40:]:
                print(c)
            print("\n--- resources ---\n" + kube("get", "amoc", "-o", "yaml", check=False).stdout)
        kube.delete_all()
        op.stop()
