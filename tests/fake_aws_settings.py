"""The in-memory fake's Audit Manager settings, evidence finder and DeregisterAccount.

Settings are held per account and Region by the emulator's own pure model
(`awsorg_emulator.auditmanager_settings`: UpdateSettings' validation, GetSettings' shapes,
evidence finder's steps), on the fake's clock instead of the wall clock; what lies around it
(who is registered, the administrator cleaned up with the management account) is kept by the
fake, and `tests/contract/` holds both to the same answers. Failures are raised as the
operator's seam raises them: a `CallError` classified from the error AWS answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from awsorg_emulator.auditmanager import NOT_REGISTERED_MESSAGE
from awsorg_emulator.auditmanager_settings import (
    AccountSettings,
    Enablement,
    EvidenceFinder,
    Timing,
    attribute_error,
    select,
)
from awsorg_emulator.errors import AwsError
from awsorg_operator.aws.errors import classify
from awsorg_operator.failures import CallError
from awsorg_operator.observed import AccountStatus

if TYPE_CHECKING:
    from tests.fake_aws import FakeAws

Key = tuple[str, str]  # (account, Region)


@dataclass
class FakeSettings:
    clock: float = 0.0  # seconds; moved only by advance()
    evidence_finder_seconds: float | None = 0.0  # each evidence finder step; None: settle()
    cloudtrail_lake_open: bool = False  # closed to new customers since May 2026
    accounts: dict[Key, AccountSettings] = field(default_factory=dict)
    deregistrations: dict[Key, str] = field(default_factory=dict)  # -> deleteResources
    orphaned_stores: list[str] = field(default_factory=list)  # event data stores left billed

    def timing(self) -> Timing:
        return Timing(self.clock, self.evidence_finder_seconds, self.cloudtrail_lake_open)

    def of(self, account: str, region: str) -> AccountSettings:
        key = (account, region)
        if key not in self.accounts:
            self.accounts[key] = AccountSettings(account, region)
        return self.accounts[key]

    def advance(self, seconds: float) -> None:
        self.clock += seconds

    def settle(self) -> None:
        for settings in self.accounts.values():
            settings.evidence_finder.settle()

    def seed_evidence_finder(self, account: str, region: str) -> None:
        settings = self.of(account, region)
        long_ago = Timing(0.0, 0.0, lake_open=True)
        settings.evidence_finder.request(True, long_ago, settings.data_store_arn())

    def set_evidence_finder_error(self, account: str, region: str, error: str | None) -> None:
        self.of(account, region).evidence_finder.error = error

    def drop_evidence_finder(self, account: str, region: str) -> None:
        """The account stops using Audit Manager there: a store not being deleted stays."""
        settings = self.accounts.get((account, region))
        if settings is None:
            return
        finder = settings.evidence_finder
        if finder.data_store is not None and finder.status is not Enablement.DISABLE_IN_PROGRESS:
            self.orphaned_stores.append(finder.data_store)
        settings.evidence_finder = EvidenceFinder()


def failure(operation: str, error: AwsError) -> CallError:
    """``error`` as the operator's seam reports it, classified by the seam's own rules."""
    response: Any = {
        "Error": {"Code": error.code, "Message": error.message},
        "ResponseMetadata": {"HTTPStatusCode": error.status},
        **error.fields,
    }
    return CallError(classify(operation, ClientError(response, operation)))


def _call(aws: FakeAws, operation: str, region: str) -> None:
    """Logged, and failed by the faults and bugs a test set (`FakeAws.fail`), as every call."""
    from tests.fake_aws import FakeExternal

    FakeExternal(aws)._call(operation, region)


def is_registered(aws: FakeAws, account: str, region: str) -> bool:
    from tests.fake_aws import MGMT  # the fake imports this module

    r = aws.region(region)
    return r.status is AccountStatus.ACTIVE if account == MGMT else account in r.active


def _require_registered(aws: FakeAws, operation: str, account: str, region: str) -> None:
    if not is_registered(aws, account, region):
        raise failure(operation, AwsError("AccessDeniedException", NOT_REGISTERED_MESSAGE, 403))


def get_settings(aws: FakeAws, account: str, region: str, attribute: str) -> dict[str, Any]:
    _call(aws, "GetSettings", region)
    refused = attribute_error(attribute)
    if refused is not None:
        raise failure("GetSettings", refused)
    _require_registered(aws, "GetSettings", account, region)
    shown = aws.settings.of(account, region).view(aws.trusted, aws.settings.timing())
    return select(shown, attribute)


def update_settings(
    aws: FakeAws, account: str, region: str, params: dict[str, Any]
) -> dict[str, Any]:
    _call(aws, "UpdateSettings", region)
    _require_registered(aws, "UpdateSettings", account, region)
    settings = aws.settings.of(account, region)
    try:
        settings.update(params, aws.settings.timing())
    except AwsError as e:
        raise failure("UpdateSettings", e) from None
    return settings.view(aws.trusted, aws.settings.timing())


def deregister_account(aws: FakeAws, account: str, region: str) -> str:
    """As the emulator: INACTIVE under the account's policy; the management account takes
    the Region's administrator with it, under the management account's policy."""
    from tests.fake_aws import MGMT

    _call(aws, "DeregisterAccount", region)
    r = aws.region(region)
    policy = _retire(aws, account, region, None)
    if account == MGMT:
        r.status = AccountStatus.INACTIVE
        if r.admin is not None:
            _retire(aws, r.admin, region, policy)
            r.active.discard(r.admin)
            r.admin = None
    else:
        r.active.discard(account)
    return "INACTIVE"


def _retire(aws: FakeAws, account: str, region: str, policy: str | None) -> str:
    book = aws.settings
    settings = book.accounts.get((account, region))
    policy = policy or (settings.policy() if settings else "DEFAULT")
    if not is_registered(aws, account, region) or settings is None:
        return policy
    book.deregistrations[(account, region)] = policy
    book.drop_evidence_finder(account, region)
    if policy == "ALL":
        del book.accounts[(account, region)]
    return policy
