"""The local server's HTTP layer: keep-alive, TCP_NODELAY, and each response
in one write (a head written apart from its body waits for the peer's
delayed ACK under Nagle's algorithm: 40 ms added to a 5 ms request)."""

from __future__ import annotations

import http.client
import json
import socket
import socketserver
import threading
from types import SimpleNamespace

import pytest

from signalfire_local.server import make_server


class FakeStack:
    """Routes everything to one function that echoes the path."""

    def match(self, method: str, path: str):
        return SimpleNamespace(route_key="ANY /{proxy+}", path_parameters={"proxy": path.strip("/")},
                               function="Echo")

    def invoke(self, function: str, event: dict):
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
                "body": json.dumps({"path": event["rawPath"], "size": len(event.get("body") or "")})}


@pytest.fixture
def server():
    srv = make_server(FakeStack(), "127.0.0.1", 0)  # type: ignore[arg-type]
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_each_response_is_one_write_on_a_kept_alive_no_delay_connection(server, monkeypatch):
    writes: list[tuple[bytes, int]] = []
    original = socketserver._SocketWriter.write

    def spy(self, data):
        writes.append((bytes(data), self._sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)))
        return original(self, data)

    monkeypatch.setattr(socketserver._SocketWriter, "write", spy)
    conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    for i in range(3):
        conn.request("POST", f"/echo/{i}", body=b"x" * 100, headers={"Content-Type": "application/json"})
        reply = conn.getresponse()
        assert reply.status == 200 and json.loads(reply.read()) == {"path": f"/echo/{i}", "size": 100}
        assert reply.getheader("Connection") != "close"
    first_socket = conn.sock
    assert first_socket is not None  # the same connection served all three
    conn.close()
    assert len(writes) == 3  # one write per response: head and body together
    for data, nodelay in writes:
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and json.loads(body)["size"] == 100
        assert nodelay != 0


def test_concurrent_senders_are_all_answered(server):
    results: list[int] = []
    lock = threading.Lock()

    def sender(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
        for i in range(20):
            conn.request("GET", f"/s{n}/{i}")
            reply = conn.getresponse()
            reply.read()
            with lock:
                results.append(reply.status)
        conn.close()

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 640
