"""One wrapper for every call to the Kubernetes API made inside a reconcile (an
organization's claim, the record of a write before it is sent): the client's exceptions become
`CallError`, retried soon, so an API server restart is not mistaken for a bug."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

import kubernetes
import urllib3

from awsorg_operator.failures import CallError, CallFailure, Kind

T = TypeVar("T")

REQUEST_TIMEOUT = 10  # seconds: a reconcile's thread must not hang on the API server
# Connections the API client keeps open: as many as threads may call at once (the reconcile
# workers, `--aws-workers`, 32 by default, and the probe). The client's default, 5 per core,
# kept 10: in a burst (the first reconcile of all) it closed the others after each call, and
# the next call paid a new TLS handshake ("Connection pool is full" in the log).
POOL_CONNECTIONS = 64

_lock = threading.Lock()
_client: kubernetes.client.ApiClient | None = None


def api_client() -> kubernetes.client.ApiClient:
    """The one API client of the operator's own calls, built at first use (after kopf's login
    loaded the configuration). One per call, as before, opened a TLS connection per call:
    at a thousand resources that was most of a Lease read's CPU. Its connection pool is
    thread-safe, and an in-cluster token is re-read by the configuration's own hook."""
    global _client
    with _lock:
        if _client is None:
            configuration = kubernetes.client.Configuration.get_default_copy()
            configuration.connection_pool_maxsize = POOL_CONNECTIONS
            _client = kubernetes.client.ApiClient(configuration)
        return _client


def kube_call(operation: str, fn: Callable[[], T], allowed: tuple[int, ...] = ()) -> T | None:
    """Runs `fn`; None when the API server answers with one of the `allowed` HTTP statuses
    (404 for a read of something absent, 409 for a write that lost a race)."""
    try:
        return fn()
    except kubernetes.client.ApiException as e:
        if e.status in allowed:
            return None
        raise CallError(_failure(operation, e)) from e
    except urllib3.exceptions.HTTPError as e:
        raise CallError(_failure(operation, e)) from e


def _failure(operation: str, error: BaseException) -> CallFailure:
    code = str(getattr(error, "status", "") or type(error).__name__)
    return CallFailure(operation, code, str(error), Kind.KUBERNETES)
