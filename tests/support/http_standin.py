"""What the HTTP stand-ins of outside services share: a threaded server on a loopback port that a test can stop
(the service is down: connections refused), start again on the same port, and hold (a request arrives and
hangs until released: the service is stuck)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.servers import free_port


class StandInServer:
    """Serves ``handler`` on ``127.0.0.1:port``; ``handler`` reaches this object as ``self.server.standin``."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], name: str) -> None:
        self.handler = handler
        self.name = name
        self.port = free_port()
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        #: Cleared by ``hold``: requests wait for it before they are read; ``held`` counts those waiting.
        self._open = threading.Event()
        self._open.set()
        self.held = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), self.handler)
        server.daemon_threads = True
        server.standin = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Close the listening socket: new connections are refused until ``start``."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def hold(self) -> None:
        """From now on requests hang (before their body is read) until ``release``."""
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    def wait_open(self) -> None:
        """Called by the handler first: blocks while the stand-in is held."""
        if not self._open.is_set():
            with self.lock:
                self.held += 1
            self._open.wait()
            with self.lock:
                self.held -= 1

    def __enter__(self) -> Any:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()
        self.stop()


def reply(handler: BaseHTTPRequestHandler, status: int, body: bytes = b"", content_type: str = "text/plain") -> None:
    handler.send_response(status)
    if body:
        handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if body:
        handler.wfile.write(body)
