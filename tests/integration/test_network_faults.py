"""Network-level AWS failures through a real botocore client: a Region whose endpoint hangs,
refuses connections or does not resolve becomes a reported, retried failure, never a crash.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from awsorg_operator.aws import auditmanager
from awsorg_operator.aws.clients import ClientFactory
from awsorg_operator.conditions import reason
from awsorg_operator.external import Identity
from awsorg_operator.failures import CallError, Retry
from awsorg_operator.settings import ClientSettings

pytestmark = pytest.mark.integration


@pytest.fixture
def hanging_endpoint() -> Iterator[str]:
    """Accepts connections (the kernel completes the handshake) and never answers."""
    with socket.create_server(("127.0.0.1", 0), backlog=16) as server:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


@pytest.fixture
def refusing_endpoint() -> str:
    """A port that was free a moment ago: nothing listens, connections are refused."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


UNRESOLVABLE = "http://awsorg-operator-test.invalid"  # .invalid never resolves (RFC 6761)


@pytest.fixture(autouse=True)
def static_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "123456789012")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


def failed_calls(error: str) -> float:
    value = REGISTRY.get_sample_value(
        "awsorg_aws_api_calls_total",
        {"service": "auditmanager", "operation": "GetAccountStatus", "outcome": error},
    )
    return value or 0.0


@pytest.mark.parametrize(
    ("endpoint", "error"),
    [
        ("hanging_endpoint", "ReadTimeoutError"),
        ("refusing_endpoint", "EndpointConnectionError"),
        (UNRESOLVABLE, "EndpointConnectionError"),
    ],
)
def test_a_network_failure_is_a_retried_failure_with_its_own_error(
    endpoint: str, error: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = request.getfixturevalue(endpoint) if endpoint.endswith("_endpoint") else endpoint
    monkeypatch.setenv("AWS_ENDPOINT_URL_AUDITMANAGER", url)
    settings = ClientSettings("us-east-1", connect_timeout=0.5, read_timeout=0.5, max_attempts=1)
    clients = ClientFactory(settings).for_identity(Identity())
    before = failed_calls(error)

    with pytest.raises(CallError) as raised:
        auditmanager.account_status(clients.auditmanager("eu-west-1"))

    failure = raised.value.failure
    assert (failure.operation, failure.code) == ("GetAccountStatus", error), failure
    assert (reason(failure), failure.retry) == ("AwsError", Retry.SOON)
    # The metrics hook counted the failure instead of raising TypeError inside botocore.
    assert failed_calls(error) == before + 1
