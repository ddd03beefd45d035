"""POST a batch over HTTP/1.1 with the standard library's ``socket``.

Why not ``http.client``/``urllib``: importing them pulls in ``email`` and
OpenSSL (about 6 MB of resident memory, measured in docs/agent.md) even for
a plain-http URL.  This client is enough for one JSON POST: it keeps the
connection open between cycles (so an https agent does one TLS handshake,
not one per cycle), reads ``Content-Length`` or chunked bodies, and loads
``ssl`` only for an https URL.
"""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

from signalfire_agent import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:  # not imported at run time: typing costs 0.4 MB resident (docs/agent.md)
    from typing import Any


#: answers that say "try again later", not "this batch is bad"
RETRYABLE = {401, 403, 408, 425, 429}
MAX_BODY = 1 << 20


class Answer:
    __slots__ = ("status", "body")

    def __init__(self, status: int, body: str) -> None:
        self.status = status  # 0 = no HTTP answer (refused, timeout, DNS, broken connection)
        self.body = body

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300

    @property
    def rejected(self) -> bool:
        """The server says this batch is bad: keep it aside, do not retry it."""
        return 400 <= self.status < 500 and self.status not in RETRYABLE


class _ProtocolError(OSError):
    pass


class Sender:
    def __init__(self, api_url: str, token: str, timeout: float = 10.0) -> None:
        parts = urlsplit(api_url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (443 if self.https else 80)
        self.host_header = parts.netloc.rsplit("@", 1)[-1]
        self.path = parts.path.rstrip("/") + "/checks/"
        self.token = token
        self.timeout = timeout
        self._sock: Any = None
        self._buf = b""
        self._ctx: Any = None

    def _connect(self) -> Any:
        # an ASCII host as bytes: a str host loads the idna codec (0.7 MB resident)
        host: str | bytes = self.host.encode() if self.host.isascii() else self.host
        sock = socket.create_connection((host, self.port), timeout=self.timeout)  # type: ignore[arg-type]
        if self.https:
            import ssl  # only an https agent pays for OpenSSL

            if self._ctx is None:
                self._ctx = ssl.create_default_context()
            sock = self._ctx.wrap_socket(sock, server_hostname=self.host)
        self._buf = b""
        return sock

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def post(self, payload: dict[str, Any]) -> Answer:
        body = json.dumps(payload, separators=(",", ":")).encode()
        head = (f"POST {self.path} HTTP/1.1\r\nHost: {self.host_header}\r\n"
                f"Authorization: Bearer {self.token}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nUser-Agent: signalfire-agent/{__version__}\r\n\r\n").encode()
        for attempt in (1, 2):
            reused = self._sock is not None
            try:
                if self._sock is None:
                    self._sock = self._connect()
                self._sock.sendall(head + body)
                return self._read_answer()
            except (OSError, ValueError) as exc:
                self.close()
                # a kept-alive connection the server closed meanwhile: one retry on a fresh one
                # (safe: the server stores a batch_id once)
                if reused and attempt == 1 and not isinstance(exc, TimeoutError):
                    continue
                return Answer(0, f"{type(exc).__name__}: {exc}")
        return Answer(0, "unreachable")  # pragma: no cover

    # -- response parsing -----------------------------------------------------
    def _fill(self) -> None:
        chunk = self._sock.recv(65536)
        if not chunk:
            raise _ProtocolError("connection closed before a complete answer")
        self._buf += chunk
        if len(self._buf) > MAX_BODY:
            raise _ProtocolError("answer too large")

    def _line(self) -> bytes:
        while b"\r\n" not in self._buf:
            self._fill()
        line, self._buf = self._buf.split(b"\r\n", 1)
        return line

    def _take(self, n: int) -> bytes:
        while len(self._buf) < n:
            self._fill()
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def _read_answer(self) -> Answer:
        status_line = self._line().decode("latin-1")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise _ProtocolError(f"not an HTTP answer: {status_line[:80]!r}")
        status = int(parts[1])
        headers: dict[str, str] = {}
        while line := self._line():
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while size := int(self._line().split(b";")[0], 16):
                body += self._take(size)
                self._take(2)
            while self._line():  # trailers
                pass
        elif "content-length" in headers:
            body = self._take(int(headers["content-length"]))
        else:  # read to the end of the connection
            try:
                while True:
                    self._fill()
            except _ProtocolError:
                pass
            body, self._buf = self._buf, b""
            self.close()
        if headers.get("connection", "").lower() == "close" and self._sock is not None:
            self.close()
        return Answer(status, body.decode("utf-8", "replace"))
