"""Real notification receivers on loopback for the alert tests: an HTTP server that records every request
(JSON webhooks, Apprise's ``json://``, Slack and Discord stand-ins) and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.servers import free_port


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    status: int = 200

    def wait_for(self, pred: Callable[[Received], bool], timeout: float = 20.0) -> Received:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for req in list(self.requests):
                if pred(req):
                    return req
            time.sleep(0.05)
        raise AssertionError(f"no matching request in {timeout} s; got {[r.body[:200] for r in self.requests]}")


@contextmanager
def http_receiver(port: int | None = None) -> Iterator[HttpReceiver]:
    """A local HTTP server answering 200 (or ``receiver.status``) to every POST and recording it."""
    port = port or free_port()
    receiver = HttpReceiver(url=f"127.0.0.1:{port}")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            receiver.requests.append(Received(self.path, dict(self.headers), body, time.time()))
            self.send_response(receiver.status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}" if receiver.status < 300 else b'{"error": "refused"}')

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    data: bytes


@dataclass
class SmtpReceiver:
    port: int
    mails: list[Mail] = field(default_factory=list)

    def url(self, to: str = "ops@example.com") -> str:
        return f"mailto://127.0.0.1:{self.port}?from=trainboard@example.com&to={to}"

    def wait_for(self, pred: Callable[[Mail], bool], timeout: float = 20.0) -> Mail:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for mail in list(self.mails):
                if pred(mail):
                    return mail
            time.sleep(0.05)
        raise AssertionError(f"no matching e-mail in {timeout} s; got {len(self.mails)}")


@contextmanager
def smtp_receiver() -> Iterator[SmtpReceiver]:
    """A real SMTP server (aiosmtpd) on loopback keeping every message it accepts."""
    from aiosmtpd.controller import Controller

    receiver = SmtpReceiver(port=free_port())

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            receiver.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content)))
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=receiver.port)
    controller.start()
    try:
        yield receiver
    finally:
        controller.stop()
