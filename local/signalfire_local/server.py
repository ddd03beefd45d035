"""HTTP front of the local stack: API Gateway HTTP API (payload format 2.0)
emulation over the routes template.yaml declares."""

from __future__ import annotations

import base64
import json
import re
import socket
import sys
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from signalfire_local import priority
from signalfire_local.stack import LocalStack
from signalfire_local.template import ACCOUNT

# API Gateway HTTP APIs refuse bodies over 10 MB before any Lambda runs.
APIGW_MAX_BODY = 10 * 1024 * 1024
#: An HTTP API integration gets 30 s, and the quota cannot be raised (docs/aws-fidelity.md).
APIGW_TIMEOUT_SECONDS = 30.0


def invoke_within(stack: LocalStack, function: str, event: dict[str, Any]) -> tuple[int, Any]:
    """Run ``function`` as API Gateway waits for it: (200, result), or the
    status API Gateway answers when the function fails (500) or has not
    answered within the API's 30 s, counted from the request's arrival as on
    AWS (503).  A late handler is not stopped (Lambda would stop it at its
    own Timeout): it finishes in the background, and a warning says so."""
    done: dict[str, Any] = {}

    def run() -> None:
        try:
            with priority.serving_request():
                done["result"] = stack.invoke(function, event)
        except Exception:  # a crash in a handler is a 500, as API Gateway answers it
            traceback.print_exc()
            done["error"] = True

    worker = threading.Thread(target=run, name=f"invoke-{function}", daemon=True)
    worker.start()
    worker.join(APIGW_TIMEOUT_SECONDS)
    if worker.is_alive():
        print(f"signalfire local: {function} has not answered within the HTTP API's {APIGW_TIMEOUT_SECONDS:.0f} s; "
              "API Gateway answers 503 and does not wait (docs/aws-fidelity.md)", file=sys.stderr)
        return 503, None
    return (500, None) if "error" in done else (200, done.get("result"))
_TOKEN_RE = re.compile(r"([?&]token=)[^&\s]*")
_TEXT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded", "application/xml")


def build_event(route_key: str, method: str, raw_path: str, raw_query: str, headers: dict[str, str],
                body: bytes, path_params: dict[str, str], source_ip: str) -> dict[str, Any]:
    ctype = headers.get("content-type", "")
    is_text = not body or any(ctype.startswith(t) for t in _TEXT_TYPES)
    if is_text:
        try:
            body_text: str | None = body.decode("utf-8")
            is_b64 = False
        except UnicodeDecodeError:
            body_text, is_b64 = base64.b64encode(body).decode(), True
    else:
        body_text, is_b64 = base64.b64encode(body).decode(), True
    headers = dict(headers)
    cookies = [c.strip() for c in headers.pop("cookie", "").replace(";", ",").split(",") if c.strip()]
    query: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "local",
            "domainName": headers.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": source_ip,
                     "userAgent": headers.get("user-agent", "")},
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": is_b64,
    }
    if cookies:  # payload 2.0 moves Cookie headers into "cookies"
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_params:
        event["pathParameters"] = path_params
    if body:
        event["body"] = body_text
    return event


def make_server(stack: LocalStack, host: str = "127.0.0.1", port: int = 3000) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        server_version = "signalfire-local"
        protocol_version = "HTTP/1.1"  # keep-alive: a sender reuses its connection

        def setup(self) -> None:
            super().setup()
            # A response goes out in one write (see _send); without Nagle it
            # leaves at once instead of waiting for the peer's delayed ACK.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, fmt: str, *args: Any) -> None:  # quieter than the default
            if getattr(self.server, "verbose", False):
                # the request line may carry ?token=...: never log it
                super().log_message(fmt, *(_TOKEN_RE.sub(r"\1***", str(a)) for a in args))

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            sent = {k.lower() for k in (headers or {})}
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            if "content-type" not in sent:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            # end_headers() would flush the head in a write of its own: join
            # head and body into one write, one segment for a small answer.
            state = vars(self)  # BaseHTTPRequestHandler keeps the head in _headers_buffer
            head = b"".join([*state.pop("_headers_buffer", []), b"\r\n"])
            self.wfile.write(head if self.command == "HEAD" else head + body)

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            self._send(status, json.dumps(payload).encode())

        def _handle(self) -> None:
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if length > APIGW_MAX_BODY:
                self.close_connection = True
                self._json(413, {"message": "Request Entity Too Large"})
                return
            body = self.rfile.read(length) if length else b""
            found = stack.match(self.command, split.path)
            if found is None:  # API Gateway's answer, unknown methods included
                self._json(404, {"message": "Not Found"})
                return
            headers: dict[str, str] = {}
            for key, value in self.headers.items():  # payload 2.0 joins repeated headers with commas
                key = key.lower()
                headers[key] = f"{headers[key]},{value}" if key in headers else value
            event = build_event(found.route_key, self.command, split.path, split.query, headers, body,
                                found.path_parameters, self.client_address[0])
            status, result = invoke_within(stack, found.function, event)
            if status == 500:
                self._json(500, {"message": "Internal Server Error"})
            elif status == 503:
                self._json(503, {"message": "Service Unavailable"})
            else:
                self._send_result(result)

        def _send_result(self, result: Any) -> None:
            if not isinstance(result, dict) or "statusCode" not in result:
                self._send(200, json.dumps(result).encode())
                return
            body = result.get("body") or ""
            raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
            headers = {k: str(v) for k, v in (result.get("headers") or {}).items()}
            for name, values in (result.get("multiValueHeaders") or {}).items():
                headers[name] = ", ".join(values)
            headers.pop("Content-Length", None)
            self._send(int(result["statusCode"]), raw, headers)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle  # noqa: N815

        def __getattr__(self, name: str) -> Any:
            # Any other method (PROPFIND, FOO...) goes to the router too, which
            # answers 404 as API Gateway does; http.server would answer 501.
            if name.startswith("do_"):
                return self._handle
            raise AttributeError(name)

    class Server(ThreadingHTTPServer):
        # Senders burst (Alertmanager, retries, a load test): a connection
        # waits in the kernel's backlog rather than being refused (the
        # default backlog is 5; the kernel caps this at net.core.somaxconn).
        request_queue_size = 1024
        daemon_threads = True  # one thread per connection: no sender waits behind another's request

    server = Server((host, port), Handler)
    return server
