"""What the reconciler keeps in the Kubernetes API, kept in memory for the unit and integration
tests (the e2e tests have the real API server): claims on organizations with the API server's
compare-and-swap, and the status records made before AWS writes."""

from __future__ import annotations

from dataclasses import replace

from awsorg_operator.api import PlannedAction
from awsorg_operator.ownership import Holder, Lease
from awsorg_operator.resource import Resource


class MemoryLeases:
    def __init__(self) -> None:
        self.leases: dict[str, Lease] = {}
        # The resources the API server has, by name (their UIDs), for `resource`; by default
        # none beyond the claims a test passes.
        self.resources: dict[str, str] = {}
        self._versions = 0

    def _next(self) -> str:
        self._versions += 1
        return str(self._versions)

    def get(self, org_id: str) -> Lease | None:
        return self.leases.get(org_id)

    def create(self, org_id: str, holder: Holder) -> bool:
        if org_id in self.leases:
            return False  # AlreadyExists
        self.leases[org_id] = Lease(holder, None, self._next())
        return True

    def resource(self, name: str) -> Holder | None:
        uid = self.resources.get(name)
        return None if uid is None else Holder(uid, name)

    def replace(self, org_id: str, lease: Lease, holder: Holder | None) -> bool:
        current = self.leases.get(org_id)
        if current is None or current.version != lease.version:
            return False  # Conflict: it moved since it was read
        previous = current.holder.name if current.holder else current.previous
        self.leases[org_id] = replace(
            current, holder=holder, previous=previous, version=self._next()
        )
        return True


class MemoryJournal:
    """What the reconciler recorded in status before each write, by resource name: the API
    server's copy, which survives an operator killed before its final status write."""

    def __init__(self) -> None:
        self.recorded: dict[str, tuple[PlannedAction, ...]] = {}
        self.log: list[tuple[str, ...]] = []  # (resource, operation) of every record

    def in_flight(self, res: Resource, entries: tuple[PlannedAction, ...]) -> None:
        self.recorded[res.name] = entries
        self.log.append((res.name, *(e.operation for e in entries)))
