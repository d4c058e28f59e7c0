"""Logs an on-call person can search: with `--log-format json` every line is one JSON object,
each AWS change and each condition change has its own line with the resource, organization,
account, Region and operation as fields, and no credential ever appears, debug logging on.

The operator runs as in its pod (the chart's environment, -v), against the real API server
and the emulators, with base credentials of an IAM user and a role assumed for the resource:
every secret the test checks for is one the operator really held.
"""

from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path
from typing import Any

import boto3
import pytest

from awsorg_devstack import Operator
from awsorg_emulator import ORGANIZATION_ID, EmulatorControl
from tests.e2e.conftest import MGMT, RESYNC_SECONDS, Kube

pytestmark = pytest.mark.e2e

NAME = "json-logs"
REGIONS = ["us-east-1", "eu-west-1"]
AUDIT = "111111111111"


def _iam(control: EmulatorControl) -> Any:
    return boto3.client(
        "iam",
        region_name="us-east-1",
        endpoint_url=control.endpoint_url,
        aws_access_key_id=MGMT,
        aws_secret_access_key="x",
    )


def _base_credentials(control: EmulatorControl) -> tuple[str, str]:
    """An IAM user's access key in the management account: the operator's own identity."""
    iam, user = _iam(control), f"operator-{threading.get_ident()}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return str(key["AccessKeyId"]), str(key["SecretAccessKey"])


def _role(control: EmulatorControl) -> str:
    arn = _iam(control).create_role(
        RoleName=f"awsorg-json-{threading.get_ident()}",
        AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[]}',
    )["Role"]["Arn"]
    return str(arn)


def _lines(op: Operator) -> list[dict[str, Any]]:
    text = op.log_path.read_text()
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("=== "):
            continue  # the test's process manager marks each start and exit so
        try:
            parsed = json.loads(line)
        except ValueError:
            pytest.fail(f"line {n} of the operator's log is not JSON: {line!r}")
        assert isinstance(parsed, dict), line
        out.append(parsed)
    return out


def _events(lines: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [line for line in lines if line.get("event") == kind]


def test_json_logs_name_every_change_and_never_a_credential(
    kube: Kube, operator_kubeconfig: Path, control: EmulatorControl, tmp_path: Path
) -> None:
    control.reset(seed="empty", maintenance_mode=False)  # every Region needs a write
    key_id, secret = _base_credentials(control)
    role = _role(control)
    # One write refused, so a failed AWS change has its line too; the retry then succeeds.
    control.add_fault("accessDenied", service="auditmanager", operation="RegisterAccount")
    op = Operator(
        operator_kubeconfig,
        control.endpoint_url,
        tmp_path / "operator.log",
        {
            "operator.logFormat": "json",
            "operator.verbose": "true",
            "operator.resyncSeconds": str(RESYNC_SECONDS),
        },
        aws_account_id=key_id,
        aws_secret_access_key=secret,
    )
    op.start()
    try:
        _drive(kube, control, role)
        lines = _lines(op)
    finally:
        kube.delete_all()
        op.stop()
    issued = control.issued_credentials()
    assert issued, "the role was never assumed: the credential check would prove nothing"
    _check_aws_changes(_events(lines, "AwsChange"), control)
    _check_condition_changes(_events(lines, "ConditionChange"))
    assert any(line.get("severity") == "debug" for line in lines), "debug logging was off"
    _check_no_credential(op.log_path.read_text(), [key_id, secret], issued)


def _drive(kube: Kube, control: EmulatorControl, role: str) -> None:
    kube.apply(
        {
            "apiVersion": "awsorg.io/v1alpha1",
            "kind": "AuditManagerOrgConfig",
            "metadata": {"name": NAME},
            "spec": {
                "trustedAccess": "Enabled",
                "delegatedAdminAccountID": AUDIT,
                "regions": REGIONS,
                "credentials": {"roleARN": role, "externalID": "ext-json-1"},
            },
        }
    )
    kube.wait_reason(NAME, "Reconciled", timeout=6 * RESYNC_SECONDS)
    # A condition change for a reason that is not a write: the organization cannot be read.
    control.add_fault(
        "accessDenied", service="organizations", operation="DescribeOrganization", count=1000
    )
    kube.wait_reason(NAME, "AccessDenied", type_="Synced", timeout=6 * RESYNC_SECONDS)
    control.clear_faults()


def _check_aws_changes(changes: list[dict[str, Any]], control: EmulatorControl) -> None:
    for line in changes:
        assert line["resource"] == NAME, line
        assert line["organization"] == ORGANIZATION_ID and line["account"] == MGMT, line
        assert line["region"] in (*REGIONS, None), line
        assert line["operation"] and line["message"].startswith("AWS "), line
    sent = {(c["operation"], c["region"], c["outcome"]) for c in _writes(control)}
    # The emulator logs an organization-wide call under the Region it was signed for.
    logged = {(c["operation"], c["region"] or "us-east-1", c["outcome"]) for c in changes}
    # Every write the emulator answered has its line, and every line a write.
    assert logged == sent, (logged, sent)
    refused = [c for c in changes if c["outcome"] != "ok"]
    assert refused and refused[0]["reason"] == "AccessDenied", changes
    assert any(c["operation"] == "RegisterAccount" and c["outcome"] == "ok" for c in changes)


def _writes(control: EmulatorControl) -> list[dict[str, Any]]:
    mutating = ("Register", "Deregister", "Enable", "Disable", "Update")
    return [
        dict(c)
        for c in control.calls()
        if c["service"] in ("auditmanager", "organizations") and c["operation"].startswith(mutating)
    ]


def _check_condition_changes(changes: list[dict[str, Any]]) -> None:
    assert changes, "no condition change was logged"
    for line in changes:
        assert line["resource"] == NAME and line["object"]["name"] == NAME, line
        assert line["condition"] in ("Ready", "Synced") and line["status"], line
        assert line["regions"], line
    seen = [(c["condition"], c["status"], c["reason"]) for c in changes]
    assert ("Ready", "True", "Reconciled") in seen, seen
    assert ("Synced", "False", "AccessDenied") in seen, seen
    ready = [c for c in changes if c["reason"] == "Reconciled" and c["condition"] == "Ready"]
    assert ready[0]["organization"] and ready[0]["account"] == MGMT, ready[0]
    # One line per change, not one per re-check: no two consecutive lines say the same.
    for condition in ("Ready", "Synced"):
        states = [(c["status"], c["reason"]) for c in changes if c["condition"] == condition]
        assert all(a != b for a, b in itertools.pairwise(states)), states


def _check_no_credential(text: str, base: list[str], issued: list[dict[str, str]]) -> None:
    secrets = base + [value for creds in issued for value in creds.values()]
    assert len(secrets) >= 5, secrets
    leaked = [s for s in secrets if s in text]
    assert leaked == [], f"credentials in the operator's log: {leaked}"
