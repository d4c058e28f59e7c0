"""The boto3 side of the seam (`external.py`): `External` over boto3, one per identity."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Future, as_completed
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
from awsorg_operator.aws.admin_settings import AwsSettingsAccount
from awsorg_operator.aws.clients import AwsClients, ClientFactory
from awsorg_operator.aws.concurrency import CallPool
from awsorg_operator.external import Identity, attempt
from awsorg_operator.failures import CallError, CallFailure, Kind, unexpected
from awsorg_operator.observed import AccountStatus, Observed, OrgView, RegionFailure, RegionView

log = logging.getLogger(__name__)
T = TypeVar("T")


class AwsConnector:
    def __init__(self, factory: ClientFactory, calls: CallPool | None = None) -> None:
        self._factory = factory
        self._calls = calls or CallPool()

    def connect(self, identity: Identity) -> AwsExternal:
        return AwsExternal(self._factory, identity, self._calls)

    def connect_settings(self, identity: Identity) -> AwsSettingsAccount:
        """The delegated administrator's account, for its settings (spec.adminCredentials)."""
        return AwsSettingsAccount(self._factory, identity, self._calls)

    def close(self) -> None:
        """Stops the call pool and closes every client: nothing may call AWS after this."""
        self._calls.shutdown()
        self._factory.close()


class AwsExternal:
    """Reads that do not wait for each other are sent together (`CallPool`): the two
    organization reads, then trusted access, the administrators, the administrator's
    membership and every listed Region's three reads at once (`_regions`)."""

    def __init__(self, factory: ClientFactory, identity: Identity, calls: CallPool) -> None:
        self._factory = factory
        self._identity = identity
        self._calls = calls
        self._aws: AwsClients = factory.for_identity(identity)
        self._members: dict[str, Future[bool]] = {}  # sent before they are asked

    def observe_org(self) -> OrgView:
        return self._forget_on_expiry(self._observe_org)

    def _observe_org(self) -> OrgView:
        client = self._aws.organizations()
        described = self._submit(lambda: organizations.organization(client))
        # Whose credentials these are cannot change while they are the same credentials:
        # asked once per identity, again only after AWS refused them as expired (`forget`).
        caller = self._aws.caller_account
        if caller is None:
            caller = self._aws.remember_caller(organizations.caller_account(self._aws.sts()))
        return OrgView(caller_account_id=caller, organization=described.result())

    def is_member(self, account_id: str) -> bool:
        sent = self._members.pop(account_id, None)
        if sent is not None:
            return sent.result()
        return organizations.account_exists(self._aws.organizations(), account_id)

    def will_ask_member(self, account_id: str) -> None:
        client = self._aws.organizations()
        read = functools.partial(organizations.account_exists, client, account_id)
        self._members[account_id] = self._submit(read)

    def observe(
        self,
        org: OrgView,
        regions: Sequence[str],
        scan: bool,
        skip: Collection[str] = frozenset(),
    ) -> Observed:
        client = self._aws.organizations()
        trusted = self._submit(lambda: organizations.trusted_access_enabled(client))
        admins = self._submit(lambda: organizations.delegated_admins(client))
        by_region = self._regions(regions)
        enabled = trusted.result()
        scanned = self._elsewhere([*regions, *skip]) if scan and enabled else ({}, [])
        elsewhere, unreadable = scanned
        return Observed(
            org=org,
            trusted_access=enabled,
            org_delegated_admins=admins.result(),
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

    def execute_all(self, actions: Sequence[Action]) -> list[CallFailure | None]:
        sent = [
            self._submit(functools.partial(attempt, a, self.execute), a.region) for a in actions
        ]
        return [future.result() for future in sent]

    def _submit(self, fn: Callable[[], T], region: str | None = None) -> Future[T]:
        """Bounded per scope: Organizations (and STS), or one Region's Audit Manager."""
        scope = f"auditmanager {region}" if region else "organizations"
        return self._calls.submit(self._identity, fn, scope)

    def _regions(
        self, regions: Sequence[str], together: bool = True
    ) -> dict[str, RegionView | RegionFailure]:
        """Each Region's account status, key and administrator. `together`: all three sent at
        once, the key and administrator used only if the account is ACTIVE (an account that
        is not active gets AccessDenied from them, which is not "no administrator", so their
        answers are dropped unread). Otherwise the two follow an ACTIVE status, which costs
        a round trip but no refused call (the scan of the Regions not listed, where most
        accounts are not registered). A Region that fails is kept as a `RegionFailure`."""
        statuses = {self._submit(self._guarded(r, self._status(r)), r): r for r in regions}
        details = {r: self._details(r) for r in regions} if together else {}
        found: dict[str, RegionView | RegionFailure] = {}
        for done in as_completed(statuses):
            region, status = statuses[done], done.result()
            if isinstance(status, RegionFailure):
                found[region] = status
            elif status is not AccountStatus.ACTIVE:
                found[region] = RegionView(region, status)
            elif region not in details:
                details[region] = self._details(region)
        for region, (key, admin) in details.items():
            # Waited for also when unused: no call of this reconcile outlives its observation.
            kms, admin_id = key.result(), admin.result()
            if region in found:
                continue  # not active, or its status failed: the details say nothing
            if isinstance(kms, RegionFailure):
                found[region] = kms
            elif isinstance(admin_id, RegionFailure):
                found[region] = admin_id
            else:
                found[region] = RegionView(region, AccountStatus.ACTIVE, admin_id, kms)
        return {region: found[region] for region in regions}

    def _details(
        self, region: str
    ) -> tuple[Future[str | RegionFailure], Future[str | RegionFailure | None]]:
        am = self._aws.auditmanager(region)
        key = self._guarded(region, functools.partial(auditmanager.kms_key, am))
        admin = self._guarded(region, functools.partial(auditmanager.admin, am))
        return self._submit(key, region), self._submit(admin, region)

    def _status(self, region: str) -> Callable[[], AccountStatus]:
        am = self._aws.auditmanager(region)
        return lambda: auditmanager.account_status(am)

    @staticmethod
    def _guarded(region: str, read: Callable[[], T]) -> Callable[[], T | RegionFailure]:
        """A failure in one Region is kept and the others go on, whatever it was."""

        def run() -> T | RegionFailure:
            try:
                return read()
            except CallError as e:
                return RegionFailure(region, e.failure)
            except Exception as e:
                log.exception("reading Audit Manager in %s failed unexpectedly", region)
                return RegionFailure(region, unexpected("GetAccountStatus", e))

        return run

    def _elsewhere(self, not_read: Sequence[str]) -> tuple[dict[str, str], list[RegionFailure]]:
        """Administrators in the other Regions where Audit Manager is offered (read-only
        calls), and the Regions that could not be read, whatever the failure: a refusal,
        AccessDenied above all, says nothing about whether an administrator is there."""
        found, unreadable = {}, []
        others = [r for r in self._aws.auditmanager_regions() if r not in not_read]
        for region, view in self._regions(others, together=False).items():
            if isinstance(view, RegionFailure):
                unreadable.append(view)
            elif view.admin_account_id:
                found[region] = view.admin_account_id
        return found, unreadable

    def _forget_on_expiry(self, read: Callable[[], T]) -> T:
        try:
            return read()
        except CallError as e:
            if e.failure.kind is Kind.CREDENTIALS_EXPIRED:
                # AWS says the credentials expired while botocore thought them valid (a
                # clock that drifted): build the clients anew, with fresh credentials.
                self._factory.forget(self._identity)
            raise
