"""Who owns an organization: the first claim sticks while its holder exists."""

from __future__ import annotations

import pytest

from awsorg_operator.api import Spec, Status
from awsorg_operator.ownership import Holder, claim, release
from awsorg_operator.resource import Claim, Event, Resource, Stop
from tests.memory_kube import MemoryLeases

pytestmark = pytest.mark.unit

ORG = "o-abc"


def res(name: str, uid: str, created: str = "2026-11-30T10:00:00Z") -> Resource:
    spec = Spec.model_validate({"trustedAccess": "Enabled"})
    return Resource(name, uid, 1, created, spec, {}, Status())


def alive(*resources: Resource) -> list[Claim]:
    return [Claim(r.name, r.uid, r.created, ORG) for r in resources]


def test_a_later_resource_cannot_take_the_organization_whatever_its_name_or_age() -> None:
    leases = MemoryLeases()
    owner = res("zz-owner", "u1")
    assert not isinstance(claim(leases, owner, ORG, alive(owner)), Stop)
    # Created in the same second, a name that sorts first, even an older timestamp.
    for late in (res("aa-late", "u2"), res("aa-old", "u3", created="2020-01-01T00:00:00Z")):
        verdict = claim(leases, late, ORG, alive(owner, late))
        assert isinstance(verdict, Stop) and verdict.reason == "Conflict"
        assert "'zz-owner'" in verdict.message
    assert claim(leases, owner, ORG, alive(owner)) is None, "the holder keeps it"


def test_simultaneous_claims_settle_on_one_owner_and_it_sticks() -> None:
    leases = MemoryLeases()
    many = [res(f"r{i}", f"u{i}") for i in range(5)]
    first = [not isinstance(claim(leases, r, ORG, alive(*many)), Stop) for r in many]
    again = [not isinstance(claim(leases, r, ORG, alive(*many)), Stop) for r in reversed(many)]
    assert first.count(True) == 1 and again[::-1] == first


def test_a_released_organization_is_taken_over_with_an_event_naming_the_last_holder() -> None:
    leases = MemoryLeases()
    owner, next_ = res("owner", "u1"), res("next", "u2")
    claim(leases, owner, ORG, alive(owner, next_))
    (released,) = release(leases, owner, ORG)
    assert released.reason == "Released"
    event = claim(leases, next_, ORG, alive(next_))
    assert isinstance(event, Event)
    assert event.reason == "Claimed" and "'owner' released it" in event.message


def test_a_holder_that_is_gone_without_releasing_is_taken_over() -> None:
    leases = MemoryLeases()
    claim(leases, res("owner", "u1"), ORG, [])
    event = claim(leases, res("next", "u2"), ORG, [])  # owner no longer exists
    assert isinstance(event, Event) and "'owner' no longer exists" in event.message


def test_a_holder_created_after_my_reconcile_began_is_asked_of_the_api_server() -> None:
    # Four resources applied at once: "second"'s reconcile began before the operator listed
    # "third", and "third" claimed meanwhile. The API server has it: no take-over.
    leases = MemoryLeases()
    second, third = res("second", "u2"), res("third", "u3")
    assert isinstance(claim(leases, third, ORG, alive(third)), Event)
    leases.resources = {"second": "u2", "third": "u3"}
    verdict = claim(leases, second, ORG, alive(second))
    assert isinstance(verdict, Stop) and "'third'" in verdict.message
    # Restored from a backup under its name with a new UID: it keeps the claim, so the other
    # still conflicts and the restored one takes it as itself.
    leases.resources["third"] = "u9"
    assert isinstance(claim(leases, second, ORG, alive(second)), Stop)
    assert isinstance(claim(leases, res("third", "u9"), ORG, []), Event)
    # Gone from the API server too: taken over.
    leases.resources = {"second": "u2"}
    event = claim(leases, second, ORG, alive(second))
    assert isinstance(event, Event) and "'third' no longer exists" in event.message


def test_a_holder_restored_with_a_new_uid_keeps_it_and_others_still_conflict() -> None:
    leases = MemoryLeases()
    claim(leases, res("owner", "u1"), ORG, [])
    restored, other = res("owner", "u9", created="2026-12-01T00:00:00Z"), res("aa", "u8")
    # The other resource is listed first and older: it still cannot take it.
    assert isinstance(claim(leases, other, ORG, alive(other, restored)), Stop)
    assert not isinstance(claim(leases, restored, ORG, alive(other, restored)), Stop)
    assert leases.get(ORG) is not None and leases.get(ORG).holder == Holder("u9", "owner")  # type: ignore[union-attr]


def test_only_the_holder_releases() -> None:
    leases = MemoryLeases()
    claim(leases, res("owner", "u1"), ORG, [])
    assert release(leases, res("other", "u2"), ORG) == ()
    assert leases.get(ORG).holder == Holder("u1", "owner")  # type: ignore[union-attr]
