"""Claims on organizations kept in memory, with the API server's compare-and-swap: the store
the unit and integration tests give the reconciler where the e2e tests have real Leases."""

from __future__ import annotations

from dataclasses import replace

from awsorg_operator.ownership import Holder, Lease


class MemoryLeases:
    def __init__(self) -> None:
        self.leases: dict[str, Lease] = {}
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

    def replace(self, org_id: str, lease: Lease, holder: Holder | None) -> bool:
        current = self.leases.get(org_id)
        if current is None or current.version != lease.version:
            return False  # Conflict: it moved since it was read
        previous = current.holder.name if current.holder else current.previous
        self.leases[org_id] = replace(
            current, holder=holder, previous=previous, version=self._next()
        )
        return True
