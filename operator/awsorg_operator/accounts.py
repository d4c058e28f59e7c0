"""The two accounts one resource reaches, behind one seam: the management account (everything
but the settings) and, with spec.adminCredentials, the delegated administrator's account, whose
Audit Manager settings it reads and writes. The reconciler and the plan command see one
`External` that observes both and routes each action to the account that sends it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from typing import TypeVar

from awsorg_operator.actions import AnyAction, DeregisterAccount, UpdateAuditSettings
from awsorg_operator.external import (
    Connector,
    External,
    Identity,
    Reader,
    SettingsAccount,
    SettingsConnect,
    SettingsReader,
    attempt,
)
from awsorg_operator.failures import CallFailure
from awsorg_operator.observed import AccountStatus, Observed, OrgView
from awsorg_operator.resource import Resource

S = TypeVar("S")  # a settings seam: reads only (the plan command) or reads and writes


class ReadAccounts:
    """The reads of both accounts: what the plan command gets."""

    def __init__(
        self,
        main: Reader,
        admin: SettingsReader | None = None,
        admin_id: str | None = None,
        own: SettingsReader | None = None,
    ) -> None:
        self._main: Reader = main
        self._admin: SettingsReader | None = admin
        self._admin_id = admin_id
        self._own = own  # the management account's settings, for a retirement

    def observe_org(self) -> OrgView:
        return self._main.observe_org()

    def is_member(self, account_id: str) -> bool:
        return self._main.is_member(account_id)

    def will_ask_member(self, account_id: str) -> None:
        self._main.will_ask_member(account_id)

    def observe(
        self,
        org: OrgView,
        regions: Sequence[str],
        scan: bool,
        skip: Collection[str] = frozenset(),
    ) -> Observed:
        observed = self._main.observe(org, regions, scan, skip)
        if self._own is not None:
            active = [
                v.region
                for v in observed.region_views()
                if v.account_status is AccountStatus.ACTIVE
            ]
            own = self._own.read_settings(active) if active else {}
            observed = replace(observed, own_settings=dict(own))
        if self._admin is None:
            return observed
        # Only where the account is the registered administrator: elsewhere it is not
        # registered with Audit Manager, and AWS answers AccessDenied, which says nothing.
        where = [
            v.region
            for v in observed.region_views()
            if v.account_status is AccountStatus.ACTIVE and v.admin_account_id == self._admin_id
        ]
        settings = self._admin.read_settings(where) if where else {}
        return replace(observed, settings=dict(settings))


class Accounts(ReadAccounts):
    """Both accounts, reads and writes: each action goes to the account that sends it."""

    def __init__(
        self,
        main: External,
        admin: SettingsAccount | None = None,
        admin_id: str | None = None,
        own: SettingsAccount | None = None,
    ) -> None:
        super().__init__(main, admin, admin_id, own)
        self._writer = main
        self._admin_writer = admin
        self._own_writer = own

    def execute(self, action: AnyAction) -> None:
        # A retirement's steps in the management account go through the settings seam
        # connected as that account; the administrator's settings through its own.
        match action:
            case DeregisterAccount():
                assert self._own_writer is not None, "planned only for a retirement"
                self._own_writer.deregister_account(action)
            case UpdateAuditSettings() if self._own_writer and action.account_id != self._admin_id:
                self._own_writer.update_settings(action)
            case UpdateAuditSettings():
                assert self._admin_writer is not None, "planned only with spec.adminCredentials"
                self._admin_writer.update_settings(action)
            case _:
                self._writer.execute(action)

    def execute_all(self, actions: Sequence[AnyAction]) -> list[CallFailure | None]:
        """The management account's writes together, as its seam sends them; the settings,
        one per Region at most in a step, after them."""
        main = [a for a in actions if not isinstance(a, UpdateAuditSettings | DeregisterAccount)]
        sent = iter(self._writer.execute_all(main) if main else [])
        return [
            attempt(a, self.execute)
            if isinstance(a, UpdateAuditSettings | DeregisterAccount)
            else next(sent)
            for a in actions
        ]


def accounts_for(connector: Connector, settings: SettingsConnect | None, res: Resource) -> Accounts:
    """The accounts a resource reaches: the management account's identity, and the
    administrator's when the spec names one (spec.adminCredentials) and settings are wired."""
    return Accounts(connector.connect(res.identity), *settings_seams(settings, res))


def settings_seams(
    settings: Callable[[Identity], S] | None, res: Resource
) -> tuple[S | None, str | None, S | None]:
    """The settings seams a resource reaches, for the reconciler and the plan command alike:
    the administrator's (with its account) when spec.adminCredentials names one, and the
    management account's own when a retirement is declared."""
    own = settings(res.identity) if settings and res.spec.retirement else None
    admin, creds = res.admin_identity, res.spec.admin_credentials
    if settings is None or admin is None or creds is None:
        return None, None, own
    return settings(admin), creds.account_id, own
