"""A real HTTP server on 127.0.0.1 that answers like an AI vendor.

Each test queues answers (status, JSON or raw body, optional delay) and
reads back the requests the provider sent (method, path, headers, body).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Recorded:
    def __init__(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        self.method = method
        self.path = path
        self.headers = headers
        self.raw = body

    @property
    def json(self) -> Any:
        return json.loads(self.raw)


class VendorServer:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._answers: list[tuple[int, bytes, float, float]] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                outer.requests.append(Recorded("POST", self.path, {k.lower(): v for k, v in self.headers.items()},
                                               body))
                with outer._lock:
                    status, payload, delay, drip = outer._answers.pop(0) if outer._answers else (
                        500, b'{"error": "nothing queued"}', 0.0, 0.0)
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    if drip:  # ten pieces, a pause before each: slow, but never idle for long
                        step = max(1, len(payload) // 10)
                        for i in range(0, len(payload), step):
                            time.sleep(drip)
                            self.wfile.write(payload[i:i + step])
                            self.wfile.flush()
                    else:
                        self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def answer(self, status: int = 200, body: Any = None, *, raw: bytes | None = None, delay: float = 0.0,
               drip: float = 0.0) -> None:
        payload = raw if raw is not None else json.dumps(body if body is not None else {}).encode()
        with self._lock:
            self._answers.append((status, payload, delay, drip))

    def start(self) -> VendorServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
