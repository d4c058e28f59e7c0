"""The per-resource series: one per resource and condition status or reason, a changed reason's
old series gone, and every series of a deleted resource gone. Read from prometheus_client's
registry, as /metrics serves it."""

from __future__ import annotations

import itertools

import pytest
from prometheus_client import REGISTRY

from awsorg_operator.api import Condition, ConditionStatus, PlannedAction, PlannedState, Status
from awsorg_operator.kube import resource_metrics as metrics

pytestmark = pytest.mark.unit

_names = itertools.count()


@pytest.fixture
def name() -> str:
    """A resource name of this test's own: the registry is the process's."""
    return f"org-{next(_names)}"


def _cond(type_: str, status: ConditionStatus, reason: str) -> Condition:
    return Condition(type=type_, status=status, reason=reason, last_transition_time="t")


def _planned(state: PlannedState, region: str | None) -> PlannedAction:
    return PlannedAction(
        operation="RegisterAccount", region=region, why="w", state=state, since="t"
    )


def _status(
    ready: tuple[ConditionStatus, str],
    synced: tuple[ConditionStatus, str] = ("True", "Reconciled"),
    planned: tuple[PlannedAction, ...] = (),
) -> Status:
    return Status(
        conditions=(_cond("Ready", *ready), _cond("Synced", *synced)),
        planned_actions=planned,
    )


def _series(name: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the awsorg_resource_* families that belongs to `name`."""
    out = {}
    for family in REGISTRY.collect():
        if not family.name.startswith("awsorg_resource_"):
            continue
        for s in family.samples:
            if s.labels.get("name") == name:
                labels = tuple(sorted((k, v) for k, v in s.labels.items() if k != "name"))
                out[(s.name, labels)] = s.value
    return out


def test_a_condition_has_all_three_statuses_and_one_reason(name: str) -> None:
    metrics.record_status(name, _status(("False", "AdminChangeBlocked")), now=1000.0)
    get = REGISTRY.get_sample_value
    ready = {"name": name, "condition": "Ready"}
    assert get("awsorg_resource_condition", {**ready, "status": "False"}) == 1
    assert get("awsorg_resource_condition", {**ready, "status": "True"}) == 0
    assert get("awsorg_resource_condition", {**ready, "status": "Unknown"}) == 0
    reason = {**ready, "reason": "AdminChangeBlocked"}
    assert get("awsorg_resource_condition_reason", reason) == 1
    synced = {"name": name, "condition": "Synced", "status": "True"}
    assert get("awsorg_resource_condition", synced) == 1


def test_a_changed_reason_leaves_only_the_new_reason_series(name: str) -> None:
    metrics.record_status(name, _status(("False", "Pending")), now=1.0)
    metrics.record_status(name, _status(("Unknown", "Throttled")), now=2.0)
    reasons = {
        dict(labels)["reason"]
        for (metric, labels), _ in _series(name).items()
        if metric == "awsorg_resource_condition_reason" and ("condition", "Ready") in labels
    }
    assert reasons == {"Throttled"}


def test_last_success_moves_only_when_synced(name: str) -> None:
    get = REGISTRY.get_sample_value
    labels = {"name": name}
    metrics.record_status(name, _status(("True", "Reconciled")), now=100.0)
    assert get("awsorg_resource_last_success_timestamp_seconds", labels) == 100.0
    failed = _status(("Unknown", "AccessDenied"), synced=("False", "AccessDenied"))
    metrics.record_status(name, failed, now=200.0)
    assert get("awsorg_resource_last_success_timestamp_seconds", labels) == 100.0


def test_regions_differing_and_planned_actions_by_state(name: str) -> None:
    planned = (
        _planned(PlannedState.AWAITING_APPROVAL, "us-east-1"),
        _planned(PlannedState.REFUSED, "eu-west-1"),
        _planned(PlannedState.REFUSED, "eu-west-1"),
        _planned(PlannedState.AWAITING_APPROVAL, None),  # the organization: not a Region
    )
    metrics.record_status(name, _status(("False", "AdminChangeBlocked"), planned=planned), 1.0)
    get = REGISTRY.get_sample_value
    assert get("awsorg_resource_regions_differing", {"name": name}) == 2
    by_state = {
        state.value: get("awsorg_resource_planned_actions", {"name": name, "state": state.value})
        for state in PlannedState
    }
    assert by_state == {"NotApplied": 0, "AwaitingApproval": 2, "Refused": 2, "InFlight": 0}
    metrics.record_status(name, _status(("True", "Reconciled")), 2.0)
    assert get("awsorg_resource_regions_differing", {"name": name}) == 0


def test_a_deleted_resource_leaves_no_series(name: str) -> None:
    other = f"{name}-other"
    planned = (_planned(PlannedState.NOT_APPLIED, "us-east-1"),)
    for n in (name, other):
        metrics.record_status(n, _status(("False", "Drifted"), planned=planned), now=5.0)
    assert len(_series(name)) == 2 * 3 + 2 + 1 + 1 + len(PlannedState)

    metrics.forget_resource(name)

    assert _series(name) == {}
    assert len(_series(other)) == 2 * 3 + 2 + 1 + 1 + len(PlannedState)
    metrics.forget_resource(name)  # twice (a deletion retried): no error
