"""The two seeds hold exactly what their descriptions promise, seen through boto3."""

from __future__ import annotations

import pytest

from awsorg_emulator import (
    AUDIT_ACCOUNT_ID,
    MANAGEMENT_ACCOUNT_ID,
    ORGANIZATION_ID,
    UNRELATED_PRINCIPAL,
    WORKLOADS_ACCOUNT_ID,
    EmulatorControl,
)
from tests.emulator.emulator_helpers import AUDIT_MANAGER, NOT_REGISTERED, ClientFactory, aws_error

pytestmark = pytest.mark.integration

SEEDED_REGIONS = ("us-east-1", "eu-west-1")


def test_existing_customer_organization_has_fixed_ids(aws: ClientFactory) -> None:
    org = aws("organizations")
    description = org.describe_organization()["Organization"]
    accounts = {a["Id"]: a["Name"] for a in org.list_accounts()["Accounts"]}

    assert description["Id"] == ORGANIZATION_ID
    assert description["MasterAccountId"] == MANAGEMENT_ACCOUNT_ID
    assert description["FeatureSet"] == "ALL"
    assert accounts[AUDIT_ACCOUNT_ID] == "audit"
    assert accounts[WORKLOADS_ACCOUNT_ID] == "workloads"
    assert set(accounts) == {MANAGEMENT_ACCOUNT_ID, AUDIT_ACCOUNT_ID, WORKLOADS_ACCOUNT_ID}


def test_existing_customer_trusted_access_and_delegated_admin(aws: ClientFactory) -> None:
    org = aws("organizations")
    enabled = org.list_aws_service_access_for_organization()["EnabledServicePrincipals"]
    admins = org.list_delegated_administrators(ServicePrincipal=AUDIT_MANAGER)
    role = aws("iam").get_role(RoleName="AWSServiceRoleForAuditManager")["Role"]

    assert sorted(p["ServicePrincipal"] for p in enabled) == [AUDIT_MANAGER, UNRELATED_PRINCIPAL]
    assert [a["Id"] for a in admins["DelegatedAdministrators"]] == [AUDIT_ACCOUNT_ID]
    assert role["Path"] == f"/aws-service-role/{AUDIT_MANAGER}/"


@pytest.mark.parametrize("region", SEEDED_REGIONS)
def test_existing_customer_audit_manager_active_with_admin(aws: ClientFactory, region: str) -> None:
    am = aws("auditmanager", region=region)

    assert am.get_account_status()["status"] == "ACTIVE"
    admin = am.get_organization_admin_account()
    assert (admin["adminAccountId"], admin["organizationId"]) == (AUDIT_ACCOUNT_ID, ORGANIZATION_ID)
    assert am.get_settings(attribute="ALL")["settings"]["kmsKey"] == "DEFAULT"


def test_existing_customer_audit_manager_not_registered_elsewhere(aws: ClientFactory) -> None:
    am = aws("auditmanager", region="us-west-2")

    assert am.get_account_status()["status"] == "INACTIVE"
    failure = aws_error(am.get_organization_admin_account)
    assert (failure.code, failure.status, failure.message) == (
        "AccessDeniedException",
        403,
        NOT_REGISTERED,
    )


def test_existing_customer_snapshot(control: EmulatorControl) -> None:
    state = control.state()

    assert state["config"] == {
        "seed": "existing-customer",
        "maintenanceMode": True,
        "reregisterPreCutoff": True,
        "staleReadSeconds": 0.0,
        "credentialLifetimeSeconds": 0.0,
        "latencySeconds": 0.0,
        "expiredRequests": 0,
        "enforceIam": False,
        "evidenceFinderSeconds": 0.0,
        "cloudTrailLakeOpen": False,
    }
    assert state["organization"] is not None
    assert state["organization"]["managementAccountID"] == MANAGEMENT_ACCOUNT_ID
    assert state["trustedAccess"] == [AUDIT_MANAGER, UNRELATED_PRINCIPAL]
    assert state["delegatedAdministrators"] == {AUDIT_MANAGER: [AUDIT_ACCOUNT_ID]}
    for region in SEEDED_REGIONS:
        region_state = state["auditManager"][region]
        assert region_state["accounts"] == {
            AUDIT_ACCOUNT_ID: "ACTIVE",
            MANAGEMENT_ACCOUNT_ID: "ACTIVE",
        }
        assert region_state["adminAccountID"] == AUDIT_ACCOUNT_ID
        assert region_state["kmsKey"] == "DEFAULT"
        finder = region_state["settings"][AUDIT_ACCOUNT_ID]["evidenceFinderEnablement"]
        assert (finder["enablementStatus"], finder["backfillStatus"]) == ("ENABLED", "COMPLETED")
        assert (region_state["deregistrations"], region_state["orphanedEventDataStores"]) == (
            {},
            [],
        )
        assert state["preCutoffActive"][region] == [AUDIT_ACCOUNT_ID, MANAGEMENT_ACCOUNT_ID]


def test_empty_seed_has_organization_only(control: EmulatorControl, aws: ClientFactory) -> None:
    control.reset(seed="empty")
    org = aws("organizations")
    state = control.state()

    assert org.list_aws_service_access_for_organization()["EnabledServicePrincipals"] == []
    assert org.list_delegated_administrators()["DelegatedAdministrators"] == []
    assert len(org.list_accounts()["Accounts"]) == 3
    assert state["auditManager"] == {}
    assert state["preCutoffActive"] == {}
    for region in SEEDED_REGIONS:
        assert aws("auditmanager", region=region).get_account_status()["status"] == "INACTIVE"


def test_reset_restores_the_seed_after_changes(
    control: EmulatorControl, aws: ClientFactory
) -> None:
    am = aws("auditmanager")
    am.deregister_organization_admin_account(adminAccountId=AUDIT_ACCOUNT_ID)
    am.deregister_account()

    control.reset()

    assert am.get_account_status()["status"] == "ACTIVE"
    assert am.get_organization_admin_account()["adminAccountId"] == AUDIT_ACCOUNT_ID
