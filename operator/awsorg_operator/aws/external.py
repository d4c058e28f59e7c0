"""The real side of the seam: `External` over boto3, one instance per identity."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TypeVar, assert_never

from awsorg_operator.actions import (
    Action,
    DeregisterAdmin,
    DisableTrustedAccess,
    EnableTrustedAccess,
    RegisterAccount,
    RegisterAdmin,
    UpdateKmsKey,
)
from awsorg_operator.aws import auditmanager, organizations
from awsorg_operator.aws.clients import AwsClients, ClientFactory
from awsorg_operator.external import Identity
from awsorg_operator.failures import AwsCallError, Retry, internal_failure
from awsorg_operator.state import Observed, OrgView, RegionFailure, RegionView

log = logging.getLogger(__name__)
T = TypeVar("T")


class AwsConnector:
    def __init__(self, factory: ClientFactory) -> None:
        self._factory = factory

    def connect(self, identity: Identity) -> AwsExternal:
        return AwsExternal(self._factory, identity)


class AwsExternal:
    def __init__(self, factory: ClientFactory, identity: Identity) -> None:
        self._factory = factory
        self._identity = identity
        self._aws: AwsClients = factory.for_identity(identity)

    def observe_org(self) -> OrgView:
        return self._forget_on_expiry(
            lambda: organizations.observe_org(self._aws.sts(), self._aws.organizations())
        )

    def is_member(self, account_id: str) -> bool:
        return organizations.account_exists(self._aws.organizations(), account_id)

    def observe(self, org: OrgView, regions: Sequence[str], scan: bool) -> Observed:
        by_region = {region: self._region(region) for region in regions}
        client = self._aws.organizations()
        trusted = organizations.trusted_access_enabled(client)
        elsewhere, unreadable = self._elsewhere(regions) if scan and trusted else ({}, [])
        return Observed(
            org=org,
            trusted_access=trusted,
            org_delegated_admins=organizations.delegated_admins(client),
            regions=by_region,
            admins_elsewhere=elsewhere,
            unreadable_elsewhere=tuple(unreadable),
        )

    def execute(self, action: Action) -> None:
        aws = self._aws
        match action:
            case EnableTrustedAccess():
                organizations.enable_trusted_access(aws.organizations())
            case DisableTrustedAccess():
                organizations.disable_trusted_access(aws.organizations())
            case RegisterAccount():
                am = aws.auditmanager(action.region)
                auditmanager.register_account(am, action.kms_key, action.admin_account_id)
            case RegisterAdmin():
                auditmanager.register_admin(aws.auditmanager(action.region), action.account_id)
            case DeregisterAdmin():
                auditmanager.deregister_admin(aws.auditmanager(action.region), action.account_id)
            case UpdateKmsKey():
                auditmanager.update_kms_key(aws.auditmanager(action.region), action.kms_key)
            case _:
                assert_never(action)

    def _region(self, region: str) -> RegionView | RegionFailure:
        # A failure in one Region is kept and the others go on, whatever it was.
        try:
            return auditmanager.observe_region(self._aws.auditmanager(region), region)
        except AwsCallError as e:
            return RegionFailure(region, e.failure)
        except Exception as e:
            log.exception("reading Audit Manager in %s failed unexpectedly", region)
            return RegionFailure(region, internal_failure("GetAccountStatus", e))

    def _elsewhere(self, listed: Sequence[str]) -> tuple[dict[str, str], list[str]]:
        """Administrators in the Regions the spec does not list (read-only calls), and the
        Regions that could not be read for a reason that passes."""
        found, unreadable = {}, []
        for region in self._aws.auditmanager_regions():
            if region in listed:
                continue
            view = self._region(region)
            if isinstance(view, RegionView):
                if view.admin_account_id:
                    found[region] = view.admin_account_id
            elif view.failure.retry is Retry.NEVER:
                # Refused for good (a Region not enabled for the account, an IAM policy
                # limiting Regions): Audit Manager cannot be in use there for this account.
                log.info("not counting %s: %s", region, view.failure.describe())
            else:
                unreadable.append(region)
        return found, unreadable

    def _forget_on_expiry(self, read: Callable[[], T]) -> T:
        try:
            return read()
        except AwsCallError as e:
            if e.failure.reason == "AwsCredentials" and e.failure.retry is Retry.SOON:
                # AWS says the credentials expired while botocore thought them valid (a
                # clock that drifted): build the clients anew, with fresh credentials.
                self._factory.forget(self._identity)
            raise
