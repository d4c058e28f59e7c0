"""What a reconcile reads from Kubernetes and what it hands back: plain values, no kopf."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from awsorg_operator.api import (
    ALLOW_ADMIN_CHANGE_ANNOTATION,
    ManagementPolicy,
    Spec,
    Status,
)
from awsorg_operator.failures import Retry

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

    reason: str
    message: str
    retry: Retry | None = None


@dataclass(frozen=True)
class Outcome:
    status: Status
    events: list[Event]
    # None: done until something changes or the next re-check. For a deletion, None also
    # means the finalizer may go.
    retry: Retry | None
