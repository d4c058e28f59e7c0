"""Whole reconciles against the AWS emulators over HTTP; Kubernetes is played by `Harness`.

The harness keeps what the API server would keep between reconciles (spec, generation,
annotations, the status the operator wrote), so these tests drive the same `Reconciler` the
kopf handlers drive, with nothing mocked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from awsorg_emulator import EmulatorControl, EmulatorProcess
from awsorg_operator.api import Spec, Status
from awsorg_operator.aws.clients import ClientFactory
from awsorg_operator.aws.connector import AwsConnector
from awsorg_operator.reconciler import Reconciler
from awsorg_operator.resource import Claim, Outcome, Resource
from awsorg_operator.settings import ClientSettings
from tests.memory_kube import MemoryJournal, MemoryLeases

MGMT, AUDIT, WORKLOADS = "123456789012", "111111111111", "222222222222"
REGIONS = ["us-east-1", "eu-west-1"]


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    log = tmp_path_factory.mktemp("emulator") / "emulator.log"
    with EmulatorProcess(log_path=log) as process:
        yield process


@pytest.fixture
def control(emulator: EmulatorProcess) -> EmulatorControl:
    emulator.control.reset(seed="existing-customer", maintenance_mode=True)
    return emulator.control


@pytest.fixture
def aws_env(emulator: EmulatorProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    """The standard SDK configuration a pod would have, pointed at the emulator."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", MGMT)  # moto reads a 12-digit key as the account
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)


@dataclass
class Harness:
    """One AuditManagerOrgConfig as the API server would store it."""

    reconciler: Reconciler
    control: EmulatorControl
    name: str = "org"
    uid: str = "uid-org"
    created: str = "2026-11-29T10:00:00Z"
    spec: dict[str, Any] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    generation: int = 0
    status: Status = field(default_factory=Status)
    others: list[Claim] = field(default_factory=list)
    last: Outcome | None = None

    def apply(self, **spec: Any) -> Harness:
        if spec != self.spec:
            self.spec, self.generation = spec, self.generation + 1
        return self

    def resource(self) -> Resource:
        return Resource(
            self.name,
            self.uid,
            self.generation,
            self.created,
            Spec.model_validate(self.spec),
            dict(self.annotations),
            self.status,
        )

    def reconcile(self) -> Outcome:
        self.last = self.reconciler.reconcile(self.resource(), self.others)
        self.status = self.last.status
        return self.last

    def delete(self) -> Outcome:
        self.last = self.reconciler.delete(self.resource(), self.others)
        self.status = self.last.status
        return self.last

    def condition(self, type_: str) -> tuple[str, str, str]:
        c = self.status.condition(type_)
        assert c is not None, f"no {type_} condition in {self.status}"
        return c.status, c.reason, c.message

    def claim(self) -> Claim:
        return Claim(self.name, self.uid, self.created, self.status.organization_id)

    def writes(self) -> list[tuple[str, str]]:
        """Mutating calls AWS received since the last `control.clear_calls()`."""
        return [
            (c["operation"], c["region"])
            for c in self.control.calls()
            if c["operation"].startswith(MUTATING)
        ]


MUTATING = ("Register", "Deregister", "Enable", "Disable", "Update", "Create", "Delete")


class Clock:
    """Moves one second each time it is read, so times written by two reconciles differ;
    `advance` jumps, e.g. past the grace of a write in flight."""

    def __init__(self) -> None:
        self.at = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.at += timedelta(seconds=1)
        return self.at

    def advance(self, delta: timedelta) -> None:
        self.at += delta


def make_reconciler(max_attempts: int = 2, region: str = "us-east-1") -> Reconciler:
    """A reconciler wired as kube/runtime.py wires it, the administrator's settings included.
    Built per test, so the environment `aws_env` set is what boto3 reads."""
    connector = AwsConnector(
        ClientFactory(ClientSettings(default_region=region, max_attempts=max_attempts))
    )
    return Reconciler(
        connector,
        MemoryLeases(),  # one store per test, shared by its resources, as the API server's
        MemoryJournal(),
        default_region=region,
        now=Clock(),
        settings=connector.connect_settings,
    )


@pytest.fixture
def reconciler(aws_env: None) -> Reconciler:
    return make_reconciler()


ADMIN_EXTERNAL_ID = "ext-admin-1"


@pytest.fixture
def admin_role(emulator: EmulatorProcess, control: EmulatorControl) -> str:
    """The role in the administrator's account that the operator assumes for its settings,
    trusting the management account with an external ID (docs/aws-permissions.md)."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{MGMT}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": ADMIN_EXTERNAL_ID}},
            }
        ],
    }
    iam = boto3.client(
        "iam",
        region_name=REGIONS[0],
        endpoint_url=emulator.endpoint_url,
        aws_access_key_id=AUDIT,  # someone working in the administrator's account
        aws_secret_access_key="x",
    )
    created = iam.create_role(
        RoleName="awsorg-operator-admin", AssumeRolePolicyDocument=json.dumps(trust)
    )
    return str(created["Role"]["Arn"])


@pytest.fixture
def org(reconciler: Reconciler, control: EmulatorControl) -> Harness:
    return Harness(reconciler, control)
