"""AWS Organizations and STS: the organization, trusted access and its administrators.

Only `auditmanager.amazonaws.com` is ever read into a decision or changed: other services'
trusted access is none of our business (terraform-provider-aws #35295 shows the cost).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from awsorg_operator.aws.calls import call
from awsorg_operator.failures import CallError
from awsorg_operator.observed import Organization

# Only this service's trusted access is ever read into a decision or changed.
SERVICE_PRINCIPAL = "auditmanager.amazonaws.com"

if TYPE_CHECKING:
    from types_boto3_organizations import OrganizationsClient
    from types_boto3_sts import STSClient


def caller_account(sts: STSClient) -> str:
    return call("GetCallerIdentity", sts.get_caller_identity)["Account"]


def organization(org: OrganizationsClient) -> Organization:
    described = call("DescribeOrganization", org.describe_organization)["Organization"]
    return Organization(
        id=described["Id"],
        management_account_id=described["MasterAccountId"],
        feature_set=described["FeatureSet"],
    )


def trusted_access_enabled(org: OrganizationsClient) -> bool:
    paginator = org.get_paginator("list_aws_service_access_for_organization")
    pages = call("ListAWSServiceAccessForOrganization", lambda: list(paginator.paginate()))
    return any(
        p.get("ServicePrincipal") == SERVICE_PRINCIPAL
        for page in pages
        for p in page["EnabledServicePrincipals"]
    )


def delegated_admins(org: OrganizationsClient) -> frozenset[str]:
    paginator = org.get_paginator("list_delegated_administrators")
    pages = call(
        "ListDelegatedAdministrators",
        lambda: list(paginator.paginate(ServicePrincipal=SERVICE_PRINCIPAL)),
    )
    return frozenset(a["Id"] for page in pages for a in page["DelegatedAdministrators"])


def account_exists(org: OrganizationsClient, account_id: str) -> bool:
    """Whether the account is a member of the caller's organization."""
    try:
        call("DescribeAccount", lambda: org.describe_account(AccountId=account_id))
    except CallError as e:
        if e.failure.code == "AccountNotFoundException":
            return False
        raise
    return True


def enable_trusted_access(org: OrganizationsClient) -> None:
    call(
        "EnableAWSServiceAccess",
        lambda: org.enable_aws_service_access(ServicePrincipal=SERVICE_PRINCIPAL),
    )


def disable_trusted_access(org: OrganizationsClient) -> None:
    call(
        "DisableAWSServiceAccess",
        lambda: org.disable_aws_service_access(ServicePrincipal=SERVICE_PRINCIPAL),
    )
