"""DeregisterAccount under the account's deregistration policy, the administrator cleaned up with
the management account, event data stores left behind, and IAM enforcement of the settings'
and deregistration's actions."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from awsorg_emulator import AUDIT_ACCOUNT_ID, MANAGEMENT_ACCOUNT_ID, EmulatorControl
from tests.emulator.emulator_helpers import AUDIT_MANAGER, ClientFactory, Credentials, aws_error

pytestmark = pytest.mark.integration


def store(region: str) -> str:
    account = AUDIT_ACCOUNT_ID
    return f"arn:aws:cloudtrail:{region}:{account}:eventdatastore/auditmanager-{account}"


@pytest.mark.parametrize("policy", ["ALL", "DEFAULT"])
def test_the_management_account_takes_its_administrator_with_it(
    aws: ClientFactory, control: EmulatorControl, policy: str
) -> None:
    am = aws("auditmanager")
    am.update_settings(deregistrationPolicy={"deleteResources": policy})

    assert am.deregister_account()["status"] == "INACTIVE"

    state = control.state()
    region = state["auditManager"]["us-east-1"]
    assert region["accounts"] == {AUDIT_ACCOUNT_ID: "INACTIVE", MANAGEMENT_ACCOUNT_ID: "INACTIVE"}
    assert region["adminAccountID"] is None
    assert region["deregistrations"] == {AUDIT_ACCOUNT_ID: policy, MANAGEMENT_ACCOUNT_ID: policy}
    # evidence finder was on in the administrator's account: its store stays, still billed
    assert region["orphanedEventDataStores"] == [store("us-east-1")]
    # eu-west-1 keeps its administrator, so Organizations keeps it too
    assert state["auditManager"]["eu-west-1"]["adminAccountID"] == AUDIT_ACCOUNT_ID
    assert state["delegatedAdministrators"] == {AUDIT_MANAGER: [AUDIT_ACCOUNT_ID]}


def test_the_last_region_removes_the_organizations_administrator(
    aws: ClientFactory, control: EmulatorControl
) -> None:
    for region in ("us-east-1", "eu-west-1"):
        aws("auditmanager", region=region).deregister_account()

    assert control.state()["delegatedAdministrators"] == {}


def test_evidence_finder_turned_off_first_leaves_nothing_behind(
    aws: ClientFactory, control: EmulatorControl
) -> None:
    aws("auditmanager", account=AUDIT_ACCOUNT_ID).update_settings(evidenceFinderEnabled=False)

    aws("auditmanager").deregister_account()

    assert control.state()["auditManager"]["us-east-1"]["orphanedEventDataStores"] == []


def test_a_member_deregisters_alone_under_its_own_policy(
    aws: ClientFactory, control: EmulatorControl
) -> None:
    admin = aws("auditmanager", account=AUDIT_ACCOUNT_ID, region="eu-west-1")
    admin.update_settings(deregistrationPolicy={"deleteResources": "ALL"})

    admin.deregister_account()

    region = control.state()["auditManager"]["eu-west-1"]
    assert region["deregistrations"] == {AUDIT_ACCOUNT_ID: "ALL"}
    assert region["accounts"][MANAGEMENT_ACCOUNT_ID] == "ACTIVE"
    assert AUDIT_ACCOUNT_ID not in region["settings"]  # its data is gone


def test_deregistering_twice_records_the_first_deregistration(
    aws: ClientFactory, control: EmulatorControl
) -> None:
    am = aws("auditmanager", region="eu-west-1")
    am.update_settings(deregistrationPolicy={"deleteResources": "ALL"})
    am.deregister_account()

    assert am.deregister_account()["status"] == "INACTIVE"
    assert (
        control.state()["auditManager"]["eu-west-1"]["deregistrations"][MANAGEMENT_ACCOUNT_ID]
        == "ALL"
    )


@pytest.fixture
def reader(aws: ClientFactory, control: EmulatorControl) -> Iterator[Credentials]:
    """An IAM user of the management account that may only read Audit Manager; IAM enforced."""
    iam = aws("iam")
    iam.create_user(UserName="reader")
    allow = {"Effect": "Allow", "Action": ["auditmanager:Get*"], "Resource": "*"}
    policy = {"Version": "2012-10-17", "Statement": [allow]}
    iam.put_user_policy(UserName="reader", PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    control.configure(enforce_iam=True)
    try:
        yield Credentials(key["AccessKeyId"], key["SecretAccessKey"])
    finally:
        control.configure(enforce_iam=False)


def test_settings_and_deregistration_need_their_own_iam_actions(
    aws: ClientFactory, control: EmulatorControl, reader: Credentials
) -> None:
    am = aws("auditmanager", credentials=reader)
    before = control.state()["auditManager"]

    assert am.get_settings(attribute="ALL")["settings"]["kmsKey"] == "DEFAULT"
    update = aws_error(lambda: am.update_settings(snsTopic="NONE"))
    deregister = aws_error(am.deregister_account)

    for failure, action in ((update, "UpdateSettings"), (deregister, "DeregisterAccount")):
        assert (failure.code, failure.status) == ("AccessDeniedException", 403)
        assert f"auditmanager:{action}" in failure.message
    assert control.state()["auditManager"] == before


def test_a_whole_retirement_leaves_nothing_behind(
    aws: ClientFactory, control: EmulatorControl
) -> None:
    """Evidence finder off in the administrator's account, the administrators removed, the
    management account deregistered under ALL in each Region, and only then trusted access
    off: the order issue 20 asks of the operator, accepted at every step."""
    regions = ("us-east-1", "eu-west-1")
    for region in regions:
        aws("auditmanager", account=AUDIT_ACCOUNT_ID, region=region).update_settings(
            evidenceFinderEnabled=False
        )
        am = aws("auditmanager", region=region)
        am.update_settings(deregistrationPolicy={"deleteResources": "ALL"})
        am.deregister_organization_admin_account(adminAccountId=AUDIT_ACCOUNT_ID)
        am.deregister_account()

    aws("organizations").disable_aws_service_access(ServicePrincipal=AUDIT_MANAGER)

    state = control.state()
    assert AUDIT_MANAGER not in state["trustedAccess"]
    assert state["delegatedAdministrators"] == {}
    for region in regions:
        view = state["auditManager"][region]
        assert view["accounts"] == {AUDIT_ACCOUNT_ID: "INACTIVE", MANAGEMENT_ACCOUNT_ID: "INACTIVE"}
        assert (view["deregistrations"], view["orphanedEventDataStores"]) == (
            {MANAGEMENT_ACCOUNT_ID: "ALL"},
            [],
        )
