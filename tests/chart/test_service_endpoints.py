"""From the chart's value to each Region's client (issue 17, finding 5): the map
`aws.serviceEndpoints.auditmanager` reaches the operator's environment, the operator's own
settings parse it, and each Region's Audit Manager client gets its own endpoint; the old
single URL is refused with the reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from awsorg_operator.aws.clients import ClientFactory
from awsorg_operator.external import Identity
from awsorg_operator.settings import client_settings, parse

from .helm import env_of, render, run_helm, template_args, values_file

pytestmark = pytest.mark.integration  # runs helm

EAST = "https://vpce-0123-abcd.auditmanager.us-east-1.vpce.amazonaws.com"
WEST = "https://vpce-4567-efgh.auditmanager.eu-west-1.vpce.amazonaws.com"
ORGS = "https://organizations.us-east-1.amazonaws.com"


def endpoints_values(auditmanager: Any) -> dict[str, Any]:
    return {"aws": {"serviceEndpoints": {"organizations": ORGS, "auditmanager": auditmanager}}}


def test_each_regions_client_gets_the_endpoint_the_chart_was_given(
    helm: Path, tmp_path: Path
) -> None:
    rendered = render(helm, tmp_path, endpoints_values({"us-east-1": EAST, "eu-west-1": WEST}))
    env = {k: v for k, v in env_of(rendered.one("Deployment")).items() if isinstance(v, str)}
    assert "AWS_ENDPOINT_URL_AUDITMANAGER" not in env
    aws = ClientFactory(client_settings(parse([], env=env))).for_identity(Identity())
    assert aws.auditmanager("us-east-1").meta.endpoint_url == EAST
    assert aws.auditmanager("eu-west-1").meta.endpoint_url == WEST
    assert aws.auditmanager("ap-southeast-2").meta.endpoint_url == (
        "https://auditmanager.ap-southeast-2.amazonaws.com"
    )
    assert env["AWS_ENDPOINT_URL_ORGANIZATIONS"] == ORGS


def test_one_url_for_every_region_is_refused_with_the_reason(helm: Path, tmp_path: Path) -> None:
    path = values_file(tmp_path, endpoints_values(EAST))
    result = run_helm(helm, *template_args(path))
    assert result.returncode != 0, "helm accepted one Audit Manager URL for every Region"
    assert "aws.serviceEndpoints.auditmanager is one URL" in result.stderr, result.stderr
    assert "give each Region its endpoint" in result.stderr
