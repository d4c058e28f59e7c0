"""Who owns an AWS organization: the first resource to claim it, for as long as it exists.

A claim is recorded outside any one resource, where every replica and restart sees it: a
Kubernetes Lease per organization in the operator's namespace (`kube/leases.py`), held by
the owning resource's UID and name. A resource never takes an organization from a holder that
still exists, whatever their creation times or names; it takes over only when the holder
released it (deleted) or is gone. Two claims at the same moment are settled by the API
server: one create succeeds, the other sees the holder. Whether a holder is gone is asked of
the API server itself before taking over: the operator's own list of resources may not have
one created a moment ago, and that resource may have claimed already.

Pure, apart from the `Leases` it is given.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from awsorg_operator.reasons import Reason
from awsorg_operator.resource import Claim, Event, Resource, Stop

CONFLICT = Reason.CONFLICT  # the reason of the Stop when another resource holds the organization


@dataclass(frozen=True)
class Holder:
    uid: str
    name: str


@dataclass(frozen=True)
class Lease:
    holder: Holder | None  # None: released
    previous: str | None = None  # the name of the last holder, once released
    version: str = ""  # for compare-and-swap


class Leases(Protocol):
    """Where claims are recorded. `create` and `replace` return False when another writer
    got there first (409): the caller reads again. `resource` reads the AuditManagerOrgConfig
    of a name as the API server has it now, None when there is none."""

    def get(self, org_id: str) -> Lease | None: ...
    def create(self, org_id: str, holder: Holder) -> bool: ...
    def replace(self, org_id: str, lease: Lease, holder: Holder | None) -> bool: ...
    def resource(self, name: str) -> Holder | None: ...


def claim(
    leases: Leases, res: Resource, org_id: str, claims: Iterable[Claim]
) -> Stop | Event | None:
    """Claim the organization for `res`: an Event when it claims it now, None when it held it
    already, a Stop (`CONFLICT`) naming the resource that holds it."""
    me = Holder(res.uid, res.name)
    alive = list(claims)
    for _ in range(3):  # a lost race means someone else wrote: read again
        lease = leases.get(org_id)
        if lease is None:
            if leases.create(org_id, me):
                return _claimed(org_id)
            continue
        held = lease.holder
        if held is not None and held.uid == me.uid:
            return None
        if held is not None and _exists(leases, held, me, alive):
            return _conflict(org_id, held)
        if leases.replace(org_id, lease, me):
            return _taken_over(org_id, held, lease.previous, me)
    raise RuntimeError(f"the Lease of organization {org_id} kept changing; trying again")


def release(leases: Leases, res: Resource, org_id: str) -> tuple[Event, ...]:
    """On deletion: let the next resource claim the organization."""
    lease = leases.get(org_id)
    if lease is None or lease.holder is None or lease.holder.uid != res.uid:
        return ()
    if not leases.replace(org_id, lease, None):
        raise RuntimeError(f"the Lease of organization {org_id} changed while releasing it")
    message = f"released organization {org_id}: another AuditManagerOrgConfig may claim it now"
    return (Event("Normal", "Released", message),)


def _exists(leases: Leases, held: Holder, me: Holder, alive: list[Claim]) -> bool:
    """Whether the holder still exists. A resource restored from a backup comes back with a
    new UID but its name: the name keeps its claim (and, if it is mine, it is me)."""
    if any(c.uid == held.uid for c in alive):
        return True
    if held.name != me.name and any(c.name == held.name for c in alive):
        return True
    # `alive` was taken when this reconcile began: a resource created since (several applied
    # at once) may hold the claim already. Only the API server can tell it is gone.
    now = leases.resource(held.name) if held.name else None  # a Lease written by hand
    return now is not None and (now.uid == held.uid or held.name != me.name)


def _conflict(org_id: str, held: Holder) -> Stop:
    return Stop(
        CONFLICT,
        f"organization {org_id} is managed by AuditManagerOrgConfig {held.name!r}, which "
        "claimed it first; this resource makes no AWS changes. To hand it over, delete "
        f"{held.name!r} (with deletionPolicy Retain to leave AWS as it is): this resource "
        "then claims it at its next re-check",
    )


def _claimed(org_id: str) -> Event:
    return Event("Normal", "Claimed", f"claimed organization {org_id}: this resource manages it")


def _taken_over(org_id: str, held: Holder | None, previous: str | None, me: Holder) -> Event:
    if held is not None and held.name == me.name:
        why = "this resource was restored with a new UID"
    else:
        name = held.name if held else previous
        why = f"{name!r} released it" if held is None else f"{name!r} no longer exists"
    return Event("Normal", "Claimed", f"took over organization {org_id}: {why}")
