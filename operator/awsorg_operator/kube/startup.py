"""`awsorg-operator wait-for-turn`: the operator's turn to start, the chart's init container
`wait-for-other-workload` (docs/configuration.md, "Replicas").

1. Between one replica and more, `helm upgrade` creates the new workload before it deletes
   the old one, and a single replica runs outside the StatefulSet's peering: the new pod waits
   until every pod of the other workload (`--other-pods`, a label selector) has stopped. A pod
   leaves the API only after its containers have ended, its AWS calls in flight with them.
2. StatefulSet pods start together, and kopf resumes a pod that saw no higher peer yet: a
   standby (`--priority` below `--top-priority`) waits, at most a peering lifetime, until a live
   peer of higher priority is in the ClusterKopfPeering, so its operator starts paused.

It reads the same environment the chart sets (POD_NAMESPACE, OTHER_PODS, PEERING, PRIORITY,
TOP_PRIORITY); flags override it. Exit status 0 when it is the pod's turn, 1 when the API
server refused or failed (the kubelet runs the init container again).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import kubernetes
import urllib3

from awsorg_operator import clock

# Phases after which a pod's containers have all ended; Pending and Running (and Unknown,
# where the kubelet stopped answering) may still act on AWS.
ENDED_PHASES = frozenset({"Succeeded", "Failed"})
PEERING_LIFETIME = 60  # seconds: kopf's default, the chart's; a keep-alive without one has it
POLL_SECONDS = 2.0
REQUEST_TIMEOUT = 30  # seconds: an init container may wait on a slow API server


@dataclass(frozen=True)
class Peer:
    """One keep-alive in a ClusterKopfPeering's status, as kopf writes it."""

    identity: str
    priority: int
    lastseen: datetime
    lifetime: timedelta

    def alive(self, now: datetime) -> bool:
        # kopf's own rule: a peer is dead once lastseen + lifetime has passed.
        return self.lastseen + self.lifetime > now

    def describe(self, now: datetime) -> str:
        age = int((now - self.lastseen).total_seconds())
        return f"{self.identity} (priority {self.priority}, last seen {age} s ago)"


def still_running(pods: Mapping[str, Any]) -> list[str]:
    """The names of the pods of a PodList (the API's JSON) whose containers may still run."""
    return [
        str(pod["metadata"]["name"])
        for pod in pods.get("items") or []
        if (pod.get("status") or {}).get("phase") not in ENDED_PHASES
    ]


def peers(peering: Mapping[str, Any]) -> list[Peer]:
    """The keep-alives in a ClusterKopfPeering (the API's JSON); kopf's defaults for a field
    it left out, and anything that is not a keep-alive skipped."""
    status = peering.get("status") or {}
    return [
        Peer(
            str(identity), int(entry.get("priority", 0)), _when(entry.get("lastseen")), _life(entry)
        )
        for identity, entry in sorted(status.items())
        if isinstance(entry, dict)
    ]


def live_higher_peer(found: Iterable[Peer], mine: int, now: datetime) -> Peer | None:
    """A peer that outranks this pod and is alive: the one this pod's operator pauses for."""
    return next((p for p in found if p.priority > mine and p.alive(now)), None)


def _when(lastseen: object) -> datetime:
    """kopf writes an ISO 8601 time with its offset; one without is UTC, one unreadable long ago
    (its peer is then not trusted as alive)."""
    try:
        t = datetime.fromisoformat(str(lastseen))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _life(entry: Mapping[str, Any]) -> timedelta:
    return timedelta(seconds=int(entry.get("lifetime", PEERING_LIFETIME)))


class ClusterReads:
    """The two reads, with the chart's grants: list pods in the namespace, list peerings."""

    def __init__(self, api: kubernetes.client.ApiClient) -> None:
        self._core = kubernetes.client.CoreV1Api(api)
        self._custom = kubernetes.client.CustomObjectsApi(api)

    def pods(self, namespace: str, selector: str) -> Mapping[str, Any]:
        # The API's JSON rather than the client's models: the same shape as `kubectl -o json`.
        response: Any = self._core.list_namespaced_pod(
            namespace,
            label_selector=selector,
            _request_timeout=REQUEST_TIMEOUT,
            _preload_content=False,
        )
        return json.loads(response.data)  # type: ignore[no-any-return]

    def peering(self, name: str) -> Mapping[str, Any]:
        # list, not get: the ClusterRole grants list on every peering, get on none.
        found: Any = self._custom.list_cluster_custom_object(
            "kopf.dev",
            "v1",
            "clusterkopfpeerings",
            field_selector=f"metadata.name={name}",
            _request_timeout=REQUEST_TIMEOUT,
        )
        items = found.get("items") or []
        return items[0] if items else {}


Say = Callable[[str], None]


def wait_for_other_workload(reads: ClusterReads, namespace: str, selector: str, say: Say) -> None:
    while running := still_running(reads.pods(namespace, selector)):
        say("waiting for the other workload's pods to stop: " + " ".join(running))
        time.sleep(POLL_SECONDS)


def wait_for_higher_peer(
    reads: ClusterReads, name: str, mine: int, limit: float, say: Say
) -> Peer | None:
    """The live higher peer, or None after `limit` seconds: the pod starts anyway, as its
    operator would take over from a peer that stayed silent that long."""
    deadline = time.monotonic() + limit
    while True:
        now = clock.utcnow()
        found = peers(reads.peering(name))
        higher = live_higher_peer(found, mine, now)
        if higher is not None or time.monotonic() >= deadline:
            return higher
        seen = ", ".join(p.describe(now) for p in found) or "none"
        say(f"waiting for a live peer of priority above {mine} in {name}; seen: {seen}")
        time.sleep(POLL_SECONDS)


def parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="awsorg-operator wait-for-turn",
        description="Waits until it is this pod's turn to start the operator: the other "
        "workload's pods gone, then, in a standby, a live peer of higher priority announced.",
    )
    p.add_argument(
        "--namespace", default=env.get("POD_NAMESPACE"), required="POD_NAMESPACE" not in env
    )
    p.add_argument(
        "--other-pods",
        default=env.get("OTHER_PODS"),
        required="OTHER_PODS" not in env,
        help="label selector of the other workload's pods",
    )
    p.add_argument("--peering", default=env.get("PEERING"), help="ClusterKopfPeering name")
    p.add_argument("--priority", type=int, default=int(env.get("PRIORITY") or 0))
    p.add_argument("--top-priority", type=int, default=int(env.get("TOP_PRIORITY") or 0))
    p.add_argument("--peer-wait-seconds", type=float, default=float(PEERING_LIFETIME))
    return p


def main(argv: Sequence[str], env: Mapping[str, str] | None = None) -> int:
    args = parser(os.environ if env is None else env).parse_args(argv)
    standby = args.priority < args.top_priority
    if standby and not args.peering:
        print("wait-for-turn: a standby needs --peering (PEERING)", file=sys.stderr)
        return 1
    # A kubeconfig when one is given (KUBECONFIG, ~/.kube/config), else the pod's account.
    kubernetes.config.load_config()  # type: ignore[no-untyped-call]
    reads = ClusterReads(kubernetes.client.ApiClient())
    try:
        wait_for_other_workload(reads, args.namespace, args.other_pods, _say)
        if standby:
            peer = wait_for_higher_peer(
                reads, args.peering, args.priority, args.peer_wait_seconds, _say
            )
            _say(f"{peer.identity} is active" if peer else "no live higher peer: starting")
    except (kubernetes.client.ApiException, urllib3.exceptions.HTTPError) as e:
        reason = f"{e.status} {e.reason}" if isinstance(e, kubernetes.client.ApiException) else e
        print(f"wait-for-turn: the API server answered: {reason}", file=sys.stderr)
        return 1
    return 0


def _say(line: str) -> None:
    print(line, flush=True)
