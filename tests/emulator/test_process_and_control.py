"""The process's life cycle (CLI line, clean stop) and the control API's own errors."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
import requests

from awsorg_emulator import EmulatorControl, EmulatorProcess

pytestmark = pytest.mark.integration


def test_cli_process_prints_its_url_and_stops_cleanly(tmp_path: Path) -> None:
    process = EmulatorProcess(seed="empty", maintenance_mode=False, log_path=tmp_path / "emu.log")
    try:
        process.start()
        config = process.control.config()
        log = process.log_path.read_text()
    finally:
        code = process.stop()

    assert f"awsorg-emulator listening on {process.endpoint_url}" in log
    assert config == {
        "seed": "empty",
        "maintenanceMode": False,
        "reregisterPreCutoff": True,
        "staleReadSeconds": 0.0,
        "credentialLifetimeSeconds": 0.0,
        "latencySeconds": 0.0,
        "expiredRequests": 0,
        "enforceIam": False,
        "evidenceFinderSeconds": 0.0,
        "cloudTrailLakeOpen": False,
    }
    assert code == 0


def test_health(control: EmulatorControl) -> None:
    assert control.health() is True


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "nope", None, 404),
        ("PUT", "reset", None, 405),
        ("POST", "reset", {"seed": "unknown"}, 400),
        ("POST", "config", {"maintenanceMode": "yes"}, 400),
        ("POST", "account-status", {"status": "ACTIVE"}, 400),
    ],
)
def test_control_api_refuses_bad_requests(
    emulator_process: EmulatorProcess,
    control: EmulatorControl,
    method: str,
    path: str,
    body: dict[str, str] | None,
    status: int,
) -> None:
    url = f"{emulator_process.endpoint_url}/_emulator/{path}"

    response = requests.request(method, url, json=body, timeout=5)

    assert response.status_code == status
    assert "error" in response.json()


def test_aws_endpoint_url_reaches_every_service(
    emulator_process: EmulatorProcess, control: EmulatorControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator_process.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    session = boto3.session.Session(region_name="eu-west-1")

    session.client("sts").get_caller_identity()
    session.client("iam").list_roles()
    session.client("organizations").describe_organization()
    session.client("auditmanager").get_account_status()

    assert [(c["service"], c["outcome"]) for c in control.calls()] == [
        ("sts", "ok"),
        ("iam", "ok"),
        ("organizations", "ok"),
        ("auditmanager", "ok"),
    ]
