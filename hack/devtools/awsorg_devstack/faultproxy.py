"""A TCP proxy that injects faults between a client and a server: the operator and its API
server, in the tests. It forwards bytes as they come (TLS passes through untouched) and can

- `reset()` every open connection (a TCP reset, as when the server restarts or a load
  balancer drops it);
- `stall()` every open connection: no byte moves either way, nothing is closed (a watch that
  goes silent); new connections work;
- `delay(seconds)` every chunk from now on.

    with FaultProxy("127.0.0.1", apiserver_port) as proxy:
        ...connect to proxy.port...
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from types import TracebackType

_CHUNK = 65536


class _Link:
    """One client connection and its upstream, pumped by two threads."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client, self.upstream = client, upstream
        self.moving = threading.Event()
        self.moving.set()
        self.closed = threading.Event()

    def close(self, reset: bool = False) -> None:
        self.closed.set()
        self.moving.set()  # wake a stalled pump so it can end
        for s in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                if reset:  # SO_LINGER 0: the socket ends with RST instead of FIN
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                # close() alone leaves a socket that another thread is reading from open;
                # shutdown() of the read side wakes that thread and sends nothing itself.
                s.shutdown(socket.SHUT_RD)
            with contextlib.suppress(OSError):
                s.close()


class FaultProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        self._lock = threading.Lock()
        self._links: list[_Link] = []
        self._delay = 0.0
        self.connections = 0  # accepted so far
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def reset(self) -> int:
        """Reset every open connection; returns how many."""
        with self._lock:
            links, self._links = self._links, []
        for link in links:
            link.close(reset=True)
        return len(links)

    def stall(self) -> int:
        """Stop moving bytes on every open connection, keeping it open; returns how many."""
        with self._lock:
            for link in self._links:
                link.moving.clear()
            return len(self._links)

    def resume(self) -> None:
        with self._lock:
            for link in self._links:
                link.moving.set()

    def delay(self, seconds: float) -> None:
        self._delay = seconds

    def open_connections(self) -> int:
        with self._lock:
            self._links = [link for link in self._links if not link.closed.is_set()]
            return len(self._links)

    def stop(self) -> None:
        # shutdown() wakes the thread blocked in accept(); close() alone would not.
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._server.close()
        self.reset()
        self._accepting.join(timeout=5)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return  # the listener was closed: stop
            try:
                upstream = socket.create_connection(self._target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            link = _Link(client, upstream)
            with self._lock:
                self._links.append(link)
                self.connections += 1
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(link, src, dst), daemon=True).start()

    def _pump(self, link: _Link, src: socket.socket, dst: socket.socket) -> None:
        try:
            while not link.closed.is_set():
                data = src.recv(_CHUNK)
                if not data:
                    break
                link.moving.wait()  # a stalled link holds what it read
                if link.closed.is_set():
                    break
                if self._delay:
                    time.sleep(self._delay)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            link.close()
