"""Rows of the reliability matrix (docs/reliability.md) that need the whole operator on the
real API server and are not covered by the other e2e files."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from awsorg_devstack import NAMESPACE, Operator
from awsorg_emulator import EmulatorControl
from tests.e2e.conftest import AUDIT, RESYNC_SECONDS, Kube, wait_for
from tests.e2e.test_operator import EXAMPLE, NAME, adopting, trusted, writes

pytestmark = pytest.mark.e2e


def reconciles(control: EmulatorControl) -> int:
    """Reconciles AWS saw: each reads the organization once (DescribeOrganization); who the
    credentials belong to (GetCallerIdentity) is asked once per identity, not per reconcile."""
    return sum(c["operation"] == "DescribeOrganization" for c in control.calls())


@pytest.mark.slow
def test_a_throttling_storm_makes_no_hot_loop_and_converges_with_no_write(
    kube: Kube, operator: Operator, control: EmulatorControl
) -> None:
    """Row 3: at most one reconcile per backoff step, for the change handler and the
    re-check timer together; after the storm, Ready again and 0 writes."""
    kube.apply(EXAMPLE)
    kube.wait_reason(NAME, "Reconciled")
    control.clear_calls()
    control.add_fault("throttle", service="auditmanager", operation="GetAccountStatus", count=10**6)
    kube.wait_reason(NAME, "Throttled", type_="Synced", timeout=3 * RESYNC_SECONDS)
    # A span to watch, not a wait for a condition: the count over it is what is asserted.
    time.sleep(6 * RESYNC_SECONDS)
    seen = reconciles(control)
    # Backoff from 5 s doubling, half of it jitter, plus a re-check every 10 s: a dozen at
    # most in a minute. A hot loop would be hundreds.
    assert 1 <= seen <= 12, seen
    control.clear_faults()
    # The next try comes within one backoff step of the storm's end: after about 65 s of
    # failures the re-check's retries are at most at their fifth step (2.5 + 5 + 10 + 20 s at
    # the least before it), which waits up to 80 s. 60 s failed when the jitter drew long.
    kube.wait_reason(NAME, "Reconciled", timeout=12 * RESYNC_SECONDS)
    assert writes(control) == []


def test_a_concurrent_writer_of_metadata_and_status_loses_nothing(
    kube: Kube, operator: Operator, control: EmulatorControl
) -> None:
    """Row 13: another writer patches labels, annotations and status while the operator
    works; the user's fields stay, the operator's status wins, kopf's annotations survive."""
    kube.apply(adopting())
    for i in range(10):
        kube("label", "amoc", NAME, f"example.com/round={i}", "--overwrite")
        kube("annotate", "amoc", NAME, f"example.com/note={i}", "--overwrite")
        stale: dict[str, Any] = {"status": {"conditions": [], "organizationID": None}}
        kube("patch", "amoc", NAME, "--subresource=status", "--type=merge", "-p", json.dumps(stale))
    body = wait_for(
        "Ready again with the operator's status",
        lambda: (
            (b := kube.get(NAME)).get("status", {}).get("organizationID")
            and kube.condition(NAME).get("reason") == "Reconciled"
            and b
        ),
        timeout=6 * RESYNC_SECONDS,
    )
    meta = body["metadata"]
    assert meta["labels"]["example.com/round"] == "9"
    assert meta["annotations"]["example.com/note"] == "9"
    assert any(k.startswith("kopf.awsorg.io") for k in meta["annotations"]), meta["annotations"]
    assert writes(control) == [] and trusted(control)


def test_a_resource_deleted_during_a_write_waits_for_it_and_retain_leaves_aws(
    kube: Kube, operator: Operator, control: EmulatorControl
) -> None:
    """Row 24: the deletion waits for the reconcile that is writing; the finalizer goes only
    after it, and deletionPolicy Retain leaves what was written."""
    control.reset(seed="empty", maintenance_mode=False)
    control.add_fault(
        "latency", service="auditmanager", operation="RegisterAccount", latency_seconds=3, count=1
    )
    kube.apply(adopting())
    wait_for("a write in flight", lambda: _planned(kube, "InFlight"), timeout=30)
    kube("delete", "amoc", NAME, "--wait=false")
    wait_for("the resource gone", lambda: not kube.names(), timeout=60)
    done = writes(control)
    assert ("RegisterAccount", "us-east-1") in done, done
    assert not [w for w in done if w[0].startswith(("Deregister", "Disable"))], done
    assert control.state()["auditManager"]["us-east-1"]["adminAccountID"] == AUDIT


def test_no_credential_reaches_logs_events_or_status(
    kube: Kube, operator: Operator, control: EmulatorControl
) -> None:
    """Row 28 (the part that is ours; the IAM policies' part is tests/chart/test_iam_policies):
    the operator's own secret key and the assumed role's session never show up."""
    role = _role(control)
    kube.apply(adopting(credentials={"roleARN": role, "externalID": "ext-1234"}))
    kube.wait_reason(NAME, "Reconciled")
    control.add_fault("accessDenied", service="organizations", operation="DescribeOrganization")
    kube.wait_reason(NAME, "AccessDenied", type_="Synced", timeout=3 * RESYNC_SECONDS)
    seen = "\n".join(
        [
            operator.log_path.read_text(),
            json.dumps(kube.events(NAME)),
            json.dumps(kube.get(NAME)),
            kube("get", "events", "-n", NAMESPACE, "-o", "json").stdout,
        ]
    )
    for secret in ("not-a-secret", "SecretAccessKey", "SessionToken", "aws_session_token"):
        assert secret not in seen, secret
    issued = [c for c in control.calls() if c["operation"] == "AssumeRole"]
    assert issued, "the role was not assumed: the check would prove nothing"


def _planned(kube: Kube, state: str) -> bool:
    planned = kube.get(NAME).get("status", {}).get("plannedActions", [])
    return any(p["state"] == state for p in planned)


def _role(control: EmulatorControl) -> str:
    import boto3

    iam = boto3.client(
        "iam",
        region_name="us-east-1",
        endpoint_url=control.endpoint_url,
        aws_access_key_id="123456789012",
        aws_secret_access_key="x",
    )
    arn = iam.create_role(
        RoleName=f"awsorg-operator-{threading.get_ident()}",
        AssumeRolePolicyDocument='{"Version":"2012-10-17"}',
    )["Role"]["Arn"]
    return str(arn)
