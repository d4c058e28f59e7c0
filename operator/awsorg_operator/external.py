"""The one seam between the reconciler and AWS (in the spirit of Crossplane's
`ExternalConnecter`/`ExternalClient`): connect as an identity, observe into the typed
snapshot, execute one action.

The real implementation is `aws/connector.py`; the unit tests use an in-memory fake that passes
the same contract tests (`tests/contract/`). Both raise `CallError` for a failed call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from awsorg_operator.actions import Action, AnyAction, DeregisterAccount, UpdateAuditSettings
from awsorg_operator.failures import CallError, CallFailure, unexpected
from awsorg_operator.observed import Observed, OrgView, RegionFailure, SettingsView

log = logging.getLogger(__name__)
A = TypeVar("A", bound=AnyAction)


@dataclass(frozen=True)
class Identity:
    """Whose credentials: the operator's own (no role), or a role it assumes."""

    role_arn: str | None = None
    external_id: str | None = None


class Reader(Protocol):
    """The read half of the seam: what `awsorg-operator plan` gets, so it cannot write."""

    def observe_org(self) -> OrgView:
        """Who the credentials belong to and which organization they reach."""
        ...

    def is_member(self, account_id: str) -> bool:
        """Whether the account belongs to the caller's organization."""
        ...

    def will_ask_member(self, account_id: str) -> None:
        """A hint that `is_member(account_id)` comes after the next `observe`: a reader may
        send it now, beside the other reads, so that it costs no round trip of its own."""
        ...

    def observe(
        self,
        org: OrgView,
        regions: Sequence[str],
        scan: bool,
        skip: Collection[str] = frozenset(),
    ) -> Observed:
        """Trusted access, Organizations' administrators and each listed Region. A Region that
        fails is kept in the snapshot as a `RegionFailure`; the others go on. With `scan`,
        every other Region where Audit Manager is offered is read for administrators too, but
        those in `skip`, which are not called at all."""
        ...


class External(Reader, Protocol):
    def execute(self, action: Action) -> None:
        """One write. Idempotent where AWS allows: an administrator already gone counts as
        deregistered."""
        ...

    def execute_all(self, actions: Sequence[Action]) -> list[CallFailure | None]:
        """Writes that do not depend on each other (at most one per Region), sent together;
        the failure of each, or None, in the same order. One failing stops no other."""
        ...


class Connector(Protocol):
    def connect(self, identity: Identity) -> External: ...


class SettingsReader(Protocol):
    """Audit Manager's settings in the account an identity reaches (the delegated
    administrator's, through spec.adminCredentials)."""

    def read_settings(self, regions: Sequence[str]) -> dict[str, SettingsView | RegionFailure]:
        """`GetSettings(ALL)` in each Region; a Region that fails is kept as a failure."""
        ...


class SettingsAccount(SettingsReader, Protocol):
    def update_settings(self, action: UpdateAuditSettings) -> None:
        """One `UpdateSettings` with the action's fields only."""
        ...

    def deregister_account(self, action: DeregisterAccount) -> None:
        """`DeregisterAccount` in the action's Region: a retirement's step, sent only when this
        seam is connected as the management account."""
        ...


# Connects to the administrator's account as an identity.
SettingsConnect = Callable[[Identity], SettingsAccount]


def attempt(action: A, execute: Callable[[A], None]) -> CallFailure | None:
    """Send one write; its failure as data, so that one Region's failure stops no other."""
    try:
        execute(action)
    except CallError as e:
        return e.failure
    except Exception as e:
        log.exception("%s failed unexpectedly", action.operation)
        return unexpected(action.operation, e)
    return None
