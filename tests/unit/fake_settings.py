"""The administrator's account's Audit Manager settings in memory, behind the seam the operator
reads and writes them through (`external.SettingsAccount`), for unit tests with no process.
It keeps what `GetSettings` answers (`SettingsView`) and applies `UpdateSettings` as the Audit
Manager API reference says: the topic read back by name, evidence finder moving through
`*_IN_PROGRESS` only when asked to (`moving`). The HTTP emulator is the reference: the
integration tests (`tests/integration/test_settings.py`) run the same behaviour against it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from awsorg_operator.actions import UpdateAuditSettings
from awsorg_operator.external import Identity
from awsorg_operator.failures import CallError, CallFailure
from awsorg_operator.observed import RegionFailure, SettingsView

STORE = "arn:aws:cloudtrail:us-east-1:111111111111:eventdatastore/evidence"


@dataclass
class FakeSettings:
    account_id: str
    views: dict[str, SettingsView] = field(default_factory=dict)
    failures: dict[str, CallFailure] = field(default_factory=dict)  # by Region, every call
    writes: list[UpdateAuditSettings] = field(default_factory=list)
    identities: list[Identity] = field(default_factory=list)

    def region(self, name: str) -> SettingsView:
        """A Region as an account set up before maintenance mode has it: evidence finder on."""
        found = self.views.get(name)
        if found is None:
            found = SettingsView(
                name, self.account_id, True, evidence_finder="ENABLED",
                backfill="COMPLETED", event_data_store=STORE,
            )  # fmt: skip
            self.views[name] = found
        return found

    def connect(self, identity: Identity) -> FakeSettingsAccount:
        self.identities.append(identity)
        return FakeSettingsAccount(self)


class FakeSettingsAccount:
    def __init__(self, aws: FakeSettings) -> None:
        self.aws = aws

    def read_settings(self, regions: Sequence[str]) -> dict[str, SettingsView | RegionFailure]:
        out: dict[str, SettingsView | RegionFailure] = {}
        for region in regions:
            failure = self.aws.failures.get(region)
            out[region] = RegionFailure(region, failure) if failure else self.aws.region(region)
        return out

    def update_settings(self, action: UpdateAuditSettings) -> None:
        failure = self.aws.failures.get(action.region)
        if failure:
            raise CallError(failure)
        self.aws.writes.append(action)
        view = self.aws.region(action.region)
        for name, value in action.changes:
            view = _apply(view, name, value)
        self.aws.views[action.region] = view


def _apply(view: SettingsView, name: str, value: str) -> SettingsView:
    match name:
        case "snsTopic":
            return replace(view, sns_topic=None if value == "NONE" else value.rsplit(":", 1)[-1])
        case "defaultAssessmentReportsDestination":
            return replace(view, reports_destination=value)
        case "defaultExportDestination":
            return replace(view, export_destination=value)
        case "defaultProcessOwners":
            return replace(view, process_owners=tuple(v for v in value.split(",") if v))
        case "kmsKey":
            return replace(view, kms_key=value)
        case "evidenceFinderEnabled":
            on = value == "true"
            store = view.event_data_store if on else None
            return replace(
                view, evidence_finder="ENABLED" if on else "DISABLED", event_data_store=store
            )
        case "deregistrationPolicy":
            return replace(view, delete_resources=value)
    raise AssertionError(f"UpdateSettings has no field {name}")
