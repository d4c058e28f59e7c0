"""Small helpers shared by the emulator's tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

AUDIT_MANAGER = "auditmanager.amazonaws.com"
MAINTENANCE_PREFIX = "AWS Audit Manager is now in maintenance mode. As of April 30, 2026"
NOT_REGISTERED = (
    "Your account isn't registered with AWS Audit Manager. Check the delegated administrator "
    "setup on the Audit Manager settings page, and try again."
)


# No retries: a test sees exactly the answer the emulator gave.
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})

# aws("auditmanager", account=..., region=..., credentials=..., config=...) -> boto3 client
ClientFactory = Callable[..., Any]


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    session_token: str | None = None


def account_credentials(account_id: str) -> Credentials:
    """A 12-digit access key id is taken as that account by the emulator."""
    return Credentials(account_id, "secret")


@dataclass(frozen=True)
class AwsFailure:
    code: str
    status: int
    message: str
    response: dict[str, Any]


def aws_error(call: Callable[[], Any]) -> AwsFailure:
    """Run ``call``, expecting botocore's ClientError; return what botocore parsed."""
    with pytest.raises(ClientError) as caught:
        call()
    response: dict[str, Any] = dict(caught.value.response)
    error = response["Error"]
    status = int(response["ResponseMetadata"]["HTTPStatusCode"])
    return AwsFailure(str(error["Code"]), status, str(error.get("Message", "")), response)
