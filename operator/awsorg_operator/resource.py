"""What a reconcile reads from Kubernetes and what it hands back: plain values, no kopf.

`from_manifest` is the one way from a Kubernetes object (as kopf hands it, or as a YAML file
holds it) to a `Resource`: the operator and `awsorg-operator plan` read resources alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from awsorg_operator.api import (
    ALLOW_ADMIN_CHANGE_ANNOTATION,
    ManagementPolicy,
    Spec,
    Status,
    TrustedAccess,
)
from awsorg_operator.auditsettings import (
    ALLOW_IRREVERSIBLE_ANNOTATION,
    RetirementDesired,
    SettingsDesired,
    approvals,
)
from awsorg_operator.external import Identity
from awsorg_operator.failures import Retry
from awsorg_operator.plan import Desired
from awsorg_operator.reasons import Reason

_ACCOUNT_ID = re.compile(r"[0-9]{12}")


@dataclass(frozen=True)
class Resource:
    """The parts of the Kubernetes object a reconcile needs."""

    name: str
    uid: str
    generation: int
    created: str  # metadata.creationTimestamp, RFC 3339: sorts in time order
    spec: Spec
    annotations: Mapping[str, str]
    status: Status

    @property
    def approved_removal(self) -> str | None:
        """The administrator a person approved deregistering, if the annotation names one."""
        value = self.annotations.get(ALLOW_ADMIN_CHANGE_ANNOTATION, "").strip()
        return value if _ACCOUNT_ID.fullmatch(value) else None

    @property
    def manages(self) -> bool:
        return self.spec.management_policy is ManagementPolicy.MANAGE

    @property
    def identity(self) -> Identity:
        """Whose credentials reach AWS for this resource."""
        creds = self.spec.credentials
        return Identity(creds.role_arn, creds.external_id) if creds else Identity()

    @property
    def admin_identity(self) -> Identity | None:
        """Whose credentials reach the delegated administrator's account, if the spec says."""
        creds = self.spec.admin_credentials
        return Identity(creds.role_arn, creds.external_id) if creds else None

    def _settings(self, default_region: str) -> SettingsDesired | None:
        creds = self.spec.admin_credentials
        if creds is None:
            return None
        return SettingsDesired(
            account_id=creds.account_id,
            by_region=self.spec.effective_settings(default_region),
            approved=approvals(self.annotations.get(ALLOW_IRREVERSIBLE_ANNOTATION, "")),
            generation=self.generation,
        )

    def _retirement(self) -> RetirementDesired | None:
        wanted = self.spec.retirement
        if wanted is None:
            return None
        admin = self.spec.admin_credentials
        return RetirementDesired(
            delete_resources=wanted.delete_resources.value.upper(),
            evidence_finder_off=wanted.evidence_finder == "Disabled",
            approved=approvals(self.annotations.get(ALLOW_IRREVERSIBLE_ANNOTATION, "")),
            generation=self.generation,
            admin_account_id=admin.account_id if admin else None,
        )

    def desired(self, default_region: str) -> Desired:
        """What the spec asks of AWS, as the plan reads it."""
        return Desired(
            trusted_access=self.spec.trusted_access is TrustedAccess.ENABLED,
            admin_account_id=self.spec.delegated_admin_account_id,
            regions=self.spec.effective_regions(default_region),
            kms_keys=self.spec.effective_kms_keys(default_region),
            approved_removal=self.approved_removal,
            assumed_no_admin=self.spec.effective_assumed_regions(default_region),
            settings=self._settings(default_region),
            retirement=self._retirement(),
        )


@dataclass(frozen=True)
class Claim:
    """Another resource's hold on an AWS organization, as its status tells."""

    name: str
    uid: str
    created: str
    organization_id: str | None  # None: not known yet


@dataclass(frozen=True)
class Event:
    type: Literal["Normal", "Warning"]
    reason: str
    message: str


@dataclass(frozen=True)
class Stop:
    """Why a reconcile stops before planning, with no AWS writes."""

    reason: Reason
    message: str


@dataclass(frozen=True)
class Outcome:
    """What the report hands back to Kubernetes: the status to write, the Events to post."""

    status: Status
    events: list[Event]
    # None: done until something changes or the next re-check. For a deletion, None also
    # means the finalizer may go.
    retry: Retry | None


def from_manifest(obj: Mapping[str, Any]) -> Resource:
    """A Kubernetes object as a `Resource`; raises pydantic's ValidationError for a spec that
    does not parse (the API server refuses one, but an old stored object or a file may not)."""
    meta = obj.get("metadata") or {}
    return Resource(
        *_named(meta),
        generation=int(meta.get("generation") or 0),
        created=str(meta.get("creationTimestamp") or ""),
        spec=Spec.model_validate(dict(obj.get("spec") or {})),
        annotations={str(k): str(v) for k, v in (meta.get("annotations") or {}).items()},
        status=read_status(obj.get("status") or {}),
    )


def claim_of(obj: Mapping[str, Any]) -> Claim:
    """Another resource's claim, from its object: what the kopf index keeps."""
    meta, status = obj.get("metadata") or {}, obj.get("status") or {}
    org = status.get("organizationID")
    return Claim(
        *_named(meta),
        created=str(meta.get("creationTimestamp") or ""),
        organization_id=org if isinstance(org, str) else None,
    )


def _named(meta: Mapping[str, Any]) -> tuple[str, str]:
    """An object's name and UID, empty when absent (a file may carry neither)."""
    return str(meta.get("name") or ""), str(meta.get("uid") or "")


def read_status(raw: Mapping[str, Any]) -> Status:
    try:
        return Status.model_validate(dict(raw))
    except ValidationError:
        # A status we cannot read (hand-edited, or from another version) is rebuilt, but the
        # organization it recorded is kept: OrganizationMismatch depends on it.
        kept = {k: raw.get(k) for k in ("organizationID", "managementAccountID")}
        return Status.model_validate({k: v for k, v in kept.items() if isinstance(v, str)})
