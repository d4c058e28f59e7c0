"""What a reconcile would do, without doing it: observe, check, plan; never act.

The steps are the reconciler's own (`checks`, `plan`, `desired_of`, `identity_of`, the same
`External` observe), minus the two that need Kubernetes (the organization's claim, the record
of writes) and minus act. AWS is reached through `ReadOnly`, which holds the `External` but
exposes only its reads: no path from here can send a write, and mypy checks it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from awsorg_operator import checks
from awsorg_operator.external import Identity, Reader
from awsorg_operator.failures import AwsCallError, AwsFailure
from awsorg_operator.plan import Desired, Plan, plan
from awsorg_operator.reconciler import desired_of, identity_of
from awsorg_operator.resource import Resource, Stop
from awsorg_operator.state import Observed, OrgView


class ReadConnector(Protocol):
    def connect(self, identity: Identity) -> Reader: ...


class ReadOnly:
    """The reads of an `External`, and nothing else: `execute` is not reachable through it."""

    def __init__(self, reader: Reader) -> None:
        self.__reader = reader  # name-mangled: not an attribute a caller stumbles upon

    def observe_org(self) -> OrgView:
        return self.__reader.observe_org()

    def is_member(self, account_id: str) -> bool:
        return self.__reader.is_member(account_id)

    def observe(self, org: OrgView, regions: Sequence[str], scan: bool) -> Observed:
        return self.__reader.observe(org, regions, scan)


@dataclass(frozen=True)
class Preview:
    """One resource's plan: what AWS has, what differs, what the operator would do."""

    res: Resource
    desired: Desired
    org: OrgView | None = None
    observed: Observed | None = None
    plan: Plan = field(default_factory=Plan)
    stop: Stop | None = None  # a check that stops the operator before planning
    error: AwsFailure | None = None  # a call that failed before anything could be planned

    def failures(self) -> list[tuple[str | None, AwsFailure]]:
        """Every call that failed, by Region (None: the organization)."""
        reads = self.observed.region_failures() if self.observed else []
        return ([(None, self.error)] if self.error else []) + [(r.region, r.failure) for r in reads]

    @property
    def in_sync(self) -> bool:
        return self.ok and self.plan.converged

    @property
    def ok(self) -> bool:
        """Everything could be read and no check stopped the plan."""
        return self.stop is None and not self.failures()


def preview(connector: ReadConnector, res: Resource, default_region: str) -> Preview:
    desired = desired_of(res, default_region)
    try:
        return _preview(ReadOnly(connector.connect(identity_of(res))), res, desired)
    except AwsCallError as e:
        return Preview(res, desired, error=e.failure)


def _preview(aws: ReadOnly, res: Resource, desired: Desired) -> Preview:
    org = aws.observe_org()
    stop = checks.preflight(res, org) or checks.admin(desired.admin_account_id, org, aws)
    if stop:
        return Preview(res, desired, org, stop=stop)
    observed = aws.observe(org, desired.regions, scan=not desired.trusted_access)
    return Preview(res, desired, org, observed, plan(desired, observed))
