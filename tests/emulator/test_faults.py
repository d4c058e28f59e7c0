"""Injected faults: kind, count, service/operation filters, and pass-through latency."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from botocore.config import Config

from awsorg_devbase import wait_for
from awsorg_emulator import AUDIT_ACCOUNT_ID as AUDIT
from awsorg_emulator import EmulatorControl, EmulatorProcess
from awsorg_emulator.client import FaultKindName
from tests.emulator.emulator_helpers import AUDIT_MANAGER, ClientFactory, aws_error

pytestmark = pytest.mark.integration

# (service, kind) -> (error code, HTTP status) botocore must see.
ERROR_CASES: list[tuple[str, FaultKindName, str, int]] = [
    ("auditmanager", "throttle", "ThrottlingException", 429),
    ("auditmanager", "internal", "InternalServerException", 500),
    ("auditmanager", "accessDenied", "AccessDeniedException", 403),
    ("organizations", "throttle", "TooManyRequestsException", 400),
    ("organizations", "internal", "ServiceException", 500),
    ("organizations", "accessDenied", "AccessDeniedException", 403),
    ("organizations", "concurrentModification", "ConcurrentModificationException", 400),
    ("sts", "throttle", "Throttling", 400),
    ("sts", "accessDenied", "AccessDenied", 403),
    ("auditmanager", "expiredToken", "ExpiredTokenException", 403),
    ("organizations", "expiredToken", "ExpiredTokenException", 403),
    ("sts", "expiredToken", "ExpiredToken", 400),
]
READS: dict[str, tuple[str, str, dict[str, str]]] = {
    "auditmanager": ("GetAccountStatus", "get_account_status", {}),
    "organizations": ("DescribeOrganization", "describe_organization", {}),
    "sts": ("GetCallerIdentity", "get_caller_identity", {}),
}


@pytest.mark.parametrize(("service", "kind", "code", "status"), ERROR_CASES)
def test_fault_kind_becomes_the_error_botocore_expects(
    aws: ClientFactory,
    control: EmulatorControl,
    service: str,
    kind: FaultKindName,
    code: str,
    status: int,
) -> None:
    operation, method, params = READS[service]
    control.add_fault(kind, service=service, operation=operation)
    client = aws(service)

    failure = aws_error(lambda: getattr(client, method)(**params))

    assert (failure.code, failure.status) == (code, status)
    if kind == "accessDenied":
        assert f"{service}:{operation}" in failure.message
    getattr(client, method)(**params)  # the single fault is used up


def test_fault_fails_exactly_count_calls(aws: ClientFactory, control: EmulatorControl) -> None:
    control.add_fault("internal", service="auditmanager", operation="GetAccountStatus", count=2)
    am = aws("auditmanager")

    codes = [aws_error(am.get_account_status).code for _ in range(2)]

    assert codes == ["InternalServerException"] * 2
    assert am.get_account_status()["status"] == "ACTIVE"
    assert control.faults() == []


def test_fault_only_hits_the_named_operation(aws: ClientFactory, control: EmulatorControl) -> None:
    control.add_fault("throttle", service="organizations", operation="EnableAWSServiceAccess")
    org = aws("organizations")

    org.describe_organization()
    failure = aws_error(lambda: org.enable_aws_service_access(ServicePrincipal=AUDIT_MANAGER))

    assert failure.code == "TooManyRequestsException"


def test_wildcard_fault_hits_any_service(aws: ClientFactory, control: EmulatorControl) -> None:
    control.add_fault("internal", count=2)

    sts_failure = aws_error(aws("sts").get_caller_identity)
    am_failure = aws_error(aws("auditmanager").get_account_status)

    assert (sts_failure.code, sts_failure.status) == ("InternalFailure", 500)
    assert am_failure.code == "InternalServerException"


def test_concurrent_modification_is_retried_by_nobody(
    aws: ClientFactory, control: EmulatorControl
) -> None:
    control.add_fault("concurrentModification", service="organizations")
    org = aws("organizations", config=Config(retries={"max_attempts": 3, "mode": "standard"}))

    failure = aws_error(lambda: org.enable_aws_service_access(ServicePrincipal=AUDIT_MANAGER))

    assert failure.code == "ConcurrentModificationException"
    assert failure.response["ResponseMetadata"]["RetryAttempts"] == 0


def test_throttling_is_retried_by_standard_mode(
    aws: ClientFactory, control: EmulatorControl
) -> None:
    control.add_fault("throttle", service="auditmanager", count=2)
    am = aws("auditmanager", config=Config(retries={"max_attempts": 3, "mode": "standard"}))

    result = am.get_account_status()

    assert result["status"] == "ACTIVE"
    assert result["ResponseMetadata"]["RetryAttempts"] == 2


def test_latency_delays_then_passes_through(aws: ClientFactory, control: EmulatorControl) -> None:
    control.add_fault("latency", service="auditmanager", latency_seconds=0.3)
    am = aws("auditmanager")

    started = time.monotonic()
    status = am.get_account_status()["status"]
    elapsed = time.monotonic() - started

    assert status == "ACTIVE"
    assert elapsed >= 0.3
    assert control.calls()[-1]["outcome"] == "ok"
    assert control.calls()[-1]["fault"] == "latency"


def test_clearing_the_faults_ends_a_hang_in_flight(
    aws: ClientFactory, control: EmulatorControl
) -> None:
    """An injected hang must not outlive its test: cleared, the call is answered at once."""
    control.add_fault("latency", service="auditmanager", latency_seconds=60)
    am = aws("auditmanager", config=Config(read_timeout=120, retries={"max_attempts": 0}))
    answered: list[str] = []
    call = threading.Thread(
        target=lambda: answered.append(am.get_account_status()["status"]), daemon=True
    )
    call.start()
    wait_for("the call to hang", lambda: control.faults() == [], timeout=30)

    control.clear_faults()
    call.join(timeout=30)

    assert answered == ["ACTIVE"]
    assert control.calls()[-1]["fault"] == "latency"


def test_faults_are_listed_and_cleared(control: EmulatorControl) -> None:
    control.add_fault("throttle", service="sts", count=3)

    listed = control.faults()
    control.clear_faults()

    assert listed == [
        {
            "service": "sts",
            "operation": "*",
            "kind": "throttle",
            "count": 3,
            "latencySeconds": 0.0,
            "region": "*",
        }
    ]
    assert control.faults() == []


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "explode"},
        {"kind": "throttle", "count": 0},
        {"kind": "latency"},
    ],
)
def test_malformed_fault_is_refused(
    emulator_process: EmulatorProcess, control: EmulatorControl, body: dict[str, object]
) -> None:
    url = f"{emulator_process.endpoint_url}/_emulator/faults"

    response = requests.post(url, json=body, timeout=5)

    assert response.status_code == 400
    assert control.faults() == []


def test_a_fault_can_be_bound_to_one_region(aws: ClientFactory, control: EmulatorControl) -> None:
    control.add_fault("throttle", service="auditmanager", region="eu-west-1", count=1)

    aws("auditmanager", region="us-east-1").get_account_status()  # another Region: untouched
    failure = aws_error(lambda: aws("auditmanager", region="eu-west-1").get_account_status())

    assert failure.code == "ThrottlingException"
    assert control.faults() == []


def test_stale_reads_answer_what_was_true_before_a_write_for_a_while(
    aws: ClientFactory, control: EmulatorControl
) -> None:
    am = aws("auditmanager", region="us-east-1")
    control.configure(maintenance_mode=False, stale_read_seconds=2.0)
    assert am.get_organization_admin_account()["adminAccountId"] == AUDIT
    am.deregister_organization_admin_account(adminAccountId=AUDIT)

    stale = am.get_organization_admin_account()
    other = aws("auditmanager", region="eu-west-1").get_organization_admin_account()
    deadline = time.monotonic() + 10
    while am.get_organization_admin_account().get("adminAccountId") and time.monotonic() < deadline:
        time.sleep(0.1)

    assert stale["adminAccountId"] == AUDIT  # the read lags the write
    assert other["adminAccountId"] == AUDIT  # another Region was not written
    assert "adminAccountId" not in am.get_organization_admin_account()  # and it catches up
    assert control.state()["auditManager"]["us-east-1"]["adminAccountID"] is None
