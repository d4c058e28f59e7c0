"""Reliability row 2: every AWS client keeps botocore's `standard` retry mode and short
timeouts; a regression to `legacy` (which does not retry TooManyRequestsException) or to
botocore's 60 s timeouts fails here."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from awsorg_operator.aws.clients import AwsClients
from awsorg_operator.settings import ClientSettings

pytestmark = pytest.mark.unit


def test_every_client_retries_in_standard_mode_with_short_timeouts() -> None:
    session = boto3.Session(
        region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x"
    )
    clients = AwsClients(session, ClientSettings("us-east-1"))
    for client in (clients.sts(), clients.organizations(), clients.auditmanager("eu-west-1")):
        config: Any = client.meta.config  # botocore's Config sets its fields at runtime
        assert config.retries == {"mode": "standard", "total_max_attempts": 3}
        assert (config.connect_timeout, config.read_timeout) == (3.0, 10.0)
