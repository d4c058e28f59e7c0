"""Who owns an AWS organization, on the real API server: the first resource to claim it, held
in a Lease, whatever creation times and names say, across restarts and restores."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from awsorg_devstack import NAMESPACE, Operator
from awsorg_emulator import ORGANIZATION_ID, EmulatorControl
from tests.e2e.conftest import AUDIT, RESYNC_SECONDS, Kube, wait_for
from tests.e2e.test_operator import admin_in, adopting, amoc, aws, trusted, writes

pytestmark = pytest.mark.e2e

LEASE = f"awsorg-auditmanager-{ORGANIZATION_ID}"


def lease_holder(kube: Kube) -> str | None:
    out = kube("get", "lease", "-n", NAMESPACE, LEASE, "-o", "json", check=False)
    return json.loads(out.stdout)["spec"].get("holderIdentity") if out.returncode == 0 else None


def claim(holder_uid: str, holder_name: str) -> dict[str, Any]:
    """The Lease of a claim, as the operator writes it."""
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": LEASE,
            "namespace": NAMESPACE,
            "labels": {"app.kubernetes.io/managed-by": "awsorg-operator"},
            "annotations": {"awsorg.io/holder-name": holder_name},
        },
        "spec": {"holderIdentity": holder_uid},
    }


def uid(kube: Kube, name: str) -> str:
    return str(kube.get(name)["metadata"]["uid"])


def reasons(kube: Kube, *names: str) -> dict[str, str | None]:
    return {n: kube.condition(n).get("reason") for n in names}


def settled(kube: Kube, names: list[str]) -> dict[str, str | None]:
    """Every resource has a Ready reason and exactly one is not in Conflict."""
    now = reasons(kube, *names)
    owners = [n for n, r in now.items() if r != "Conflict"]
    return now if all(now.values()) and len(owners) == 1 else {}


def reconciles(op: Operator) -> float:
    """Reconciles the operator has finished, from its own metrics."""
    # prometheus_client's filter takes sample names, not the histogram's.
    text = op.metrics(names=(COUNT,))
    counts = [line for line in text.splitlines() if line.startswith(COUNT)]
    assert counts, "no reconcile counter: the check would prove nothing"
    return sum(float(line.rsplit(" ", 1)[1]) for line in counts)


COUNT = "awsorg_reconcile_duration_seconds_count"


def stays(kube: Kube, op: Operator, names: list[str], expected: dict[str, str | None]) -> None:
    """No flapping across two re-checks of every resource, counted in the operator's own
    reconciles rather than in seconds: afterwards the same reasons, no Ready condition that
    moved (a flap and back moves lastTransitionTime), the same holder, no new Event."""
    before = {n: kube.condition(n).get("lastTransitionTime") for n in names}
    holder, events = lease_holder(kube), _events(kube, names)
    done = reconciles(op)
    wait_for(
        "two re-checks of every resource",
        lambda: reconciles(op) >= done + 2 * len(names),
        timeout=10 * RESYNC_SECONDS,
    )
    assert reasons(kube, *names) == expected
    assert {n: kube.condition(n).get("lastTransitionTime") for n in names} == before
    assert lease_holder(kube) == holder and _events(kube, names) == events


def _events(kube: Kube, names: list[str]) -> list[tuple[str, str]]:
    return sorted((n, e["reason"]) for n in names for e in kube.events(n))


@pytest.mark.slow
def test_a_resource_created_in_the_same_second_with_an_earlier_name_does_not_take_over(
    kube: Kube, operator: Operator, control: EmulatorControl
) -> None:
    # Both must be created in the same second (timestamps have one-second resolution), so that
    # the late one counts as older by creation time and name, and the owner must hold the claim.
    # On a loaded machine the operator can take longer than a second to claim, so it is stopped
    # while both are created, the claim is written as the operator writes one
    # (kube/leases.py), and the operator starts again: it must honour the claim.
    operator.stop()
    both = [
        adopting("zz-owner"),
        amoc("aa-late", trustedAccess="Enabled", managementPolicy="Observe"),
    ]
    for _ in range(5):
        kube.apply({"apiVersion": "v1", "kind": "List", "items": both})
        stamps = {kube.get(n)["metadata"]["creationTimestamp"] for n in ("zz-owner", "aa-late")}
        if len(stamps) == 1:
            break
        kube("delete", "amoc", "zz-owner", "aa-late")  # no finalizer yet: nothing saw them
    assert len(stamps) == 1, "could not create both resources within one second"
    kube.apply(claim(uid(kube, "zz-owner"), "zz-owner"))
    operator.start()
    owner_uid = uid(kube, "zz-owner")
    kube.wait_reason("aa-late", "Conflict")
    kube.wait_reason("zz-owner", "Reconciled")
    stays(
        kube, operator, ["zz-owner", "aa-late"], {"zz-owner": "Reconciled", "aa-late": "Conflict"}
    )
    assert lease_holder(kube) == owner_uid
    # The owner still manages it: drift made behind its back is corrected at a re-check.
    aws(control, "auditmanager").deregister_organization_admin_account(adminAccountId=AUDIT)
    wait_for("the owner to correct drift", lambda: admin_in(control, "us-east-1") == AUDIT)
    assert kube.condition("aa-late")["reason"] == "Conflict"


@pytest.mark.slow
def test_simultaneous_creation_settles_on_one_owner_without_flapping(
    kube: Kube, operator: Operator, control: EmulatorControl
) -> None:
    names = ["first", "second", "third", "fourth"]
    kube.apply({"apiVersion": "v1", "kind": "List", "items": [adopting(n) for n in names]})
    result = wait_for("one owner, the rest in Conflict", lambda: settled(kube, names))
    (owner,) = [n for n, r in result.items() if r != "Conflict"]
    assert result[owner] == "Reconciled" and lease_holder(kube) == uid(kube, owner)
    stays(kube, operator, names, result)
    assert writes(control) == [] and trusted(control)


def test_a_holder_deleted_with_retain_hands_over_to_the_next(
    kube: Kube, operator: Operator, control: EmulatorControl
) -> None:
    kube.apply(adopting("owner"))
    kube.wait_reason("owner", "Reconciled")
    kube.apply(adopting("next"))
    conflict = kube.wait_reason("next", "Conflict")
    assert "'owner'" in conflict["message"] and "deletionPolicy Retain" in conflict["message"]
    kube("delete", "amoc", "owner", "--timeout=60s")
    kube.wait_reason("next", "Reconciled", timeout=3 * RESYNC_SECONDS)
    assert lease_holder(kube) == uid(kube, "next")
    released = [e for e in kube.events("owner") if e["reason"] == "Released"]
    claimed = [e for e in kube.events("next") if e["reason"] == "Claimed"]
    assert released and any("'owner' released it" in e["message"] for e in claimed)
    assert writes(control) == []


def test_restarting_the_operator_and_restoring_with_new_timestamps_keep_the_owner(
    kube: Kube, operator: Operator, control: EmulatorControl
) -> None:
    kube.apply(adopting("zz-owner"))
    kube.wait_reason("zz-owner", "Reconciled")
    operator.stop()
    kube.apply(adopting("aa-late"))
    # A restore from a backup: the object comes back with a new UID and creation time,
    # now later than aa-late's, while the operator is down.
    saved = kube.get("zz-owner")
    unblock = '{"metadata":{"finalizers":null}}'
    kube("patch", "amoc", "zz-owner", "--type=merge", "-p", unblock)
    kube("delete", "amoc", "zz-owner", "--timeout=30s")
    # Creation times have one-second resolution: restore in a later second than aa-late's.
    late = kube.get("aa-late")["metadata"]["creationTimestamp"]
    wait_for("a later second", lambda: _now() > late, timeout=5)
    restored = _restorable(saved)
    kube.apply(restored)
    assert (
        kube.get("zz-owner")["metadata"]["creationTimestamp"]
        > kube.get("aa-late")["metadata"]["creationTimestamp"]
    )
    operator.start()
    kube.wait_reason("aa-late", "Conflict", timeout=3 * RESYNC_SECONDS)
    kube.wait_reason("zz-owner", "Reconciled", timeout=3 * RESYNC_SECONDS)
    assert lease_holder(kube) == uid(kube, "zz-owner")
    assert writes(control) == []


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _restorable(saved: dict[str, Any]) -> dict[str, Any]:
    meta = saved["metadata"]
    return {
        "apiVersion": saved["apiVersion"],
        "kind": saved["kind"],
        "metadata": {"name": meta["name"], "annotations": {}},
        "spec": saved["spec"],
    }


# With one worker, the hanging one's Region read times out soon, so that the other one's turn
# comes; with the pool, the read outlasts the test's wait for the other one, so that the order
# does not depend on how fast a loaded machine gets there.
@pytest.mark.parametrize(
    ("workers", "read_timeout", "first"), [("1", 5, "hanging"), ("4", 55, "other")]
)
def test_a_hanging_region_does_not_hold_up_the_other_resources(
    kube: Kube,
    operator_kubeconfig: Path,
    control: EmulatorControl,
    tmp_path: Path,
    workers: str,
    read_timeout: int,
    first: str,
) -> None:
    """With one worker, the other resource waits for the hanging one (the check can fail);
    with the operator's own pool, it is reconciled meanwhile."""
    op = Operator(
        operator_kubeconfig,
        control.endpoint_url,
        tmp_path / "operator.log",
        {"aws.workers": workers, "aws.readTimeout": str(read_timeout), "aws.maxAttempts": "1"},
    )
    control.add_fault(
        "latency",
        service="auditmanager",
        region="eu-west-1",
        latency_seconds=60,  # the emulator's longest
        count=100,
    )
    op.start()
    try:
        kube.apply(adopting("hanging"))
        wait_for("the hanging one to claim", lambda: lease_holder(kube) == uid(kube, "hanging"))
        kube.apply(adopting("other"))
        wait_for("the other one's status", lambda: bool(kube.condition("other")), timeout=50)
        # Whether the hanging one's reconcile had ended by then: with one worker it must have
        # (the other one's turn came after it), with the pool it cannot have.
        hanging_done = bool(kube.condition("hanging"))
        assert hanging_done is (first == "hanging"), op.log_tail(40)
        assert kube.condition("other")["reason"] == "Conflict"
    finally:
        control.clear_faults()  # ends the hanging read too: the deletions release the claims
        kube.delete_all()
        op.stop()
