"""Flags, their environment variables, and which wins."""

from __future__ import annotations

import pytest

from awsorg_operator.settings import LogFormat, Settings, parse

pytestmark = pytest.mark.unit


def test_defaults_without_environment() -> None:
    assert parse([], env={}) == Settings()


@pytest.mark.parametrize(
    ("env", "region"),
    [
        ({"AWS_DEFAULT_REGION": "eu-west-3"}, "eu-west-3"),
        ({"AWS_DEFAULT_REGION": "eu-west-3", "AWS_REGION": "eu-west-2"}, "eu-west-2"),
        ({"AWS_REGION": "eu-west-2", "AWSORG_DEFAULT_REGION": "eu-west-1"}, "eu-west-1"),
    ],
)
def test_default_region_precedence(env: dict[str, str], region: str) -> None:
    assert parse([], env=env).default_region == region


def test_environment_sets_defaults_and_flags_win() -> None:
    env = {
        "AWSORG_RESYNC_SECONDS": "60",
        "AWSORG_LOG_FORMAT": "json",
        "AWSORG_VERBOSE": "true",
        "AWSORG_PEERING": "awsorg",
        "AWSORG_AWS_MAX_ATTEMPTS": "5",
    }
    s = parse(["--resync-seconds", "30", "--priority", "2"], env=env)
    assert (s.resync_seconds, s.log_format, s.verbose, s.peering) == (
        30,
        LogFormat.JSON,
        True,
        "awsorg",
    )
    assert (s.priority, s.aws_max_attempts) == (2, 5)


@pytest.mark.parametrize(
    "argv", [["--resync-seconds", "0"], ["--log-format", "xml"], ["--metrics-port", "eighty"]]
)
def test_bad_values_are_refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse(argv, env={})
    assert "awsorg-operator: error" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "value"), [("AWSORG_LOG_FORMAT", "xml"), ("AWSORG_RESYNC_SECONDS", "abc")]
)
def test_bad_environment_is_a_usage_error(
    name: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        parse([], env={name: value})
    assert f"{name}: invalid value" in capsys.readouterr().err


def test_an_empty_peering_name_runs_standalone() -> None:
    assert parse(["--peering", ""], env={}).peering is None


def test_the_watch_timeout_is_whole_seconds_as_the_api_server_takes_it() -> None:
    """kopf sends it as the watch's timeoutSeconds, which the API server parses as an
    integer: "10.0" is refused with 400 and the operator exits."""
    assert parse([], env={"AWSORG_WATCH_TIMEOUT": "10"}).watch_timeout == 10
    assert isinstance(parse([]).watch_timeout, int)
    with pytest.raises(SystemExit):
        parse(["--watch-timeout", "10.5"], env={})
