"""One HTTP endpoint for every service: dispatch, faults, call log, and serving.

Requests signed for ``auditmanager`` go to the Audit Manager model; Organizations
requests pass the strictness guard, then moto; everything else goes straight to
moto's server app running in this process. Control requests live under /_emulator/.
"""

from __future__ import annotations

import io
import json
import logging
import signal
import time
from collections.abc import Iterable
from types import FrameType
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from waitress.server import create_server
from werkzeug.wrappers import Request, Response

from . import auditmanager_http, iam_enforcement
from .auditmanager import Caller
from .context import RequestContext, describe_request
from .control import PREFIX, ControlApi
from .emulator import Emulator
from .errors import AwsError, error_code_of, json_response, render_error
from .faults import Fault, FaultKind, fault_error
from .seeds import Seed

LOG = logging.getLogger("awsorg_emulator")
_HOP_BY_HOP = frozenset({"transfer-encoding", "connection", "content-length"})
WORKERS = 256
WsgiEnviron = dict[str, Any]


class EmulatorApp:
    """The WSGI application: control API, Audit Manager, guarded Organizations, moto."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self._control = ControlApi(emulator)
        self._moto = DomainDispatcherApplication(create_backend_app)

    def __call__(self, environ: WsgiEnviron, start_response: Any) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if path.startswith(PREFIX):
            response = self._control.handle(Request(environ))
            # AWS calls are not logged: the call log (/_emulator/calls) has each with its
            # time, caller and answer, and a log line per call cost the GIL more than moto.
            LOG.info("%s %s %s", environ.get("REQUEST_METHOD"), path, response.status_code)
        else:
            response = self._serve_aws(environ)
        return response(environ, start_response)

    def _serve_aws(self, environ: WsgiEnviron) -> Response:
        started = time.time()
        # The round trip to AWS: every call waits this long, outside the state lock, so
        # concurrent callers wait side by side as they would over a network.
        time.sleep(self.emulator.latency_seconds)
        body = _buffer_body(environ)
        ctx = describe_request(environ, body, auditmanager_http.operation_name)
        # Held here, outside the state lock, until the rest of its rendezvous has arrived.
        self.emulator.rendezvous.arrive(ctx.service, ctx.operation, ctx.region)
        fault = self.emulator.faults.take(ctx.service, ctx.operation, ctx.region)
        if fault is None and self.emulator.credentials.expired(ctx):
            fault = Fault(ctx.service, ctx.operation, FaultKind.EXPIRED_TOKEN, 1)
        stale = self.emulator.stale.answer(ctx, body) if fault is None else None
        response = stale or self._answer(ctx, environ, body, fault)
        response = self.emulator.credentials.issued(ctx, response)
        if fault is None and stale is None:
            self.emulator.stale.observe(ctx, body, response)
        kind = str(fault.kind) if fault else None
        self.emulator.calls.record(ctx, error_code_of(response), kind, started)
        return response

    def _answer(
        self, ctx: RequestContext, environ: WsgiEnviron, body: bytes, fault: Fault | None
    ) -> Response:
        if fault is not None and fault.kind is FaultKind.LATENCY:
            self.emulator.faults.hang(fault.latency_seconds)
        elif fault is not None:
            error = fault_error(fault.kind, ctx.service, ctx.operation, ctx.account)
            return render_error(ctx.service, error)
        try:
            return self._route(ctx, environ, body)
        except AwsError as error:
            return render_error(ctx.service, error)
        except Exception as exc:  # a bug in the emulator: tell the client, keep serving
            LOG.exception("awsorg-emulator failed on %s %s", ctx.service, ctx.operation)
            bug = AwsError("InternalFailure", f"awsorg-emulator bug: {exc!r}", 500)
            return render_error(ctx.service, bug)

    def _route(self, ctx: RequestContext, environ: WsgiEnviron, body: bytes) -> Response:
        if ctx.service == "auditmanager":
            if iam_enforcement.enforced():  # moto does this itself for its own services
                iam_enforcement.authorize(ctx, environ, body)
            caller = Caller(account=ctx.account, region=ctx.region)
            am = self.emulator.audit_manager
            return json_response(auditmanager_http.handle(am, caller, ctx.method, ctx.path, body))
        if ctx.service == "organizations":
            return self._organizations(ctx, environ, body)
        return self._call_moto(environ, ctx.account)

    def _organizations(self, ctx: RequestContext, environ: WsgiEnviron, body: bytes) -> Response:
        params = _json_object(body)
        guard = self.emulator.guard
        with self.emulator.lock:
            acting = guard.before(ctx.operation, ctx.account, params)
            response = self._call_moto(environ, acting)
            if response.status_code < 400:
                guard.after(ctx.operation, params, acting)
        return response

    def _call_moto(self, environ: WsgiEnviron, account: str) -> Response:
        """Run moto's app as ``account`` (moto honours the x-moto-account-id header)."""
        environ = {**environ, "HTTP_X_MOTO_ACCOUNT_ID": account}
        captured: list[Any] = []
        chunks: list[bytes] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            captured[:] = [status, headers]
            return chunks.append

        result = self._moto(environ, start_response)
        try:
            chunks.extend(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status, headers = captured
        kept = [(k, v) for k, v in headers if k.lower() not in _HOP_BY_HOP]
        return Response(b"".join(chunks), status=status, headers=kept)


def _buffer_body(environ: WsgiEnviron) -> bytes:
    """Read the body once and put it back, so both we and moto can read it."""
    body = Request(environ).get_data(cache=True)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body) if body.strip() else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _stop_on_signals() -> None:
    def stop(signum: int, frame: FrameType | None) -> None:
        # waitress's run() ends on SystemExit: it stops its workers (waiting up to 5 s for
        # calls in flight, such as an injected hang) and returns.
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def serve(host: str, port: int, seed: Seed, maintenance_mode: bool) -> int:
    """Serve until SIGTERM/SIGINT; print the listening line once ready."""
    app = EmulatorApp(Emulator(seed, maintenance_mode))
    # waitress keeps connections open between requests, as AWS's endpoints do (werkzeug's
    # server closes every one, so each call paid a new connection at both ends). Its
    # workers are a fixed pool and every call sleeps the injected latency or hang in one:
    # the pool holds more than every client here sends at once.
    server = create_server(
        app,
        host=host,
        port=port,
        threads=WORKERS,
        connection_limit=1000,
        channel_timeout=120,  # an idle kept-alive connection is closed after this
        asyncore_use_poll=True,  # select() stops at file descriptor 1024
        ident=None,  # no Server header of its own: moto's answers carry AWS's
    )
    _stop_on_signals()
    print(f"awsorg-emulator listening on http://{host}:{server.effective_port}", flush=True)
    server.run()
    return 0
