"""kopf wiring: thin handlers that unpack the object, call the reconciler and translate.

Handlers are async; the reconcile itself blocks on boto3, so it runs on a bounded thread pool
of the operator's own (`--aws-workers`), apart from the event loop and kopf's own executor.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import random
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import kopf
import kubernetes
from pydantic import ValidationError

from awsorg_operator import logfields, metrics, resource_metrics
from awsorg_operator.api import FINALIZER, GROUP, PLURAL, VERSION, Spec, Status
from awsorg_operator.aws.clients import ClientFactory, ClientSettings
from awsorg_operator.aws.external import AwsConnector
from awsorg_operator.conditions import READY, SYNCED, set_condition
from awsorg_operator.failures import Retry
from awsorg_operator.health import Watchdog
from awsorg_operator.kube_leases import KubeLeases
from awsorg_operator.kube_status import KubeJournal
from awsorg_operator.reconciler import Reconciler, utcnow
from awsorg_operator.resource import Claim, Outcome, Resource
from awsorg_operator.settings import Settings
from awsorg_operator.writes import rfc3339

CLAIMS_KEY = "all"
KOPF_PREFIX = "kopf.awsorg.io"
API_SERVER_PROBE_TIMEOUT = 3.0  # below the chart's livenessProbe timeoutSeconds (5)
Logger = logging.Logger | logging.LoggerAdapter[Any]


def backoff(retry: Retry, attempt: int, rand: Callable[[], float] = random.random) -> float:
    """Seconds before the next try: one reconcile per step, never a hot loop. Full jitter on
    the upper half, so resources that failed together do not retry together."""
    base, cap = (5.0, 300.0) if retry is Retry.SOON else (60.0, 900.0)
    step = float(min(base * 2 ** min(attempt, 10), cap))
    return step / 2 + rand() * step / 2


class _Locks:
    """One lock per resource: the timer must not run beside a change handler. Only the event
    loop touches these, so they need no lock of their own."""

    def __init__(self) -> None:
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def __call__(self, uid: str) -> asyncio.Lock:
        return self._locks[uid]

    def forget(self, uid: str) -> None:
        self._locks.pop(uid, None)


def to_resource(body: kopf.Body) -> Resource:
    meta = body.metadata
    return Resource(
        name=meta.name or "",
        uid=meta.uid or "",
        generation=int(meta.get("generation", 0)),
        created=str(meta.creation_timestamp or ""),
        spec=Spec.model_validate(dict(body.spec)),
        annotations=dict(meta.annotations),
        status=read_status(body.status),
    )


def read_status(raw: Mapping[str, Any]) -> Status:
    try:
        return Status.model_validate(dict(raw))
    except ValidationError:
        # A status we cannot read (hand-edited, or from another version) is rebuilt, but the
        # organization it recorded is kept: OrganizationMismatch depends on it.
        kept = {k: raw.get(k) for k in ("organizationID", "managementAccountID")}
        return Status.model_validate({k: v for k, v in kept.items() if isinstance(v, str)})


def to_claim(body: kopf.Body) -> Claim:
    status = body.status
    return Claim(
        name=body.metadata.name or "",
        uid=body.metadata.uid or "",
        created=str(body.metadata.creation_timestamp or ""),
        organization_id=status.get("organizationID"),
    )


@dataclasses.dataclass(frozen=True)
class _Runtime:
    reconciler: Reconciler
    pool: ThreadPoolExecutor
    watchdog: Watchdog


def register(registry: kopf.OperatorRegistry, settings: Settings) -> None:
    factory = ClientFactory(
        ClientSettings(
            default_region=settings.default_region,
            connect_timeout=settings.aws_connect_timeout,
            read_timeout=settings.aws_read_timeout,
            max_attempts=settings.aws_max_attempts,
        )
    )
    # Claims on organizations are Leases in the operator's own namespace (the chart's Role).
    leases = KubeLeases(os.environ.get("POD_NAMESPACE") or "default")
    rt = _Runtime(
        Reconciler(AwsConnector(factory), leases, KubeJournal(), settings.default_region),
        ThreadPoolExecutor(settings.aws_workers, thread_name_prefix="aws"),
        Watchdog(settings.stuck_seconds),
    )
    locks = _Locks()
    resource = (GROUP, VERSION, PLURAL)
    metrics.RESYNC_INTERVAL.set(settings.resync_seconds)
    watch_timeout = settings.watch_timeout

    @kopf.on.startup(registry=registry)
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        _configure_kopf(settings, watch_timeout)

    @kopf.on.cleanup(registry=registry)
    def stop_pool(**_: Any) -> None:
        rt.pool.shutdown(wait=False, cancel_futures=True)

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        # The kubernetes client understands every kubeconfig (exec plugins such as
        # `aws eks get-token` included) and the in-cluster ServiceAccount.
        info = kopf.login_via_client(**kwargs)
        # Events about a cluster-scoped object go to the connection's default namespace:
        # make it the operator's own, where the chart lets it create Events.
        namespace = os.environ.get("POD_NAMESPACE")
        if info is not None and namespace:
            info = dataclasses.replace(info, default_namespace=namespace)
        return info

    @kopf.on.probe(id="apiServer", registry=registry)
    async def api_server(**_: Any) -> str:
        # Raising PermanentError makes kopf answer /healthz with 500 at once (a plain
        # exception would be retried inside the probe and hang it).
        try:
            return await asyncio.to_thread(_api_server_version)
        except Exception as e:
            raise kopf.PermanentError(f"the API server cannot be reached: {e}") from e

    @kopf.on.probe(id="reconciles", registry=registry)
    def reconciles(**_: Any) -> str:
        stuck = rt.watchdog.stuck()
        if stuck:
            raise kopf.PermanentError(stuck)
        return "none stuck"

    @kopf.index(*resource, id="claims", registry=registry)
    def claims(*, body: kopf.Body, **_: Any) -> dict[str, Claim]:
        return {CLAIMS_KEY: to_claim(body)}

    @kopf.on.resume(*resource, id="reconcile", registry=registry)
    @kopf.on.create(*resource, id="reconcile", registry=registry)
    @kopf.on.update(*resource, id="reconcile", registry=registry)
    async def reconcile(*, body: kopf.Body, patch: kopf.Patch, logger: Logger, **kw: Any) -> None:
        async with locks(body.metadata.uid or ""):
            await _run(rt, rt.reconciler.reconcile, body, patch, kw, logger, set(Retry))

    @kopf.timer(
        *resource,
        id="recheck",
        interval=settings.resync_seconds,
        initial_delay=settings.resync_seconds,
        registry=registry,
    )
    async def recheck(*, body: kopf.Body, patch: kopf.Patch, logger: Logger, **kw: Any) -> None:
        lock = locks(body.metadata.uid or "")
        if lock.locked():
            return  # a change handler is reconciling this resource right now
        async with lock:
            # Only short retries here: a slow one is the change handler's to keep, and a
            # second backoff stream would double the calls to AWS.
            await _run(rt, rt.reconciler.reconcile, body, patch, kw, logger, {Retry.SOON})

    @kopf.on.delete(*resource, id="delete", registry=registry)
    async def delete(*, body: kopf.Body, patch: kopf.Patch, logger: Logger, **kw: Any) -> None:
        uid = body.metadata.uid or ""
        async with locks(uid):
            await _run(rt, rt.reconciler.delete, body, patch, kw, logger, set(Retry), True)
        locks.forget(uid)


def _api_server_version() -> str:
    # kopf.login_via_client loaded the same kubeconfig or in-cluster configuration.
    version = kubernetes.client.VersionApi().get_code(_request_timeout=API_SERVER_PROBE_TIMEOUT)
    return str(version.git_version)


def _configure_kopf(s: kopf.OperatorSettings, watch_timeout: int) -> None:
    s.persistence.finalizer = FINALIZER
    # Progress and diff-base live in annotations: the structural schema would prune
    # kopf's own status fields, and status is ours. Not under `awsorg.io/`: kopf leaves its
    # own prefix out of the diff, and awsorg.io/allow-admin-change must trigger a reconcile.
    s.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=KOPF_PREFIX)
    s.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=KOPF_PREFIX, key="last-handled-configuration"
    )
    # A watch is renewed after watch_timeout (the API server ends it); one that goes silent
    # (a dropped connection nobody closed) is dropped by the client 30 s later.
    s.watching.server_timeout = watch_timeout
    s.watching.client_timeout = watch_timeout + 30
    s.watching.connect_timeout = 15
    s.networking.request_timeout = 60
    # Our own Events say what changed in AWS; kopf's log lines would only repeat them.
    s.posting.level = logging.CRITICAL


async def _run(
    rt: _Runtime,
    step: Callable[[Resource, list[Claim]], Outcome],
    body: kopf.Body,
    patch: kopf.Patch,
    kw: Mapping[str, Any],
    logger: Logger,
    temporary: set[Retry],
    deleting: bool = False,
) -> None:
    try:
        res = to_resource(body)
    except ValidationError as e:
        _invalid_spec(body, patch, e)
        if deleting:  # without a spec, deletionPolicy is unknown: keep the finalizer
            raise kopf.TemporaryError("the spec does not parse", delay=900) from e
        return
    # The index is read here, on the event loop that updates it; the thread gets a copy.
    index: kopf.Index[str, Claim] = kw["claims"]
    claims = list(index.get(CLAIMS_KEY, []))
    started = time.monotonic()

    def work() -> Outcome:
        with rt.watchdog.running(f"the reconcile of {res.name}"):
            return step(res, claims)

    # boto3 blocks: the reconcile runs on the AWS pool, with short AWS timeouts. The
    # reconciler turns every failure into an Outcome, so status is always written.
    outcome = await asyncio.get_running_loop().run_in_executor(rt.pool, work)
    synced = outcome.status.condition(SYNCED)
    result = "ok" if synced and synced.status == "True" else "error"
    metrics.RECONCILE_DURATION.labels(result).observe(time.monotonic() - started)
    patch.setdefault("status", {}).update(outcome.status.to_patch())
    if deleting and outcome.retry is None:  # the finalizer goes: so do its series
        resource_metrics.forget_resource(res.name)
    else:
        resource_metrics.record_status(res.name, outcome.status, time.time())
    for event in outcome.events:
        kopf.event(body, type=event.type, reason=event.reason, message=event.message)
    for change in logfields.condition_changes(res.status, outcome.status):
        fields = logfields.condition_change(res.name, outcome.status, change)
        logger.info(
            "%s=%s %s: %s", change.type, change.status, change.reason, change.message, extra=fields
        )
    ready = outcome.status.condition(READY)
    if outcome.retry in temporary:
        assert outcome.retry is not None
        delay = backoff(outcome.retry, int(kw.get("retry", 0)))
        raise kopf.TemporaryError(ready.message if ready else "retrying", delay=delay)


def _invalid_spec(body: kopf.Body, patch: kopf.Patch, error: ValidationError) -> None:
    # The CRD schema refuses this before it reaches us; this guards older stored objects.
    message = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
    now = rfc3339(utcnow())
    previous = read_status(body.status).conditions
    generation = int(body.metadata.get("generation", 0))
    conditions = [
        set_condition(previous, t, "False", "InvalidSpec", message, generation, now)
        for t in (READY, SYNCED)
    ]
    resource_metrics.record_conditions(body.metadata.name or "", conditions)
    patch.setdefault("status", {}).update(
        {
            "observedGeneration": generation,
            "conditions": [c.model_dump(by_alias=True, exclude_none=True) for c in conditions],
        }
    )
    old = next((c for c in previous if c.type == READY), None)
    if old is None or old.message != message:  # once, not at every re-check
        kopf.event(body, type="Warning", reason="InvalidSpec", message=message)
