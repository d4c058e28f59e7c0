"""One emulator process for the whole session, reset to a seed before each test."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from awsorg_emulator import MANAGEMENT_ACCOUNT_ID, EmulatorControl, EmulatorProcess
from tests.emulator.emulator_helpers import (
    NO_RETRIES,
    ClientFactory,
    Credentials,
    account_credentials,
)


@pytest.fixture(scope="session")
def emulator_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    log_path = Path(tmp_path_factory.mktemp("emulator")) / "emulator.log"
    process = EmulatorProcess(log_path=log_path)
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, Any]:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def control(
    emulator_process: EmulatorProcess, request: pytest.FixtureRequest
) -> Iterator[EmulatorControl]:
    """The control client, after a reset to the existing-customer seed.

    When the test fails, the emulator's call log and log tail are printed.
    """
    emulator_process.control.reset(seed="existing-customer", maintenance_mode=True)
    yield emulator_process.control
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        print("emulator calls:")
        for call in emulator_process.control.calls():
            print("  ", call)
        print("emulator log tail:\n" + emulator_process.log_tail(30))


@pytest.fixture
def aws(emulator_process: EmulatorProcess, control: EmulatorControl) -> ClientFactory:
    """``aws("auditmanager", account="111111111111", region="eu-west-1")`` -> boto3 client."""

    def make(
        service: str,
        *,
        account: str = MANAGEMENT_ACCOUNT_ID,
        region: str = "us-east-1",
        credentials: Credentials | None = None,
        config: Config = NO_RETRIES,
    ) -> Any:
        creds = credentials or account_credentials(account)
        new_client: Any = boto3.client  # the service name is a plain str here
        return new_client(
            service,
            endpoint_url=emulator_process.endpoint_url,
            region_name=region,
            aws_access_key_id=creds.access_key,
            aws_secret_access_key=creds.secret_key,
            aws_session_token=creds.session_token,
            config=config,
        )

    return make
