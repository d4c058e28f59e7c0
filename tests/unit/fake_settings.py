"""The administrator's account behind the operator's settings seam (`external.SettingsAccount`),
over the in-memory AWS's settings (`tests/fake_aws_settings.py`, which the contract tests hold
to the emulator's answers, and which meets the faults a test sets with `FakeAws.fail`).
Requests and answers go through the operator's own translation (`aws.admin_settings.request`
and `parse`), so only boto3's HTTP is left out."""

from __future__ import annotations

from collections.abc import Sequence

from awsorg_operator.actions import DeregisterAccount, UpdateAuditSettings
from awsorg_operator.aws.admin_settings import parse, request
from awsorg_operator.external import Identity
from awsorg_operator.failures import CallError
from awsorg_operator.observed import RegionFailure, SettingsView
from tests import fake_aws_settings
from tests.fake_aws import FakeAws


class FakeAdminAccount:
    def __init__(self, aws: FakeAws, identity: Identity) -> None:
        self.aws = aws
        self.account = (identity.role_arn or "").split(":")[4]

    def read_settings(self, regions: Sequence[str]) -> dict[str, SettingsView | RegionFailure]:
        out: dict[str, SettingsView | RegionFailure] = {}
        for region in regions:
            try:
                answer = fake_aws_settings.get_settings(self.aws, self.account, region, "ALL")
            except CallError as e:
                out[region] = RegionFailure(region, e.failure)
                continue
            out[region] = parse(answer, region, self.account)
        return out

    def update_settings(self, action: UpdateAuditSettings) -> None:
        params = request(action.changes)
        fake_aws_settings.update_settings(self.aws, self.account, action.region, params)

    def deregister_account(self, action: DeregisterAccount) -> None:
        fake_aws_settings.deregister_account(self.aws, self.account, action.region)
