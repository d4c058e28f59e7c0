"""Reliability row 2: every AWS client keeps botocore's `standard` retry mode and short
timeouts; a regression to `legacy` (which does not retry TooManyRequestsException) or to
botocore's 60 s timeouts fails here."""

from __future__ import annotations

from typing import Any

import pytest

from awsorg_operator.aws.clients import ClientFactory
from awsorg_operator.external import Identity
from awsorg_operator.settings import ClientSettings

pytestmark = pytest.mark.unit


@pytest.fixture
def source_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The operator's own credentials, as the SDK's chain finds them (no call is made)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")


def test_every_client_retries_in_standard_mode_with_short_timeouts() -> None:
    clients = ClientFactory(ClientSettings("us-east-1")).for_identity(Identity())
    for client in (clients.sts(), clients.organizations(), clients.auditmanager("eu-west-1")):
        config: Any = client.meta.config  # botocore's Config sets its fields at runtime
        assert config.retries == {"mode": "standard", "total_max_attempts": 3}
        assert (config.connect_timeout, config.read_timeout) == (3.0, 10.0)


@pytest.mark.usefixtures("source_credentials")
def test_identities_share_clients_and_keep_their_own_credentials() -> None:
    factory = ClientFactory(ClientSettings("us-east-1"))
    a, b = (factory.for_identity(Identity(f"arn:aws:iam::11111111111{n}:role/r")) for n in (1, 2))
    assert a.credentials is not b.credentials
    client_a: Any = a.auditmanager("eu-west-1")
    client_b: Any = b.auditmanager("eu-west-1")
    assert client_a._client is client_b._client  # one botocore client for both


@pytest.mark.usefixtures("source_credentials")
def test_an_identity_idle_longer_than_the_bound_gets_new_credentials() -> None:
    now = [0.0]
    factory = ClientFactory(ClientSettings("us-east-1"), idle_seconds=100, clock=lambda: now[0])
    idle, busy = Identity("arn:aws:iam::111111111111:role/a"), Identity()
    first = factory.for_identity(idle)
    now[0] = 90
    assert factory.for_identity(idle) is first  # used again: its idle time starts anew
    busy_first = factory.for_identity(busy)
    now[0] = 180
    assert factory.for_identity(busy) is busy_first  # used 90 s ago: kept
    assert factory.for_identity(idle) is first
    now[0] = 300
    factory.for_identity(busy)
    assert factory.for_identity(idle) is not first  # dropped after 100 s unused
