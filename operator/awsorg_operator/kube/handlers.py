"""kopf wiring: thin handlers that hand each event to the runtime (`runtime.py`), plus kopf's
settings, the login, and the start of /healthz (its checks are in `probes.py`). The runtime is
built at registration and closed at kopf's clean-up.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from typing import Any

import kopf

from awsorg_operator import metrics
from awsorg_operator.api import FINALIZER, GROUP, PLURAL, VERSION
from awsorg_operator.failures import Retry
from awsorg_operator.kube import session
from awsorg_operator.kube.runtime import CLAIMS_KEY, Logger, Runtime
from awsorg_operator.resource import Claim, claim_of
from awsorg_operator.settings import Settings

KOPF_PREFIX = "kopf.awsorg.io"
RESOURCE = (GROUP, VERSION, PLURAL)


def register(registry: kopf.OperatorRegistry, settings: Settings) -> None:
    rt = Runtime(settings)
    metrics.RESYNC_INTERVAL.set(settings.resync_seconds)
    _register_operator(registry, rt, settings.watch_timeout)
    _register_resource(registry, rt, settings.resync_seconds)


def _register_operator(registry: kopf.OperatorRegistry, rt: Runtime, watch_timeout: int) -> None:
    """What concerns the operator as a whole: settings, login, clean-up and /healthz."""

    @kopf.on.startup(registry=registry)
    async def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        _configure_kopf(settings, watch_timeout)
        rt.serve_health()

    @kopf.on.cleanup(registry=registry)
    async def close(**_: Any) -> None:
        rt.stop_heartbeat()
        await asyncio.to_thread(rt.close)

    @kopf.on.login(registry=registry)
    async def login(**kwargs: Any) -> kopf.AiohttpSession | None:
        # The kubernetes client understands every kubeconfig (exec plugins such as
        # `aws eks get-token` included) and the in-cluster ServiceAccount. It reads files
        # and may run a plugin: off the event loop.
        info = await asyncio.to_thread(lambda: kopf.login_via_client(**kwargs))
        # The configuration is loaded: the API server can be asked, for /healthz.
        rt.api_server.start()
        if info is None:
            return None
        # Events about a cluster-scoped object go to the connection's default namespace:
        # make it the operator's own, where the chart lets it create Events.
        namespace = os.environ.get("POD_NAMESPACE")
        if namespace:
            info = dataclasses.replace(info, default_namespace=namespace)
        return session.bounded(info)


def _register_resource(registry: kopf.OperatorRegistry, rt: Runtime, resync: float) -> None:
    """One reconcile serves create, update, resume and the re-check; deletion has its own."""

    # Async: it runs on every event of every resource (each status patch is one), and is
    # pure; a sync one would hop to kopf's executor and back each time.
    @kopf.index(*RESOURCE, id="claims", registry=registry)
    async def claims(*, body: kopf.Body, **_: Any) -> dict[str, Claim]:
        return {CLAIMS_KEY: claim_of(body)}

    @kopf.on.resume(*RESOURCE, id="reconcile", registry=registry)
    @kopf.on.create(*RESOURCE, id="reconcile", registry=registry)
    @kopf.on.update(*RESOURCE, id="reconcile", registry=registry)
    async def reconcile(*, body: kopf.Body, patch: kopf.Patch, logger: Logger, **kw: Any) -> None:
        async with rt.locks(body.metadata.uid or ""):
            await rt.run(rt.reconciler.reconcile, body, patch, kw, logger, set(Retry))

    @kopf.timer(*RESOURCE, id="recheck", interval=resync, initial_delay=resync, registry=registry)
    async def recheck(*, body: kopf.Body, patch: kopf.Patch, logger: Logger, **kw: Any) -> None:
        lock = rt.locks(body.metadata.uid or "")
        if lock.locked():
            return  # a change handler is reconciling this resource right now
        async with lock:
            # Only short retries here: a slow one is the change handler's to keep, and a
            # second backoff stream would double the calls to AWS.
            await rt.run(rt.reconciler.reconcile, body, patch, kw, logger, {Retry.SOON})

    @kopf.on.delete(*RESOURCE, id="delete", registry=registry)
    async def delete(*, body: kopf.Body, patch: kopf.Patch, logger: Logger, **kw: Any) -> None:
        uid = body.metadata.uid or ""
        async with rt.locks(uid):
            await rt.run(rt.reconciler.delete, body, patch, kw, logger, set(Retry), True)
        rt.locks.forget(uid)


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
