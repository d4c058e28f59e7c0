"""The CRD refuses malformed Audit Manager settings at the API server, with a message that says
what is wrong (the CEL rules and patterns of crds/, mirrored by auditsettings.py), and admits a
well-formed resource, the example's among them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from awsorg_devstack import REPO
from tests.e2e.conftest import AUDIT, Kube
from tests.e2e.test_operator import amoc

pytestmark = pytest.mark.e2e

ROLE = f"arn:aws:iam::{AUDIT}:role/awsorg-operator-admin"
CREDS = {"roleARN": ROLE, "externalID": "ext-1234"}
TOPIC_EU = f"arn:aws:sns:eu-west-1:{AUDIT}:audit"
BASE: dict[str, Any] = {"trustedAccess": "Enabled", "delegatedAdminAccountID": AUDIT}

INVALID: list[tuple[str, dict[str, Any], str]] = [
    (
        "settings without adminCredentials",
        {"settings": {"snsTopic": "NONE"}},
        "settings and regionSettings require adminCredentials",
    ),
    (
        "a user instead of a role",
        {"adminCredentials": {**CREDS, "roleARN": f"arn:aws:iam::{AUDIT}:user/me"}},
        "adminCredentials.roleARN must be an IAM role ARN",
    ),
    (
        "an assumed-role session",
        {"adminCredentials": {**CREDS, "roleARN": f"arn:aws:sts::{AUDIT}:assumed-role/r/s"}},
        "adminCredentials.roleARN must be an IAM role ARN",
    ),
    (
        "a role in another account",
        {"adminCredentials": {**CREDS, "roleARN": "arn:aws:iam::222222222222:role/x"}},
        "the role must be in the delegated administrator's account",
    ),
    (
        "no external ID",
        {"adminCredentials": {"roleARN": ROLE}},
        "spec.adminCredentials.externalID: Required value",
    ),
    (
        "a bucket name, not an S3 URI",
        {"adminCredentials": CREDS, "settings": {"defaultExportDestination": "my-bucket"}},
        "defaultExportDestination must be an S3 URI: s3://bucket/prefix",
    ),
    (
        "an https URL",
        {
            "adminCredentials": CREDS,
            "settings": {"defaultAssessmentReportsDestination": "https://x/y"},
        },
        "defaultAssessmentReportsDestination must be an S3 URI",
    ),
    (
        "a process owner that is a user",
        {
            "adminCredentials": CREDS,
            "settings": {"defaultProcessOwners": [f"arn:aws:iam::{AUDIT}:user/u"]},
        },
        "defaultProcessOwners: each must be an IAM role ARN",
    ),
    (
        "a topic ARN from another Region",
        {"adminCredentials": CREDS, "regions": ["us-east-1"], "settings": {"snsTopic": TOPIC_EU}},
        "settings: a snsTopic ARN works in its own Region only",
    ),
    (
        "a Region's topic from another Region",
        {
            "adminCredentials": CREDS,
            "regions": ["us-east-1"],
            "regionSettings": {"us-east-1": {"snsTopic": TOPIC_EU}},
        },
        "regionSettings: a snsTopic ARN must be of the Region it is set for",
    ),
    (
        "a topic that is no ARN",
        {"adminCredentials": CREDS, "settings": {"snsTopic": "audit"}},
        "snsTopic must be NONE or an SNS topic ARN",
    ),
    (
        "regionSettings for an unlisted Region",
        {
            "adminCredentials": CREDS,
            "regions": ["us-east-1"],
            "regionSettings": {"eu-west-1": {"snsTopic": "NONE"}},
        },
        "regionSettings: every Region must be listed in regions",
    ),
    (
        "evidence finder Off",
        {"adminCredentials": CREDS, "settings": {"evidenceFinder": "Off"}},
        'spec.settings.evidenceFinder: Unsupported value: "Off"',
    ),
]


@pytest.mark.parametrize(("case", "spec", "message"), INVALID, ids=[c[0] for c in INVALID])
def test_the_api_server_refuses_malformed_settings_with_a_clear_message(
    kube: Kube, operator_kubeconfig: Path, case: str, spec: dict[str, Any], message: str
) -> None:
    done = kube("apply", "-f", "-", input=json.dumps(amoc("bad", **BASE, **spec)), check=False)
    assert done.returncode != 0, case
    assert message in done.stderr, done.stderr
    assert kube("get", "amoc", "bad", check=False).returncode != 0


def test_the_example_and_region_overrides_are_admitted(
    kube: Kube, operator_kubeconfig: Path
) -> None:
    example = yaml.safe_load((REPO / "examples" / "settings.yaml").read_text())
    try:
        kube("apply", "--dry-run=server", "-f", "-", input=json.dumps(example))
    finally:
        kube.delete_all()
