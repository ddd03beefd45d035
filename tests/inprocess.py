"""The whole local stack (signalfire_local.stack.LocalStack: moto, the
template's functions under their IAM roles, the real ASL) served over
loopback HTTP by a thread of the test process: what `signalfire local`
runs, without starting a process.  Functional tests use it where a scenario
needs the stack's HTTP API and its pipeline runs but nothing only the real
process shows (its command line, log, signals, restart); see docs/testing.md.
Importable as ``inprocess``."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from support import ADMIN_TOKEN, WEBHOOK_TOKEN


@dataclass
class InProcessLocal:
    url: str
    token: str
    admin: str
    outbox: Path
    stack: Any  # signalfire_local.stack.LocalStack

    def admin_client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.admin}"}, timeout=30)

    def sender(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=30)


@contextmanager
def local_in_process(tmp: Path, *params: str) -> Iterator[InProcessLocal]:
    """``params`` as `signalfire local --param Key=Value` takes them; the
    environment, moto and the service caches are restored afterwards."""
    from signalfire import services
    from signalfire_local.server import make_server
    from signalfire_local.stack import LocalStack

    saved = dict(os.environ)
    outbox = tmp / "outbox.jsonl"
    stack = LocalStack(token=WEBHOOK_TOKEN, admin_token=ADMIN_TOKEN, outbox=str(outbox),
                       parameters=dict(p.split("=", 1) for p in params))
    try:
        stack.start()
        server = make_server(stack, "127.0.0.1", 0)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        try:
            yield InProcessLocal(f"http://127.0.0.1:{server.server_address[1]}", WEBHOOK_TOKEN, ADMIN_TOKEN,
                                 outbox, stack)
        finally:
            server.shutdown()
            server.server_close()
    finally:
        stack.stop()
        os.environ.clear()
        os.environ.update(saved)
        services.reset()
