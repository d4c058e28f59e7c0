"""Audit Manager's settings in the delegated administrator's account (spec.adminCredentials):
`GetSettings(ALL)` per Region, read side by side, and `UpdateSettings` with only the fields the
plan names. Field names and shapes are botocore's `auditmanager` 2017-07-25 model (the Audit
Manager API reference, https://docs.aws.amazon.com/audit-manager/latest/APIReference/
API_UpdateSettings.html and API_Settings.html)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from awsorg_operator.actions import DeregisterAccount, UpdateAuditSettings
from awsorg_operator.aws import auditmanager
from awsorg_operator.aws.calls import call
from awsorg_operator.aws.clients import AwsClients, ClientFactory
from awsorg_operator.aws.concurrency import CallPool
from awsorg_operator.external import Identity
from awsorg_operator.failures import CallError, unexpected
from awsorg_operator.observed import RegionFailure, SettingsView

if TYPE_CHECKING:
    from types_boto3_auditmanager import AuditManagerClient

log = logging.getLogger(__name__)


class AwsSettingsAccount:
    """The administrator's account as one identity reaches it (an assumed role)."""

    def __init__(self, factory: ClientFactory, identity: Identity, calls: CallPool) -> None:
        self._identity = identity
        self._calls = calls
        self._aws: AwsClients = factory.for_identity(identity)
        self._account = (identity.role_arn or "").split(":")[4] if identity.role_arn else ""

    def read_settings(self, regions: Sequence[str]) -> dict[str, SettingsView | RegionFailure]:
        sent = {
            region: self._calls.submit(
                self._identity, self._guarded(region), f"auditmanager {region}"
            )
            for region in regions
        }
        return {region: future.result() for region, future in sent.items()}

    def update_settings(self, action: UpdateAuditSettings) -> None:
        am = self._aws.auditmanager(action.region)
        args = request(action.changes)
        call("UpdateSettings", lambda: am.update_settings(**args))

    def deregister_account(self, action: DeregisterAccount) -> None:
        # Its call lives with the management account's (auditmanager.py): only the management
        # account's seam sends it, so the administrator's role is not granted it.
        auditmanager.deregister_account(self._aws.auditmanager(action.region))

    def _guarded(self, region: str) -> Callable[[], SettingsView | RegionFailure]:
        am = self._aws.auditmanager(region)

        def run() -> SettingsView | RegionFailure:
            try:
                return read(am, region, self._account)
            except CallError as e:
                return RegionFailure(region, e.failure)
            except Exception as e:
                log.exception("reading Audit Manager settings in %s failed unexpectedly", region)
                return RegionFailure(region, unexpected("GetSettings", e))

        return run


def read(am: AuditManagerClient, region: str, account: str) -> SettingsView:
    answer = call("GetSettings", lambda: am.get_settings(attribute="ALL"))
    return parse(dict(answer.get("settings", {})), region, account)


def parse(s: Mapping[str, Any], region: str, account: str) -> SettingsView:
    """`GetSettings(ALL)`'s `settings` as the typed view; a field absent stays None."""
    finder = s.get("evidenceFinderEnablement") or {}
    return SettingsView(
        region=region,
        account_id=account,
        is_aws_org_enabled=s.get("isAwsOrgEnabled"),
        sns_topic=s.get("snsTopic"),
        reports_destination=(s.get("defaultAssessmentReportsDestination") or {}).get("destination"),
        process_owners=tuple(
            str(r["roleArn"]) for r in s.get("defaultProcessOwners") or () if "roleArn" in r
        ),
        kms_key=s.get("kmsKey"),
        evidence_finder=finder.get("enablementStatus"),
        backfill=finder.get("backfillStatus"),
        event_data_store=finder.get("eventDataStoreArn"),
        evidence_finder_error=finder.get("error"),
        delete_resources=(s.get("deregistrationPolicy") or {}).get("deleteResources"),
        export_destination=(s.get("defaultExportDestination") or {}).get("destination"),
    )


def request(changes: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The plan's (field, text) pairs as `UpdateSettings` takes them."""
    args: dict[str, Any] = {}
    for name, value in changes:
        match name:
            case "defaultAssessmentReportsDestination" | "defaultExportDestination":
                args[name] = {"destinationType": "S3", "destination": value}
            case "defaultProcessOwners":
                owners = [v for v in value.split(",") if v]
                args[name] = [{"roleType": "PROCESS_OWNER", "roleArn": arn} for arn in owners]
            case "evidenceFinderEnabled":
                args[name] = value == "true"
            case "deregistrationPolicy":
                args[name] = {"deleteResources": value}
            case _:  # snsTopic, kmsKey: as they are
                args[name] = value
    return args
