"""The pure parts of `awsorg-operator wait-for-turn` (kube/startup.py), on objects shaped as
the API server returns them: a PodList as `kubectl get pods -o json` prints it, and
ClusterKopfPeering keep-alives written by kopf's own Peer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kopf._core.engines.peering import Identity
from kopf._core.engines.peering import Peer as KopfPeer  # what kopf writes, not a copy of it

from awsorg_operator.kube import startup
from awsorg_operator.kube.startup import Peer, live_higher_peer, peers, still_running

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 6, 19, 50, tzinfo=UTC)


def pod(name: str, phase: str | None) -> dict[str, Any]:
    status: dict[str, Any] = {"qosClass": "Burstable"}
    if phase is not None:
        status["phase"] = phase
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "awsorg-system",
            "labels": {"app.kubernetes.io/name": "awsorg-operator", "pod-template-hash": "5d9f"},
        },
        "spec": {"containers": [{"name": "operator", "image": "awsorg-operator:0.1.0"}]},
        "status": status,
    }


def pod_list(*pods: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": list(pods)}


@pytest.mark.parametrize(
    ("phase", "running"),
    [
        ("Pending", True),  # not started yet, or no kubelet: it may still start
        ("Running", True),
        ("Unknown", True),  # the kubelet stopped answering: its containers may run
        (None, True),  # just created, no status written yet
        ("Succeeded", False),
        ("Failed", False),
    ],
)
def test_a_pod_holds_the_turn_until_its_containers_have_ended(
    phase: str | None, running: bool
) -> None:
    assert still_running(pod_list(pod("op-0", phase))) == (["op-0"] if running else [])


def test_every_running_pod_is_named_and_no_pods_hold_nothing() -> None:
    found = pod_list(pod("a", "Running"), pod("b", "Succeeded"), pod("c", "Pending"))
    assert still_running(found) == ["a", "c"]
    assert still_running(pod_list()) == []
    assert still_running({"kind": "PodList", "items": None}) == []


def kopf_entry(priority: int, lastseen: datetime, lifetime: int = 60) -> dict[str, Any]:
    return KopfPeer(
        identity=Identity("x"), priority=priority, lifetime=lifetime, lastseen=lastseen.isoformat()
    ).as_dict()


def peering(**status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "kopf.dev/v1",
        "kind": "ClusterKopfPeering",
        "metadata": {"name": "awsorg-operator"},
        "status": status,
    }


def test_keep_alives_read_as_kopf_writes_them() -> None:
    found = peers(peering(**{"op-1@host": kopf_entry(1, NOW, lifetime=45)}))
    assert found == [Peer("op-1@host", 1, NOW, timedelta(seconds=45))]


def test_kopf_defaults_fill_what_a_keep_alive_leaves_out() -> None:
    (found,) = peers(peering(p={"lastseen": "2026-12-06T19:50:00"}))  # no offset: UTC
    assert found == Peer("p", 0, NOW, timedelta(seconds=60))


def test_what_is_not_a_keep_alive_is_skipped_and_a_bad_time_is_long_ago() -> None:
    found = peers(peering(note="not a peer", p={"priority": 1, "lastseen": "yesterday"}))
    assert [p.identity for p in found] == ["p"]
    assert not found[0].alive(NOW)
    assert peers({"kind": "ClusterKopfPeering", "metadata": {"name": "x"}}) == []


@pytest.mark.parametrize(
    ("priority", "seen_ago", "found"),
    [
        (1, 0, True),
        (5, 59, True),
        (1, 60, False),  # lastseen + lifetime reached: kopf counts the peer as dead
        (1, 3600, False),
        (0, 0, False),  # the same priority is not above this pod's
        (-1, 0, False),
    ],
)
def test_a_standby_waits_for_a_live_peer_above_its_priority(
    priority: int, seen_ago: int, found: bool
) -> None:
    entry = kopf_entry(priority, NOW - timedelta(seconds=seen_ago))
    higher = live_higher_peer(peers(peering(other=entry)), 0, NOW)
    assert (higher is not None) == found


def test_a_dead_higher_peer_does_not_hide_a_live_one() -> None:
    status = {"dead": kopf_entry(2, NOW - timedelta(hours=1)), "live": kopf_entry(1, NOW)}
    higher = live_higher_peer(peers(peering(**status)), 0, NOW)
    assert higher is not None and higher.identity == "live"


def test_the_chart_environment_gives_the_inputs_and_flags_override_it() -> None:
    env = {
        "POD_NAMESPACE": "awsorg-system",
        "OTHER_PODS": "app.kubernetes.io/instance=r,pod-template-hash",
        "PEERING": "r-awsorg-operator",
        "PRIORITY": "0",
        "TOP_PRIORITY": "1",
    }
    args = startup.parser(env).parse_args([])
    assert (args.namespace, args.other_pods, args.peering) == (
        "awsorg-system",
        "app.kubernetes.io/instance=r,pod-template-hash",
        "r-awsorg-operator",
    )
    assert (args.priority, args.top_priority, args.peer_wait_seconds) == (0, 1, 60.0)
    assert startup.parser(env).parse_args(["--priority", "1"]).priority == 1


def test_a_standby_without_a_peering_name_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    env = {"POD_NAMESPACE": "ns", "OTHER_PODS": "a=b", "PRIORITY": "0", "TOP_PRIORITY": "1"}
    assert startup.main([], env) == 1
    assert "PEERING" in capsys.readouterr().err
