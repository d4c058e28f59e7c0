"""AWS errors become a condition reason and a retry policy."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from awsorg_operator.aws.errors import classify
from awsorg_operator.conditions import reason as reason_of
from awsorg_operator.failures import CallFailure, Kind, Retry

pytestmark = pytest.mark.unit


def client_error(code: str, message: str = "m", status: int = 400) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {
                "HTTPStatusCode": status,
                "HTTPHeaders": {},
                "HostId": "",
                "RequestId": "r",
                "RetryAttempts": 0,
            },
        },
        "Op",
    )


@pytest.mark.parametrize(
    ("error", "reason", "retry"),
    [
        (client_error("ThrottlingException", status=429), "Throttled", Retry.SOON),
        (client_error("TooManyRequestsException"), "Throttled", Retry.SOON),
        (client_error("ConcurrentModificationException"), "ConcurrentModification", Retry.SOON),
        (client_error("InternalServerException", status=500), "AwsError", Retry.SOON),
        (client_error("SomethingNew", status=503), "AwsError", Retry.SOON),
        (client_error("AccessDeniedException", status=403), "AccessDenied", Retry.SLOWLY),
        (
            client_error("ValidationException", "AWS Audit Manager is now in maintenance mode. As"),
            "MaintenanceMode",
            Retry.NEVER,
        ),
        (
            client_error("ValidationException", "Cannot change delegated Admin"),
            "ValidationFailed",
            Retry.NEVER,
        ),
        (client_error("AWSOrganizationsNotInUseException"), "OrganizationNotFound", Retry.NEVER),
        (client_error("AccountNotFoundException"), "InvalidDelegatedAdmin", Retry.NEVER),
        (client_error("ConstraintViolationException"), "ConstraintViolation", Retry.NEVER),
        (client_error("SomethingNew"), "AwsRefused", Retry.NEVER),
        # Credentials: refreshed or fixed by a person, never terminal.
        (client_error("ExpiredTokenException"), "AwsCredentialsExpired", Retry.SOON),
        (client_error("ExpiredToken"), "AwsCredentialsExpired", Retry.SOON),
        (client_error("RequestExpired"), "AwsCredentialsExpired", Retry.SOON),
        (client_error("InvalidClientTokenId", status=403), "AwsCredentials", Retry.SLOWLY),
        (client_error("SignatureDoesNotMatch", status=403), "AwsCredentials", Retry.SLOWLY),
        (client_error("UnrecognizedClientException"), "AwsCredentials", Retry.SLOWLY),
        (EndpointConnectionError(endpoint_url="http://x"), "AwsError", Retry.SOON),
        (NoCredentialsError(), "AwsCredentials", Retry.SLOWLY),
    ],
)
def test_classify(error: Exception, reason: str, retry: Retry) -> None:
    failure = classify("Op", error)
    assert (reason_of(failure), failure.retry) == (reason, retry)
    assert failure.describe().startswith("Op: ")


def test_every_kind_of_failure_has_a_reason_and_a_retry() -> None:
    """The report alone names reasons: a kind added without one would fail at report time."""
    for kind in Kind:
        failure = CallFailure("Op", "Code", "m", kind)
        assert reason_of(failure) and failure.retry in Retry
