"""`awsorg-operator plan` as a pipeline runs it: a process, a file, the standard AWS SDK
settings pointed at the emulators; its exit status and output, and the emulator's call log
proving it never sent a write."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from awsorg_devbase import free_ports
from awsorg_emulator import ORGANIZATION_ID, EmulatorControl, EmulatorProcess
from tests.integration.conftest import AUDIT, MGMT, MUTATING, REGIONS, WORKLOADS
from tests.integration.test_reconcile import as_management

pytestmark = pytest.mark.integration

NAME = "my-organization"


def manifest(**spec: Any) -> dict[str, Any]:
    base = {"trustedAccess": "Enabled", "delegatedAdminAccountID": AUDIT, "regions": REGIONS}
    return {
        "apiVersion": "awsorg.io/v1alpha1",
        "kind": "AuditManagerOrgConfig",
        "metadata": {"name": NAME},
        "spec": base | spec,
    }


def run_plan(
    tmp_path: Path,
    endpoint: str,
    *docs: dict[str, Any],
    output: str = "json",
    access_key: str = MGMT,
    secret_key: str = "plan-secret",
    extra: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "resource.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": access_key,  # the emulator reads 12 digits as the account
        "AWS_SECRET_ACCESS_KEY": secret_key,
        "AWS_REGION": "us-east-1",
    }
    argv = [sys.executable, "-m", "awsorg_operator", "plan", "-f", str(path), "-o", output]
    return subprocess.run(
        [*argv, *extra], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def writes(control: EmulatorControl) -> list[tuple[str, str]]:
    return [(c["operation"], c["region"]) for c in control.calls() if is_write(c["operation"])]


def is_write(operation: str) -> bool:
    return operation.startswith(MUTATING)


def parsed(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    try:
        return json.loads(done.stdout)  # type: ignore[no-any-return]
    except ValueError:
        pytest.fail(f"not JSON (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")


def test_in_sync_exits_0_and_only_reads(
    tmp_path: Path, emulator: EmulatorProcess, control: EmulatorControl
) -> None:
    done = run_plan(tmp_path, emulator.endpoint_url, manifest())
    out = parsed(done)
    assert done.returncode == 0, done
    (res,) = out["resources"]
    assert out["inSync"] and res["inSync"] and res["actions"] == [] and res["errors"] == []
    assert res["aws"]["organizationID"] == ORGANIZATION_ID
    admins = {r["region"]: r["delegatedAdminAccountID"] for r in res["aws"]["regions"]}
    assert admins == dict.fromkeys(REGIONS, AUDIT)
    calls = control.calls()
    assert calls and not [c for c in calls if is_write(c["operation"])], calls
    assert done.stderr == "", done.stderr  # a quiet run prints the plan alone


def test_drift_exits_2_and_lists_the_actions_in_order_without_sending_them(
    tmp_path: Path, emulator: EmulatorProcess, control: EmulatorControl
) -> None:
    control.reset(seed="empty", maintenance_mode=False)
    done = run_plan(tmp_path, emulator.endpoint_url, manifest(kmsKey="DEFAULT"))
    out = parsed(done)
    assert done.returncode == 2, done
    (res,) = out["resources"]
    assert [(a["operation"], a["region"], a["accountID"]) for a in res["actions"]] == [
        ("RegisterAccount", "us-east-1", AUDIT),
        ("RegisterAccount", "eu-west-1", AUDIT),
        ("EnableAWSServiceAccess", None, None),
    ]
    assert res["wouldApply"] and len(res["differences"]) == 3
    assert writes(control) == []
    # The same again as text, for a person reading a pull request.
    text = run_plan(tmp_path, emulator.endpoint_url, manifest(kmsKey="DEFAULT"), output="text")
    assert text.returncode == 2, text
    assert "differs" in text.stdout and "1. RegisterAccount in us-east-1" in text.stdout
    assert writes(control) == []


def test_a_blocked_administrator_change_exits_2_with_what_approving_would_do(
    tmp_path: Path, emulator: EmulatorProcess, control: EmulatorControl
) -> None:
    done = run_plan(tmp_path, emulator.endpoint_url, manifest(delegatedAdminAccountID=WORKLOADS))
    (res,) = parsed(done)["resources"]
    assert done.returncode == 2, done
    assert [b["reason"] for b in res["blocked"]] == ["AdminChangeBlocked"] * 2
    assert [a["operation"] for a in res["blocked"][0]["actions"]] == [
        "DeregisterOrganizationAdminAccount",
        "RegisterOrganizationAdminAccount",
    ]
    assert res["actions"] == [] and writes(control) == []


def test_observe_exits_2_and_says_the_operator_would_not_act(
    tmp_path: Path, emulator: EmulatorProcess, control: EmulatorControl
) -> None:
    as_management(
        emulator.endpoint_url, "auditmanager", "eu-west-1"
    ).deregister_organization_admin_account(adminAccountId=AUDIT)
    control.clear_calls()
    done = run_plan(
        tmp_path, emulator.endpoint_url, manifest(managementPolicy="Observe"), output="text"
    )
    assert done.returncode == 2, done
    assert "would not act (managementPolicy Observe)" in done.stdout, done.stdout
    assert "RegisterOrganizationAdminAccount in eu-west-1" in done.stdout, done.stdout
    assert writes(control) == []


def test_an_aws_refusal_exits_1_with_the_error_code(
    tmp_path: Path, emulator: EmulatorProcess, control: EmulatorControl
) -> None:
    control.add_fault(
        "accessDenied", service="organizations", operation="DescribeOrganization", count=10
    )
    done = run_plan(tmp_path, emulator.endpoint_url, manifest(), output="text")
    assert done.returncode == 1, done
    assert "error: organization: DescribeOrganization: AccessDeniedException" in done.stdout
    as_json = parsed(run_plan(tmp_path, emulator.endpoint_url, manifest()))
    (err,) = as_json["resources"][0]["errors"]
    assert (err["code"], err["reason"]) == ("AccessDeniedException", "AccessDenied")
    assert writes(control) == []


def test_a_region_that_cannot_be_read_exits_1(
    tmp_path: Path, emulator: EmulatorProcess, control: EmulatorControl
) -> None:
    control.add_fault(
        "accessDenied", service="auditmanager", region="eu-west-1", operation="*", count=10
    )
    done = run_plan(tmp_path, emulator.endpoint_url, manifest())
    (res,) = parsed(done)["resources"]
    assert done.returncode == 1, done
    assert [(e["region"], e["code"]) for e in res["errors"]] == [
        ("eu-west-1", "AccessDeniedException")
    ]


def test_an_unreachable_endpoint_exits_1_with_a_readable_message(tmp_path: Path) -> None:
    (port,) = free_ports(1)  # nothing listens there
    done = run_plan(
        tmp_path,
        f"http://127.0.0.1:{port}",
        manifest(),
        output="text",
        extra=("--aws-max-attempts", "1", "--aws-connect-timeout", "1"),
    )
    assert done.returncode == 1, done
    assert "error: organization:" in done.stdout and "EndpointConnectionError" in done.stdout


def test_the_management_account_check_stops_the_plan(
    tmp_path: Path, emulator: EmulatorProcess, control: EmulatorControl
) -> None:
    done = run_plan(tmp_path, emulator.endpoint_url, manifest(), access_key=WORKLOADS)
    (res,) = parsed(done)["resources"]
    assert done.returncode == 1, done
    assert res["stop"]["reason"] == "NotManagementAccount"
    assert writes(control) == []


def test_a_role_from_the_spec_is_assumed_and_only_reads_are_made_with_it(
    tmp_path: Path, emulator: EmulatorProcess, control: EmulatorControl
) -> None:
    """The resource's credentials.roleARN/externalID, as the operator uses them; the base
    identity is a member account, so a plan that reached AWS as anything but the role would
    stop at NotManagementAccount."""
    control.reset(seed="empty", maintenance_mode=False)
    role = as_management(emulator.endpoint_url, "iam").create_role(
        RoleName="awsorg-plan",
        AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[]}',
    )["Role"]["Arn"]
    control.clear_calls()
    spec = manifest(credentials={"roleARN": role, "externalID": "ext-plan-1"})
    done = run_plan(tmp_path, emulator.endpoint_url, spec, access_key=WORKLOADS)
    assert done.returncode == 2, done
    calls = control.calls()
    assert [c["account"] for c in calls if c["operation"] == "AssumeRole"] == [WORKLOADS]
    assert {c["account"] for c in calls if c["service"] == "auditmanager"} == {MGMT}
    assert writes(control) == []


def test_every_resource_in_the_file_is_planned_and_other_kinds_skipped(
    tmp_path: Path, emulator: EmulatorProcess, control: EmulatorControl
) -> None:
    other = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}
    second = manifest(delegatedAdminAccountID=WORKLOADS) | {"metadata": {"name": "second"}}
    done = run_plan(tmp_path, emulator.endpoint_url, manifest(), other, second)
    out = parsed(done)
    assert done.returncode == 2, done
    assert [(r["name"], r["inSync"]) for r in out["resources"]] == [
        (NAME, True),
        ("second", False),
    ]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("kind: ConfigMap\nmetadata: {name: x}\n", "no AuditManagerOrgConfig"),
        ("kind: AuditManagerOrgConfig\nspec: {trustedAccess: Maybe}\n", "invalid spec"),
        (": : :\n", "not YAML"),
    ],
)
def test_a_file_that_is_not_a_resource_exits_1(tmp_path: Path, content: str, says: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    argv = [sys.executable, "-m", "awsorg_operator", "plan", "-f", str(path)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1 and says in done.stderr, done


# The read half of the operator's IAM policy (docs/aws-permissions.md), and nothing else.
READ_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "organizations:DescribeOrganization",
                "organizations:ListAWSServiceAccessForOrganization",
                "organizations:ListDelegatedAdministrators",
                "organizations:DescribeAccount",
                "auditmanager:GetAccountStatus",
                "auditmanager:GetOrganizationAdminAccount",
                "auditmanager:GetSettings",
            ],
            "Resource": "*",
        }
    ],
}


def read_only_identity(endpoint: str) -> tuple[str, str, str]:
    """An IAM user that may only assume a role, and the role, which may only read."""
    iam = as_management(endpoint, "iam")
    iam.create_user(UserName="ci")
    user_arn = iam.get_user(UserName="ci")["User"]["Arn"]
    key = iam.create_access_key(UserName="ci")["AccessKey"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "sts:AssumeRole"}
        ],
    }
    role = iam.create_role(RoleName="plan-readonly", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(
        RoleName="plan-readonly", PolicyName="read", PolicyDocument=json.dumps(READ_ONLY)
    )
    assume = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role["Role"]["Arn"]}
        ],
    }
    iam.put_user_policy(UserName="ci", PolicyName="assume", PolicyDocument=json.dumps(assume))
    return str(key["AccessKeyId"]), str(key["SecretAccessKey"]), str(role["Role"]["Arn"])


def as_role(endpoint: str, key: tuple[str, str], role: str, service: str) -> Any:
    import boto3

    sts = boto3.client(
        "sts",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
    )
    creds = sts.assume_role(RoleArn=role, RoleSessionName="probe")["Credentials"]
    return boto3.client(  # type: ignore[call-overload]
        service,
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def test_with_read_only_credentials_the_plan_reads_everything_and_never_writes(
    tmp_path: Path, emulator: EmulatorProcess, control: EmulatorControl
) -> None:
    """The emulator enforces IAM (moto's evaluation, Audit Manager included): the role may
    only read. The plan still sees all it needs, and no write reaches AWS, not even one
    that would be refused."""
    from botocore.exceptions import ClientError

    control.reset(seed="empty", maintenance_mode=False)  # every Region needs a write
    key_id, secret, role = read_only_identity(emulator.endpoint_url)
    control.configure(enforce_iam=True)
    try:
        # The role really may not write: the emulator refuses it, as AWS would.
        am = as_role(emulator.endpoint_url, (key_id, secret), role, "auditmanager")
        with pytest.raises(ClientError, match="AccessDenied"):
            am.register_account()
        org = as_role(emulator.endpoint_url, (key_id, secret), role, "organizations")
        with pytest.raises(ClientError, match="AccessDenied"):
            org.enable_aws_service_access(ServicePrincipal="auditmanager.amazonaws.com")
        control.clear_calls()
        spec = manifest(credentials={"roleARN": role, "externalID": "ext-plan-1"})
        done = run_plan(tmp_path, emulator.endpoint_url, spec, access_key=key_id, secret_key=secret)
    finally:
        control.configure(enforce_iam=False)
    (res,) = parsed(done)["resources"]
    assert done.returncode == 2, done
    assert [a["operation"] for a in res["actions"]] == ["RegisterAccount"] * 2 + [
        "EnableAWSServiceAccess"
    ]
    calls = control.calls()
    assert writes(control) == [], calls
    # A Region's settings and administrator are asked together with its account status and
    # used only when the account is ACTIVE there; where it is not registered yet, AWS answers
    # them AccessDenied. Every other read succeeds with read-only credentials.
    registering = {a["region"] for a in res["actions"] if a["operation"] == "RegisterAccount"}
    refused = [c for c in calls if c["outcome"] != "ok"]
    unregistered = {"GetSettings", "GetOrganizationAdminAccount"}
    assert all(c["operation"] in unregistered and c["region"] in registering for c in refused), (
        calls
    )
    assert {c["service"] for c in calls} == {"sts", "organizations", "auditmanager"}
