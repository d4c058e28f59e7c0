"""An in-memory AWS behind the operator's seam (`External`), for unit tests with no process.

It keeps the behaviour the operator depends on, as AWS documents it (the API references of
Organizations, https://docs.aws.amazon.com/organizations/latest/APIReference/, and of Audit
Manager, https://docs.aws.amazon.com/audit-manager/latest/APIReference/) and as the HTTP emulator
implements it; `tests/contract/` runs the same tests against both, so the fake cannot drift
from the emulator. It starts as the emulator's "existing-customer" seed.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from copy import deepcopy
from dataclasses import dataclass, field, replace
from typing import assert_never

from awsorg_operator.actions import (
    Action,
    DeregisterAdmin,
    DisableTrustedAccess,
    EnableTrustedAccess,
    RegisterAccount,
    RegisterAdmin,
    UpdateKmsKey,
)
from awsorg_operator.external import Identity, attempt
from awsorg_operator.failures import CallError, CallFailure, Kind, unexpected
from awsorg_operator.observed import (
    AccountStatus,
    Observed,
    Organization,
    OrgView,
    RegionFailure,
    RegionView,
)
from tests.fake_aws_settings import FakeSettings

MGMT, AUDIT, WORKLOADS = "123456789012", "111111111111", "222222222222"
ORG_ID = "o-awsorgemu01"
ALL_REGIONS = ("us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2")
MAINTENANCE = (
    "AWS Audit Manager is now in maintenance mode. As of April 30, 2026, you cannot enable "
    "Audit Manager for new accounts or in additional AWS Regions."
)

THROTTLED = CallFailure("Any", "ThrottlingException", "Rate exceeded", Kind.THROTTLED)
DENIED = CallFailure("Any", "AccessDeniedException", "not authorized", Kind.DENIED)


@dataclass
class FakeRegion:
    status: AccountStatus = AccountStatus.INACTIVE
    admin: str | None = None
    kms_key: str = "DEFAULT"
    active: set[str] = field(default_factory=set)  # member accounts active here
    pre_cutoff: set[str] = field(default_factory=set)  # active before 2026-04-30


@dataclass
class FakeAws:
    """One organization's AWS, as the emulator's existing-customer seed starts it."""

    caller: str = MGMT
    feature_set: str = "ALL"
    members: set[str] = field(default_factory=lambda: {AUDIT, WORKLOADS})
    trusted: bool = True
    regions: dict[str, FakeRegion] = field(default_factory=dict)
    maintenance_mode: bool = True
    # (operation or "*", region or "*") -> failures to raise, first first
    faults: dict[tuple[str, str], list[CallFailure]] = field(default_factory=dict)
    # operation -> an exception no AWS client would raise: a bug, or an undocumented answer
    bugs: dict[str, Exception] = field(default_factory=dict)
    # writes that land but whose answer never comes back (a read timeout after sending)
    lost_answers: set[str] = field(default_factory=set)
    stale_reads: int = 0  # reads after a write that still answer the state before it
    calls: list[tuple[str, str | None]] = field(default_factory=list)
    # every account's settings per Region, evidence finder, deregistrations (fake_aws_settings)
    settings: FakeSettings = field(default_factory=FakeSettings)
    _before_write: dict[str, FakeRegion] | None = None
    _stale_left: int = 0

    def __post_init__(self) -> None:
        if not self.regions:
            self.regions = {
                r: FakeRegion(AccountStatus.ACTIVE, AUDIT, active={AUDIT}, pre_cutoff={MGMT, AUDIT})
                for r in ("us-east-1", "eu-west-1")
            }
            for r in self.regions:  # enabled before CloudTrail Lake closed, as the seed has it
                self.settings.seed_evidence_finder(AUDIT, r)

    def fail(self, failure: CallFailure, operation: str = "*", region: str = "*", times: int = 1):  # type: ignore[no-untyped-def]
        self.faults.setdefault((operation, region), []).extend([failure] * times)
        return self

    def writes(self) -> list[tuple[str, str | None]]:
        mutating = ("Register", "Deregister", "Enable", "Disable", "Update")
        return [c for c in self.calls if c[0].startswith(mutating)]

    def region(self, name: str) -> FakeRegion:
        return self.regions.setdefault(name, FakeRegion())

    def org_admins(self) -> frozenset[str]:
        return frozenset(r.admin for r in self.regions.values() if r.admin)


class FakeConnector:
    def __init__(self, aws: FakeAws) -> None:
        self.aws = aws
        self.identities: list[Identity] = []

    def connect(self, identity: Identity) -> FakeExternal:
        self.identities.append(identity)
        return FakeExternal(self.aws)


class FakeExternal:
    def __init__(self, aws: FakeAws) -> None:
        self.aws = aws

    def _call(self, operation: str, region: str | None = None) -> None:
        self.aws.calls.append((operation, region))
        if operation in self.aws.bugs:
            raise self.aws.bugs[operation]
        for key in ((operation, region or "*"), (operation, "*"), ("*", region or "*"), ("*", "*")):
            queue = self.aws.faults.get(key)
            if queue:
                f = queue.pop(0)
                raise CallError(CallFailure(operation, f.code, f.message, f.kind))

    def observe_org(self) -> OrgView:
        self._call("GetCallerIdentity")
        self._call("DescribeOrganization")
        return OrgView(self.aws.caller, Organization(ORG_ID, MGMT, self.aws.feature_set))

    def is_member(self, account_id: str) -> bool:
        self._call("DescribeAccount")
        return account_id in self.aws.members

    def will_ask_member(self, account_id: str) -> None:
        pass  # answered when asked: nothing to send ahead

    def observe(
        self,
        org: OrgView,
        regions: Sequence[str],
        scan: bool,
        skip: Collection[str] = frozenset(),
    ) -> Observed:
        views = {r: self._region(r) for r in regions}
        self._call("ListAWSServiceAccessForOrganization")
        trusted = self.aws.trusted
        self._call("ListDelegatedAdministrators")
        elsewhere: dict[str, str] = {}
        unreadable: list[RegionFailure] = []
        if scan and trusted:
            for r in ALL_REGIONS:
                if r in regions or r in skip:
                    continue
                v = self._region(r)
                if isinstance(v, RegionFailure):
                    unreadable.append(v)
                elif v.admin_account_id:
                    elsewhere[r] = v.admin_account_id
        if self.aws._stale_left:
            self.aws._stale_left -= 1
        admins = self.aws.org_admins()
        return Observed(org, trusted, admins, views, elsewhere, tuple(unreadable))

    def _region(self, name: str) -> RegionView | RegionFailure:
        try:
            self._call("GetAccountStatus", name)
            seen = self._seen(name)
            if seen.status is not AccountStatus.ACTIVE:
                return RegionView(name, seen.status)
            self._call("GetSettings", name)
            self._call("GetOrganizationAdminAccount", name)
            return RegionView(name, seen.status, seen.admin, seen.kms_key)
        except CallError as e:
            return RegionFailure(name, e.failure)
        except Exception as e:  # as the real seam does: one Region's surprise stays there
            return RegionFailure(name, unexpected("GetAccountStatus", e))

    def _seen(self, name: str) -> FakeRegion:
        stale = self.aws._before_write if self.aws._stale_left else None
        return (stale or {}).get(name) or self.aws.region(name)

    def execute(self, action: Action) -> None:
        try:
            self._execute(action)
        except CallError as e:
            raise CallError(replace(e.failure, operation=action.operation)) from None
        if action.operation in self.aws.lost_answers:
            timeout = "Read timeout on endpoint URL"
            failure = CallFailure(action.operation, "ReadTimeoutError", timeout, Kind.UNAVAILABLE)
            raise CallError(failure)

    def execute_all(self, actions: Sequence[Action]) -> list[CallFailure | None]:
        # In memory there is no round trip to save: one after another, in order.
        return [attempt(action, self.execute) for action in actions]

    def _execute(self, action: Action) -> None:
        self._call(action.operation, action.region)
        aws = self.aws
        if aws.stale_reads and not aws._stale_left:
            aws._before_write = {k: deepcopy(v) for k, v in aws.regions.items()}
            aws._stale_left = aws.stale_reads
        match action:
            case EnableTrustedAccess():
                aws.trusted = True
            case DisableTrustedAccess():
                if aws.org_admins():
                    _refuse("ConstraintViolationException", "an administrator is registered")
                aws.trusted = False
            case RegisterAccount():
                r = aws.region(action.region)
                if r.status is not AccountStatus.ACTIVE:
                    self._may_activate(r, MGMT)
                    r.status = AccountStatus.ACTIVE
                if action.kms_key:
                    r.kms_key = action.kms_key
                    aws.settings.of(MGMT, action.region).values["kmsKey"] = action.kms_key
                if action.admin_account_id:
                    self._register_admin(r, action.admin_account_id)
            case RegisterAdmin():
                self._register_admin(aws.region(action.region), action.account_id)
            case DeregisterAdmin():
                r = aws.region(action.region)
                if r.admin == action.account_id:  # already gone counts as done, as for AWS
                    r.admin = None
                    r.active.discard(action.account_id)
                    aws.settings.drop_evidence_finder(action.account_id, action.region)
            case UpdateKmsKey():
                aws.region(action.region).kms_key = action.kms_key
                aws.settings.of(MGMT, action.region).values["kmsKey"] = action.kms_key
            case _:
                assert_never(action)

    def _register_admin(self, r: FakeRegion, account: str) -> None:
        if r.status is not AccountStatus.ACTIVE:
            _refuse("AccessDeniedException", "Your account isn't registered", Kind.DENIED)
        if r.admin not in (None, account):
            _refuse("ValidationException", f"Cannot change delegated Admin from {r.admin}")
        self._may_activate(r, account)
        r.admin = account
        r.active.add(account)
        self.aws.trusted = True  # Audit Manager's own path enables trusted access

    def _may_activate(self, r: FakeRegion, account: str) -> None:
        """Maintenance mode: no new accounts, no additional Regions."""
        if account in r.active or not self.aws.maintenance_mode or account in r.pre_cutoff:
            return
        _refuse("ValidationException", MAINTENANCE, Kind.MAINTENANCE_MODE)


def _refuse(code: str, message: str, kind: Kind | None = None) -> None:
    kind = kind or (Kind.CONSTRAINT_VIOLATION if code.startswith("Constraint") else Kind.INVALID)
    raise CallError(CallFailure("", code, message, kind))
