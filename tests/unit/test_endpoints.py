"""Audit Manager endpoints are per Region (issue 17, finding 5): a VPC endpoint serves its own
Region, so each Region's client must get its own URL, and the SDK's one-URL-for-every-Region
variable is refused. Organizations and STS keep one endpoint each: the operator has one client
of each, in --default-region."""

from __future__ import annotations

import pytest

from awsorg_operator.aws.clients import AwsClients, ClientFactory
from awsorg_operator.cli.command import parser as plan_parser
from awsorg_operator.external import Identity
from awsorg_operator.settings import ClientSettings, client_settings, parse

pytestmark = pytest.mark.unit

EAST, WEST = "https://vpce-1.auditmanager.us-east-1.example", "https://vpce-2.eu-west-1.example"


def clients(settings: ClientSettings) -> AwsClients:
    return ClientFactory(settings).for_identity(Identity())


def test_each_region_gets_its_own_endpoint_and_the_others_aws_own() -> None:
    env = {"AWSORG_AUDITMANAGER_ENDPOINTS": f"us-east-1={EAST}, eu-west-1={WEST}"}
    aws = clients(client_settings(parse([], env=env)))
    assert aws.auditmanager("us-east-1").meta.endpoint_url == EAST
    assert aws.auditmanager("eu-west-1").meta.endpoint_url == WEST
    assert aws.auditmanager("eu-central-1").meta.endpoint_url == (
        "https://auditmanager.eu-central-1.amazonaws.com"
    )
    # Organizations and STS are untouched by Audit Manager's endpoints.
    assert "vpce" not in aws.organizations().meta.endpoint_url
    assert "vpce" not in aws.sts().meta.endpoint_url


def test_the_flag_wins_over_the_environment() -> None:
    env = {"AWSORG_AUDITMANAGER_ENDPOINTS": f"us-east-1={EAST}"}
    settings = parse(["--auditmanager-endpoints", f"eu-west-1={WEST}"], env=env)
    assert settings.auditmanager_endpoints == (("eu-west-1", WEST),)


def test_the_plan_command_reaches_the_same_endpoints() -> None:
    args = plan_parser({"AWSORG_AUDITMANAGER_ENDPOINTS": f"eu-west-1={WEST}"}).parse_args(
        ["-f", "x.yaml"]
    )
    assert client_settings(args).auditmanager_endpoint("eu-west-1") == WEST


@pytest.mark.parametrize(
    "value",
    [
        EAST,  # one URL, no Region
        f"us-east-1={EAST},us-east-1={WEST}",  # a Region twice
        "US-EAST-1=https://x.example",
        "us-east-1=vpce-1.example",  # no scheme
    ],
)
def test_malformed_endpoints_are_a_usage_error(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        parse([], env={"AWSORG_AUDITMANAGER_ENDPOINTS": value})
    assert "AWSORG_AUDITMANAGER_ENDPOINTS: invalid value" in capsys.readouterr().err


def test_one_endpoint_for_every_region_is_refused_with_the_fix(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        parse([], env={"AWS_ENDPOINT_URL_AUDITMANAGER": EAST})
    err = capsys.readouterr().err
    assert "every Region's Audit Manager calls" in err
    assert "AWSORG_AUDITMANAGER_ENDPOINTS=REGION=URL" in err
    with pytest.raises(SystemExit):
        plan_parser({"AWS_ENDPOINT_URL_AUDITMANAGER": EAST})
