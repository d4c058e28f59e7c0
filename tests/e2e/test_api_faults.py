"""The API server's side of the reliability matrix (rows 11 and 12), through a fault proxy
between the operator and the real kube-apiserver: connections reset, and a watch that goes
silent without being closed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from awsorg_devstack import Operator
from awsorg_devstack.faultproxy import FaultProxy
from awsorg_emulator import EmulatorControl
from tests.e2e.conftest import AUDIT, RESYNC_SECONDS, Kube, wait_for
from tests.e2e.test_operator import EXAMPLE, NAME, NEW_REGION, REGIONS, admin_in, adopting, aws

pytestmark = pytest.mark.e2e


@pytest.fixture
def proxied(
    operator_kubeconfig: Path,
    control: EmulatorControl,
    kube: Kube,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[tuple[FaultProxy, Operator]]:
    """The operator, as the chart runs it, reaching the API server only through a proxy."""
    config = json.loads(operator_kubeconfig.read_text())
    (cluster,) = config["clusters"]
    port = int(urlsplit(cluster["cluster"]["server"]).port or 443)
    values = getattr(request, "param", {})
    with FaultProxy("127.0.0.1", port) as proxy:
        cluster["cluster"]["server"] = f"https://127.0.0.1:{proxy.port}"
        kubeconfig = tmp_path / "via-proxy.kubeconfig"
        kubeconfig.write_text(json.dumps(config))
        op = Operator(
            kubeconfig,
            control.endpoint_url,
            tmp_path / "operator.log",
            {"operator.resyncSeconds": str(RESYNC_SECONDS), "operator.verbose": "true", **values},
        )
        op.start()
        try:
            yield proxy, op
        finally:
            proxy.resume()
            kube.delete_all()
            op.stop()


def test_connections_reset_by_the_api_server_side_are_survived(
    kube: Kube, proxied: tuple[FaultProxy, Operator]
) -> None:
    proxy, op = proxied
    kube.apply(EXAMPLE)
    kube.wait_reason(NAME, "Reconciled")
    accepted = proxy.connections
    assert proxy.reset() >= 1, "no connection open: the watch was not reset"
    # A change after the reset reaches the operator only through a new watch: the re-check
    # works from the operator's cached copy of the resource, which only the watch updates.
    kube.apply(adopting(regions=[*REGIONS, NEW_REGION]))
    kube.wait_reason(NAME, "MaintenanceMode", timeout=6 * RESYNC_SECONDS)
    assert proxy.connections > accepted, op.log_tail(40)


@pytest.mark.slow
@pytest.mark.parametrize("proxied", [{"operator.watchTimeout": "10"}], indirect=True)
def test_a_silent_watch_is_renewed_and_drift_is_still_found(
    kube: Kube, proxied: tuple[FaultProxy, Operator], control: EmulatorControl
) -> None:
    proxy, op = proxied
    assert op.healthz() == 200
    kube.apply(EXAMPLE)
    kube.wait_reason(NAME, "Reconciled")
    assert proxy.stall() >= 1, "no connection open: nothing was stalled"
    # Meanwhile the re-check still finds drift and corrects it in AWS.
    aws(control, "auditmanager").deregister_organization_admin_account(adminAccountId=AUDIT)
    wait_for(
        "the re-check to correct drift",
        lambda: admin_in(control, "us-east-1") == AUDIT,
        timeout=6 * RESYNC_SECONDS,
    )
    # And the silent watch is given up (10 s + 30 s) and renewed: a change is handled.
    kube.apply(adopting(regions=[*REGIONS, NEW_REGION]))
    kube.wait_reason(NAME, "MaintenanceMode", timeout=90)
