"""The order AWS requires still holds while Regions proceed side by side: read off the
emulator's call log, whose entries carry when each request arrived and when it was answered.

Calls that must be sent together are held at a rendezvous in the emulator until all of them
have arrived: sent together, they overlap in the log however slowly a loaded machine sends
them; sent one after another, they cannot. A per-call latency makes the calls that must wait
for each other visibly do so."""

from __future__ import annotations

import pytest

from awsorg_emulator import EmulatorControl
from awsorg_emulator.schema import CallRecord
from awsorg_experiments.bench import REGIONS as BENCH_REGIONS
from awsorg_operator.aws.concurrency import PER_IDENTITY
from tests.integration.conftest import AUDIT, REGIONS, WORKLOADS, Harness

pytestmark = pytest.mark.integration

ALLOW = {"awsorg.io/allow-admin-change": AUDIT}
LATENCY = 0.3  # seconds per AWS call: enough for the order of calls to show in the call log
TEN_REGIONS = list(BENCH_REGIONS)  # the benchmark's ten


def calls_of(control: EmulatorControl, operation: str) -> dict[str, CallRecord]:
    found = [c for c in control.calls() if c["operation"] == operation]
    by_region = {c["region"]: c for c in found}
    assert len(by_region) == len(found), f"{operation} sent twice in a Region: {found}"
    return by_region


def most_at_once(calls: list[CallRecord]) -> int:
    return max(sum(c["started"] <= a["started"] < c["ended"] for c in calls) for a in calls)


def overlap(a: CallRecord, b: CallRecord) -> bool:
    return a["started"] < b["ended"] and b["started"] < a["ended"]


def met(control: EmulatorControl) -> list[str]:
    """The rendezvous' statuses: "met" when every call in it arrived before any was answered."""
    return [r["status"] for r in control.rendezvous()]


def test_within_a_region_deregistration_ends_before_registration_starts(
    org: Harness, control: EmulatorControl
) -> None:
    control.configure(maintenance_mode=False, latency_seconds=LATENCY)
    control.add_rendezvous(
        [("auditmanager", "DeregisterOrganizationAdminAccount", r) for r in REGIONS]
    )
    org.annotations.update(ALLOW)
    org.apply(trustedAccess="Enabled", delegatedAdminAccountID=WORKLOADS, regions=REGIONS)

    org.reconcile()

    assert org.condition("Ready")[0:2] == ("True", "Reconciled"), org.condition("Ready")
    deregistered = calls_of(control, "DeregisterOrganizationAdminAccount")
    registered = calls_of(control, "RegisterOrganizationAdminAccount")
    assert set(deregistered) == set(registered) == set(REGIONS)
    for region in REGIONS:
        assert deregistered[region]["ended"] <= registered[region]["started"], region
    # The Regions did not wait for each other.
    assert met(control) == ["met"]
    assert overlap(deregistered["us-east-1"], deregistered["eu-west-1"]), deregistered


def test_trusted_access_is_disabled_only_after_every_deregistration_ended(
    org: Harness, control: EmulatorControl
) -> None:
    control.configure(latency_seconds=LATENCY)
    org.annotations.update(ALLOW)
    org.apply(trustedAccess="Disabled", regions=REGIONS)

    org.reconcile()

    assert org.condition("Ready")[0:2] == ("True", "Reconciled"), org.condition("Ready")
    deregistered = calls_of(control, "DeregisterOrganizationAdminAccount")
    [disabled] = calls_of(control, "DisableAWSServiceAccess").values()
    assert set(deregistered) == set(REGIONS)
    assert all(d["ended"] <= disabled["started"] for d in deregistered.values())


def test_a_setup_registers_every_region_at_once_and_enables_nothing_twice(
    org: Harness, control: EmulatorControl
) -> None:
    control.reset(seed="empty", maintenance_mode=False)
    control.add_rendezvous([("auditmanager", "RegisterAccount", r) for r in TEN_REGIONS])
    org.apply(trustedAccess="Enabled", delegatedAdminAccountID=AUDIT, regions=TEN_REGIONS)

    org.reconcile()

    assert org.condition("Ready")[0:2] == ("True", "Reconciled"), org.condition("Ready")
    registered = calls_of(control, "RegisterAccount")
    assert set(registered) == set(TEN_REGIONS)
    # Audit Manager's register enabled trusted access: Organizations' call is not sent.
    assert not calls_of(control, "EnableAWSServiceAccess")
    # Sent together: the bound is per account, service and Region (AWS's quotas), so ten
    # Regions do not wait for each other.
    assert met(control) == ["met"]
    assert most_at_once(list(registered.values())) == len(TEN_REGIONS) > PER_IDENTITY, registered


def test_a_steady_recheck_reads_in_parallel_and_writes_nothing(
    org: Harness, control: EmulatorControl
) -> None:
    org.apply(trustedAccess="Enabled", delegatedAdminAccountID=AUDIT, regions=REGIONS)
    org.reconcile()
    control.clear_calls()
    reads = ("GetAccountStatus", "GetSettings", "GetOrganizationAdminAccount")
    control.add_rendezvous([("auditmanager", read, r) for r in REGIONS for read in reads])

    org.reconcile()

    assert org.condition("Ready")[0:2] == ("True", "Reconciled"), org.condition("Ready")
    assert org.writes() == []
    operations = sorted(c["operation"] for c in control.calls())
    # Who the credentials belong to was asked on the first reconcile, not again.
    assert operations == sorted(
        [
            "DescribeOrganization",
            "DescribeAccount",
            "ListAWSServiceAccessForOrganization",
            "ListDelegatedAdministrators",
            *["GetAccountStatus", "GetSettings", "GetOrganizationAdminAccount"] * len(REGIONS),
        ]
    )
    status = calls_of(control, "GetAccountStatus")
    settings = calls_of(control, "GetSettings")
    admins = calls_of(control, "GetOrganizationAdminAccount")
    assert met(control) == ["met"]
    for region in REGIONS:
        # A Region's three reads go together (issue 19); the key and the administrator
        # count only because the status said ACTIVE (tests/integration/test_critical_path.py).
        assert overlap(status[region], settings[region])
        assert overlap(status[region], admins[region])
        assert overlap(settings[region], admins[region])
    assert overlap(status["us-east-1"], status["eu-west-1"])
