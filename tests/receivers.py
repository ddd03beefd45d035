"""Real local receivers for notification tests: an HTTP server that records
every request and answers from a script, and an aiosmtpd SMTP server that can
answer 4xx a number of times before accepting (importable as ``receivers``)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class HttpReceiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    #: (status, body) answered in order; the last one repeats
    script: list[tuple[int, str]] = field(default_factory=lambda: [(200, "ok")])
    extra_headers: dict[str, str] = field(default_factory=dict)

    def answer(self) -> tuple[int, str]:
        n = len(self.requests) - 1
        return self.script[min(n, len(self.script) - 1)]


@contextmanager
def http_receiver(script: list[tuple[int, str]] | None = None) -> Iterator[HttpReceiver]:
    state: dict[str, HttpReceiver] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            rec = state["r"]
            with lock:
                rec.requests.append(Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                                             body))
                status, text = rec.answer()
            data = text.encode()
            self.send_response(status)
            for k, v in rec.extra_headers.items():
                self.send_header(k, v)
            self.send_header("Content-Type", "application/json" if text.startswith("{") else "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_POST = do_PUT = do_PATCH = do_GET = _handle

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["r"] = HttpReceiver(url=f"http://127.0.0.1:{server.server_address[1]}",
                              script=script or [(200, "ok")])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state["r"]
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class SmtpReceiver:
    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    #: answer ``fail_code`` to this many DATA commands before accepting
    fail_times: int = 0
    fail_code: int = 451
    attempts: int = 0
    #: seconds the server waits before answering DATA (a slow or stuck relay)
    delay: float = 0.0


@contextmanager
def smtp_receiver(fail_times: int = 0, fail_code: int = 451, delay: float = 0.0) -> Iterator[SmtpReceiver]:
    import asyncio

    from aiosmtpd.controller import Controller

    box = SmtpReceiver("127.0.0.1", 0, fail_times=fail_times, fail_code=fail_code, delay=delay)

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            box.attempts += 1
            if box.delay:
                await asyncio.sleep(box.delay)
            if box.attempts <= box.fail_times:
                return f"{box.fail_code} 4.3.0 try again later" if box.fail_code < 500 else \
                    f"{box.fail_code} 5.7.1 rejected"
            box.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            box.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
            return "250 OK queued"

    import socket

    with socket.socket() as probe:  # aiosmtpd needs a concrete port to check its own start
        probe.bind(("127.0.0.1", 0))
        box.port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
