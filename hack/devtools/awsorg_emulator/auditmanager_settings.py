"""Audit Manager's settings of one account in one Region, and evidence finder's life.

UpdateSettings "updates Audit Manager settings for the current account" (API reference,
https://docs.aws.amazon.com/audit-manager/latest/APIReference/API_UpdateSettings.html): each
account keeps its own, per Region. GetSettings answers the shapes of botocore's ``Settings``.

Pure: no lock, no HTTP, no clock of its own. The caller passes ``now`` and the ``Timing``, so
the HTTP emulator and the in-memory fake (tests/fake_aws.py) share this code and a test can
step time or settle every transition at once.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .auditmanager_validation import require_valid_update
from .errors import AwsError

DEFAULT_KMS_KEY = "DEFAULT"
# GetSettings attribute -> key of the Settings structure (botocore model SettingAttribute).
SETTING_KEYS: Mapping[str, str | None] = {
    "ALL": None,
    "IS_AWS_ORG_ENABLED": "isAwsOrgEnabled",
    "SNS_TOPIC": "snsTopic",
    "DEFAULT_ASSESSMENT_REPORTS_DESTINATION": "defaultAssessmentReportsDestination",
    "DEFAULT_PROCESS_OWNERS": "defaultProcessOwners",
    "EVIDENCE_FINDER_ENABLEMENT": "evidenceFinderEnablement",
    "DEREGISTRATION_POLICY": "deregistrationPolicy",
    "DEFAULT_EXPORT_DESTINATION": "defaultExportDestination",
}
# UpdateSettings members stored as given (snsTopic is kept as the ARN it was set to).
PLAIN_SETTINGS = (
    "snsTopic",
    "defaultAssessmentReportsDestination",
    "defaultProcessOwners",
    "kmsKey",
    "deregistrationPolicy",
    "defaultExportDestination",
)
# ASSUMPTION: the words of the refusals below are ours; AWS documents that evidence finder
# "can't be re-enabled" once disabled (UpdateSettings, evidenceFinderEnabled), not the error.
CANNOT_REENABLE = (
    "Evidence finder can't be enabled again: disabling it deleted its event data store. "
    "Deregister and register Audit Manager again to use evidence finder."
)
LAKE_CLOSED = (
    "Evidence finder can't be enabled: AWS CloudTrail Lake is no longer open to new customers."
)
IN_PROGRESS = "Evidence finder is being {}; try again when that has finished."


class Enablement(StrEnum):
    ENABLED = "ENABLED"
    DISABLED = "DISABLED"
    ENABLE_IN_PROGRESS = "ENABLE_IN_PROGRESS"
    DISABLE_IN_PROGRESS = "DISABLE_IN_PROGRESS"


@dataclass(frozen=True)
class Timing:
    """``seconds``: how long each step of evidence finder takes (enabling, then the
    backfill; disabling); None: steps finish only when settled through the control API.
    ``lake_open``: whether CloudTrail Lake takes new customers (closed since May 2026)."""

    now: float
    seconds: float | None = 0.0
    lake_open: bool = False


@dataclass
class EvidenceFinder:
    status: Enablement = Enablement.DISABLED
    backfill: str | None = None  # NOT_STARTED | IN_PROGRESS | COMPLETED
    data_store: str | None = None
    since: float = 0.0  # when the current step started
    store_deleted: bool = False  # disabled once: it cannot come back (AWS, UpdateSettings)
    # "any errors that occurred when enabling or disabling evidence finder" (API reference);
    # ASSUMPTION: set only through the control API, cleared by the next request to change it.
    error: str | None = None

    def advance(self, timing: Timing) -> None:
        """Finish every step whose time has come, oldest first."""
        while timing.seconds is not None and self._step_due(timing.now - self.since, timing):
            self.since += timing.seconds
            self._finish_step()

    def _step_due(self, elapsed: float, timing: Timing) -> bool:
        busy = self.status in (Enablement.ENABLE_IN_PROGRESS, Enablement.DISABLE_IN_PROGRESS)
        return (busy or self.backfill == "IN_PROGRESS") and elapsed >= (timing.seconds or 0.0)

    def settle(self) -> None:
        while self.status.endswith("_IN_PROGRESS") or self.backfill == "IN_PROGRESS":
            self._finish_step()

    def _finish_step(self) -> None:
        """ENABLE_IN_PROGRESS -> ENABLED (backfill IN_PROGRESS) -> backfill COMPLETED;
        DISABLE_IN_PROGRESS -> DISABLED, the event data store deleted (API reference,
        EvidenceFinderEnablement). ASSUMPTION: one step takes ``Timing.seconds``."""
        if self.status is Enablement.ENABLE_IN_PROGRESS:
            self.status, self.backfill = Enablement.ENABLED, "IN_PROGRESS"
        elif self.status is Enablement.DISABLE_IN_PROGRESS:
            self.status, self.backfill, self.data_store = Enablement.DISABLED, None, None
        elif self.backfill == "IN_PROGRESS":
            self.backfill = "COMPLETED"

    def check_request(self, enabled: bool, timing: Timing) -> None:
        """Raises the ValidationException a request to turn it on or off gets."""
        on = self.status in (Enablement.ENABLED, Enablement.ENABLE_IN_PROGRESS)
        if enabled == on:
            return  # already so, or on its way: nothing to do
        if enabled and (self.store_deleted or self.status is Enablement.DISABLE_IN_PROGRESS):
            raise _refusal(CANNOT_REENABLE)
        if enabled and not timing.lake_open:
            raise _refusal(LAKE_CLOSED)
        if not enabled and self.status is Enablement.ENABLE_IN_PROGRESS:
            raise _refusal(IN_PROGRESS.format("enabled"))

    def request(self, enabled: bool, timing: Timing, data_store_arn: str) -> None:
        on = self.status in (Enablement.ENABLED, Enablement.ENABLE_IN_PROGRESS)
        if enabled == on:
            return
        self.since, self.error = timing.now, None
        if enabled:
            self.status, self.backfill = Enablement.ENABLE_IN_PROGRESS, "NOT_STARTED"
            self.data_store = data_store_arn
        else:
            self.status, self.store_deleted = Enablement.DISABLE_IN_PROGRESS, True
        self.advance(timing)

    def view(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"enablementStatus": str(self.status)}
        if self.backfill is not None:
            shown["backfillStatus"] = self.backfill
        if self.data_store is not None:
            shown["eventDataStoreArn"] = self.data_store
        if self.error is not None:
            shown["error"] = self.error
        return shown


def _refusal(message: str) -> AwsError:
    fields = [{"name": "evidenceFinderEnabled", "message": message}]
    return AwsError(
        "ValidationException", message, 400, {"reason": "fieldValidationFailed", "fields": fields}
    )


def _default_values() -> dict[str, Any]:
    return {
        "kmsKey": DEFAULT_KMS_KEY,
        "defaultProcessOwners": [],
        "deregistrationPolicy": {"deleteResources": "DEFAULT"},
    }


@dataclass
class AccountSettings:
    """One account's settings in one Region."""

    account: str
    region: str
    values: dict[str, Any] = field(default_factory=_default_values)
    evidence_finder: EvidenceFinder = field(default_factory=EvidenceFinder)

    def update(self, params: Mapping[str, Any], timing: Timing) -> None:
        """UpdateSettings: every check first, so a refused request changes nothing."""
        require_valid_update(params, self.region)
        self.evidence_finder.advance(timing)
        enabled = params.get("evidenceFinderEnabled")
        if enabled is not None:
            self.evidence_finder.check_request(bool(enabled), timing)
        for key in PLAIN_SETTINGS:
            if params.get(key) is not None:
                self.values[key] = copy.deepcopy(params[key])
        if self.values.get("snsTopic") == "NONE":
            del self.values["snsTopic"]  # ASSUMPTION: NONE clears it; GetSettings omits it
        if enabled is not None:
            self.evidence_finder.request(bool(enabled), timing, self.data_store_arn())

    def data_store_arn(self) -> str:
        # ASSUMPTION: the store's ID; AWS names it at creation.
        store = f"eventdatastore/auditmanager-{self.account}"
        return f"arn:aws:cloudtrail:{self.region}:{self.account}:{store}"

    def policy(self) -> str:
        return str(self.values.get("deregistrationPolicy", {}).get("deleteResources", "DEFAULT"))

    def stored_view(self) -> dict[str, Any]:
        """What the control API shows: the settings as stored (snsTopic as its ARN), no
        time passing."""
        return {
            **copy.deepcopy(self.values),
            "evidenceFinderEnablement": self.evidence_finder.view(),
        }

    def view(self, org_enabled: bool, timing: Timing) -> dict[str, Any]:
        """GetSettings(ALL). ASSUMPTION: snsTopic is answered as the topic's name (botocore's
        SNSTopic pattern admits no ':', so not the ARN the request took)."""
        self.evidence_finder.advance(timing)
        shown: dict[str, Any] = {"isAwsOrgEnabled": org_enabled}
        shown.update(copy.deepcopy(self.values))
        if "snsTopic" in shown:
            shown["snsTopic"] = str(shown["snsTopic"]).rsplit(":", 1)[-1]
        shown["evidenceFinderEnablement"] = self.evidence_finder.view()
        return shown


def select(settings: Mapping[str, Any], attribute: str) -> dict[str, Any]:
    """GetSettings(attribute): one member, or nothing when that setting has no value."""
    key = SETTING_KEYS[attribute]
    if key is None:
        return dict(settings)
    return {key: settings[key]} if key in settings else {}


def attribute_error(attribute: str) -> AwsError | None:
    if attribute in SETTING_KEYS:
        return None
    allowed = ", ".join(SETTING_KEYS)
    message = (
        f"Value '{attribute}' at 'attribute' failed to satisfy constraint: "
        f"Member must satisfy enum value set: [{allowed}]"
    )
    fields = [{"name": "attribute", "message": message}]
    return AwsError(
        "ValidationException", message, 400, {"reason": "fieldValidationFailed", "fields": fields}
    )
