"""/healthz, answered by a thread of its own from what the probes last saw.

kopf's own server answered on the event loop: an answer took as many turns of the loop as
the request needed (accept, read, run the probes, write), and at a thousand organizations
each turn waited behind a thousand timer tasks, the reconciles' results handed back from
threads and the GIL, so /healthz took up to 4 to 5 s while /metrics, served by a thread like
this one, answered within 0.2 s (docs/performance.md). The event loop is still judged: its
heartbeat (`probes.LoopHeartbeat`) must have beaten recently, so a blocked loop still fails
the probe, but a busy one no longer delays every answer.

Each check returns what it saw or raises; any raise answers 500, as kopf answered for a
probe that raised `PermanentError`. The body is the same JSON object of check → answer.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PATH = "/healthz"
Check = Callable[[], str]


def judge(checks: Mapping[str, Check]) -> tuple[int, dict[str, str]]:
    """The HTTP status and the body: 200 when every check answered, else 500 with what each
    one said (the failures' messages included)."""
    status, body = 200, {}
    for name, check in checks.items():
        try:
            body[name] = check()
        except Exception as e:  # every failure of a check is an unhealthy answer, never a crash
            status, body[name] = 500, f"{type(e).__name__}: {e}"
    return status, body


def serve(port: int, checks: Mapping[str, Check]) -> ThreadingHTTPServer:
    """Serves /healthz on every address, as kopf's liveness endpoint did."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] != PATH:
                self.send_error(404)
                return
            status, body = judge(checks)
            text = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, format: str, *args: object) -> None:
            pass  # a line per probe would drown the operator's own log

    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="health-http", daemon=True).start()
    return server
