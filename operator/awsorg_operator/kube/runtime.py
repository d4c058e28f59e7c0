"""The runtime the handlers share, built once at start-up and closed at clean-up: the
reconciler with its AWS connector and Kubernetes stores, the thread pools, the watchdog and
the per-resource locks. `run` is the one path from a kopf event to a reconcile and back: it
unpacks the object, runs the reconcile off the event loop and applies its `Outcome`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from http.server import ThreadingHTTPServer
from typing import Any

import kopf
from pydantic import ValidationError

from awsorg_operator import clock, logfields, metrics
from awsorg_operator.api import Status
from awsorg_operator.aws.clients import IDLE_SECONDS, ClientFactory
from awsorg_operator.aws.concurrency import CallPool
from awsorg_operator.aws.connector import AwsConnector
from awsorg_operator.conditions import READY, SYNCED
from awsorg_operator.failures import Retry
from awsorg_operator.kube import health_endpoint, resource_metrics
from awsorg_operator.kube.heap import HeapTrimmer
from awsorg_operator.kube.leases import KubeLeases
from awsorg_operator.kube.probes import ApiServerCheck, LoopHeartbeat, Watchdog
from awsorg_operator.kube.status_journal import StatusJournal
from awsorg_operator.reconciler import Reconciler
from awsorg_operator.report import invalid_spec
from awsorg_operator.resource import Claim, Outcome, Resource, from_manifest, read_status
from awsorg_operator.settings import Settings, client_settings

CLAIMS_KEY = "all"  # the one key of the kopf index of every resource's claim
Logger = logging.Logger | logging.LoggerAdapter[Any]
Step = Callable[[Resource, list[Claim]], Outcome]


def backoff(retry: Retry, attempt: int, rand: Callable[[], float] = random.random) -> float:
    """Seconds before the next try: one reconcile per step, never a hot loop. Full jitter on
    the upper half, so resources that failed together do not retry together."""
    base, cap = (5.0, 300.0) if retry is Retry.SOON else (60.0, 900.0)
    step = float(min(base * 2 ** min(attempt, 10), cap))
    return step / 2 + rand() * step / 2


class Locks:
    """One lock per resource: the timer must not run beside a change handler. Only the event
    loop touches these, so they need no lock of their own."""

    def __init__(self) -> None:
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def __call__(self, uid: str) -> asyncio.Lock:
        return self._locks[uid]

    def forget(self, uid: str) -> None:
        self._locks.pop(uid, None)


class Runtime:
    def __init__(self, settings: Settings) -> None:
        # An identity's credentials outlive a few re-checks, so a re-check never assumes a
        # role again; an identity unused for longer (its resource gone) is dropped.
        idle = max(IDLE_SECONDS, 3 * settings.resync_seconds)
        factory = ClientFactory(client_settings(settings), idle_seconds=idle)
        self.connector = AwsConnector(factory, CallPool())
        # Claims on organizations are Leases in the operator's own namespace (the chart's Role).
        leases = KubeLeases(os.environ.get("POD_NAMESPACE") or "default")
        self.reconciler = Reconciler(
            self.connector,
            leases,
            StatusJournal(),
            settings.default_region,
            settings=self.connector.connect_settings,
        )
        # boto3 blocks: reconciles run on a pool of the operator's own (`--aws-workers`),
        # apart from the event loop and kopf's own executor.
        self.pool = ThreadPoolExecutor(settings.aws_workers, thread_name_prefix="aws")
        self.watchdog = Watchdog(settings.stuck_seconds)
        self.api_server = ApiServerCheck()  # started by kopf's login, which loads the config
        self.heartbeat = LoopHeartbeat()
        self._health_port = settings.health_port
        self._health: ThreadingHTTPServer | None = None
        self._beating: asyncio.Task[None] | None = None
        self.locks = Locks()
        self.heap = HeapTrimmer()
        self.heap.start()

    def serve_health(self) -> None:
        """On the event loop, at start-up: its heartbeat, and /healthz from a thread. kopf
        retries a start-up handler that failed: what started stays started."""
        if self._beating is None:
            self._beating = asyncio.get_running_loop().create_task(self.heartbeat.run())
        if self._health_port and self._health is None:
            checks = {
                "eventLoop": self.heartbeat.check,
                "apiServer": self.api_server.check,
                "reconciles": self.watchdog.check,
            }
            self._health = health_endpoint.serve(self._health_port, checks)

    def stop_heartbeat(self) -> None:
        """On the event loop, at clean-up, before `close`."""
        if self._beating is not None:
            self._beating.cancel()

    def close(self) -> None:
        """Stops the pools and closes the AWS clients; reconciles still queued are dropped."""
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.connector.close()
        self.heap.stop()
        self.api_server.stop()
        if self._health is not None:
            self._health.shutdown()
            self._health.server_close()

    async def run(
        self,
        step: Step,
        body: kopf.Body,
        patch: kopf.Patch,
        kw: Mapping[str, Any],
        logger: Logger,
        temporary: set[Retry],
        deleting: bool = False,
    ) -> None:
        try:
            res = from_manifest(body)
        except ValidationError as e:
            before = read_status(body.status)
            _apply(body, patch, before, _invalid(body, before, e), logger, deleting=False)
            if deleting:  # without a spec, deletionPolicy is unknown: keep the finalizer
                raise kopf.TemporaryError("the spec does not parse", delay=900) from e
            return
        # The index is read here, on the event loop that updates it; the thread gets a copy.
        index: kopf.Index[str, Claim] = kw["claims"]
        claims = list(index.get(CLAIMS_KEY, []))
        started = time.monotonic()

        def work() -> Outcome:
            with self.watchdog.running(f"the reconcile of {res.name}"):
                return step(res, claims)

        # The reconciler turns every failure into an Outcome, so status is always written.
        outcome = await asyncio.get_running_loop().run_in_executor(self.pool, work)
        synced = outcome.status.condition(SYNCED)
        result = "ok" if synced and synced.status == "True" else "error"
        metrics.RECONCILE_DURATION.labels(result).observe(time.monotonic() - started)
        _apply(body, patch, res.status, outcome, logger, deleting)
        ready = outcome.status.condition(READY)
        if outcome.retry in temporary:
            assert outcome.retry is not None
            delay = backoff(outcome.retry, int(kw.get("retry", 0)))
            raise kopf.TemporaryError(ready.message if ready else "retrying", delay=delay)


def _invalid(body: kopf.Body, before: Status, error: ValidationError) -> Outcome:
    message = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
    generation = int(body.metadata.get("generation", 0))
    return invalid_spec(before, generation, message, clock.utcnow())


def _apply(
    body: kopf.Body,
    patch: kopf.Patch,
    before: Status,
    outcome: Outcome,
    logger: Logger,
    deleting: bool,
) -> None:
    """The outcome into Kubernetes: the status patch kopf writes, the Events, the per-resource
    series and the log lines of conditions that changed since `before`."""
    name = body.metadata.name or ""
    if outcome.status != before:
        # A steady re-check changes nothing in status: no patch, so no write to etcd and
        # no watch event back for every resource on every re-check.
        patch.setdefault("status", {}).update(outcome.status.to_patch())
    if deleting and outcome.retry is None:  # the finalizer goes: so do its series
        resource_metrics.forget_resource(name)
    else:
        resource_metrics.record_status(name, outcome.status, time.time())
    for event in outcome.events:
        kopf.event(body, type=event.type, reason=event.reason, message=event.message)
    for change in logfields.condition_changes(before, outcome.status):
        fields = logfields.condition_change(name, outcome.status, change)
        logger.info(
            "%s=%s %s: %s", change.type, change.status, change.reason, change.message, extra=fields
        )
