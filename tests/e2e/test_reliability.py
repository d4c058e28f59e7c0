"""Rows of the reliability matrix (docs/reliability.md) that need the whole operator on the
real API server and are not covered by the other e2e files."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Mapping
from typing import Any

import pytest

from awsorg_devstack import NAMESPACE, Operator
from awsorg_emulator import EmulatorControl
from tests.e2e.conftest import AUDIT, RESYNC_SECONDS, Kube, wait_for
from tests.e2e.test_operator import EXAMPLE, NAME, admin_in, adopting, aws, trusted, writes

pytestmark = pytest.mark.e2e


def reconcile_starts(control: EmulatorControl) -> list[float]:
    """When each reconcile began, from the call log: each reads the organization first."""
    return [c["started"] for c in control.calls() if c["operation"] == "DescribeOrganization"]


@pytest.mark.slow
def test_a_throttling_storm_backs_off_and_converges_with_no_write(
    kube: Kube, operator: Operator, control: EmulatorControl
) -> None:
    """Row 3: the tries during a storm are spaced by a backoff that doubles (5 s at first,
    its upper half jitter: each gap is at least half its step), for the re-check timer that
    meets the storm; after the storm, Ready again and 0 writes. Asserted on the call log's
    timestamps: a hot loop, or a constant 10 s retry, breaks the fourth gap's bound."""
    kube.apply(EXAMPLE)
    kube.wait_reason(NAME, "Reconciled")
    control.clear_calls()
    control.add_fault("throttle", service="auditmanager", operation="GetAccountStatus", count=10**6)
    tries = 5
    # At least 2.5 + 5 + 10 + 20 s of backoff after the first failed re-check.
    wait_for(f"{tries} tries in the storm", lambda: len(reconcile_starts(control)) >= tries, 240)
    starts = reconcile_starts(control)[:tries]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    # The documented backoff (5 s doubling, its upper half jitter), not the code's own figures:
    # each gap at least half its step.
    least = [5.0 * 2**attempt / 2 for attempt in range(len(gaps))]
    assert all(g >= low for g, low in zip(gaps, least, strict=True)), (gaps, least)
    control.clear_faults()
    # The next try comes within one backoff step of the storm's end (up to 80 s by now).
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


def test_a_writer_holding_a_copy_from_before_the_operators_write_gets_a_409(
    kube: Kube, operator: Operator, control: EmulatorControl
) -> None:
    """Row 13 with optimistic concurrency, as `kubectl edit` and controllers write: a copy
    read before the operator's own writes (drift corrected at a re-check: the in-flight
    record, then the status) is refused by the API server with 409, for metadata and for
    status; re-read and written again, the user's label lands and the operator's status and
    kopf's annotations are still there."""
    kube.apply(adopting())
    kube.wait_reason(NAME, "Reconciled")
    copy = kube.get(NAME)
    aws(control, "auditmanager").deregister_organization_admin_account(adminAccountId=AUDIT)
    wait_for(
        "the operator's own writes after the copy",
        lambda: (
            admin_in(control, "us-east-1") == AUDIT
            and kube.condition(NAME).get("reason") == "Reconciled"
            and kube.get(NAME)["metadata"]["resourceVersion"] != copy["metadata"]["resourceVersion"]
        ),
        timeout=6 * RESYNC_SECONDS,
    )
    copy["metadata"].setdefault("labels", {})["example.com/team"] = "audit"
    copy["status"] = {"conditions": []}
    for sub in ([], ["--subresource=status"]):
        refused = kube("replace", *sub, "-f", "-", input=json.dumps(copy), check=False)
        assert refused.returncode != 0 and "the object has been modified" in refused.stderr, (
            sub,
            refused.stderr,
        )

    def relabelled() -> bool:
        """Re-read and written again, as such a writer does; the operator may have written
        once more in between (a late status write on a loaded machine): then another 409."""
        fresh = kube.get(NAME)
        fresh["metadata"].setdefault("labels", {})["example.com/team"] = "audit"
        done = kube("replace", "-f", "-", input=json.dumps(fresh), check=False)
        assert done.returncode == 0 or "the object has been modified" in done.stderr, done
        return done.returncode == 0

    wait_for("the re-read copy written", relabelled)
    body = kube.get(NAME)
    assert body["metadata"]["labels"]["example.com/team"] == "audit"
    assert any(k.startswith("kopf.awsorg.io") for k in body["metadata"]["annotations"])
    assert kube.condition(NAME)["reason"] == "Reconciled"
    kube.wait_reason(NAME, "Reconciled")  # the label change is handled, nothing undone
    assert [w for w in writes(control) if w[0].startswith("Register")] == [
        ("RegisterOrganizationAdminAccount", "us-east-1")
    ]


@pytest.mark.parametrize("writer", ["change", "recheck"])
def test_a_resource_deleted_during_a_write_waits_for_it_then_undoes_it(
    kube: Kube, operator: Operator, control: EmulatorControl, writer: str
) -> None:
    """Row 24, with deletionPolicy Delete: a deletion that did not wait for the write in
    flight would read AWS before the write lands, find nothing of its own to undo and leave
    the administrator behind. The call log orders the write before the deregistration. The
    write is the change handler's (kopf itself runs an object's handlers one at a time) or
    the re-check timer's, which runs beside them: there only the per-resource lock waits."""
    operation = "RegisterAccount" if writer == "change" else "RegisterOrganizationAdminAccount"
    slow = {"service": "auditmanager", "operation": operation, "region": "us-east-1"}
    if writer == "change":
        control.reset(seed="empty", maintenance_mode=False)
        control.add_fault("latency", latency_seconds=8, count=1, **slow)
        kube.apply(adopting(deletionPolicy="Delete"))
    else:
        kube.apply(adopting(deletionPolicy="Delete"))
        kube.wait_reason(NAME, "Reconciled")
        control.add_fault("latency", latency_seconds=8, count=1, **slow)
        aws(control, "auditmanager").deregister_organization_admin_account(adminAccountId=AUDIT)
    # The fault is consumed when the request reaches the emulator: the write is in flight.
    wait_for(f"the {writer}'s write sent", lambda: not control.faults(), timeout=6 * RESYNC_SECONDS)
    kube("delete", "amoc", NAME, "--wait=false")
    wait_for("the resource gone", lambda: not kube.names(), timeout=90)
    calls = control.calls()
    (write,) = [c for c in calls if c["operation"] == operation and _east(c)]
    # Every write of the deletion, in any Region, went out after the write in flight ended.
    undone = [
        c
        for c in calls
        if c["operation"].startswith(("Deregister", "Disable")) and c["started"] > write["started"]
    ]
    assert any(_east(c) for c in undone), f"us-east-1 not undone: {writes(control)}"
    assert all(c["started"] >= write["ended"] for c in undone), (write, undone)
    assert admin_in(control, "us-east-1") is None


def test_no_credential_reaches_logs_events_or_status(
    kube: Kube, operator: Operator, control: EmulatorControl
) -> None:
    """Row 28 (the part that is ours; the IAM policies' part is tests/chart/test_iam_policies):
    neither the operator's own secret key nor the secret key and session token AWS issued
    for the assumed role shows up, also after a failure is reported."""
    role = _role(control)
    kube.apply(adopting(credentials={"roleARN": role, "externalID": "ext-1234"}))
    kube.wait_reason(NAME, "Reconciled")
    control.add_fault("accessDenied", service="organizations", operation="DescribeOrganization")
    kube.wait_reason(NAME, "AccessDenied", type_="Synced", timeout=3 * RESYNC_SECONDS)
    issued = control.issued_credentials()
    assert issued, "the role was not assumed: the check would prove nothing"
    secrets = {"not-a-secret"} | {c[k] for c in issued for k in ("secretAccessKey", "sessionToken")}
    seen = "\n".join(
        [
            operator.log_path.read_text(),
            json.dumps(kube.events(NAME)),
            json.dumps(kube.get(NAME)),
            kube("get", "events", "-n", NAMESPACE, "-o", "json").stdout,
        ]
    )
    for secret in sorted(secrets):
        assert secret and secret not in seen, f"a credential was shown: {secret[:6]}..."
    for name in ("SecretAccessKey", "SessionToken", "aws_session_token"):
        assert name not in seen, name


def _east(call: Mapping[str, object]) -> bool:
    return call["region"] == "us-east-1"


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
