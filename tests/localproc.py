"""Start and stop the real `signalfire local` process (for e2e tests and benchmarks)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]  # the checkout this file is in (tests/..)
TOKEN = "e2e-webhook-token"
ADMIN = "e2e-admin-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Local:
    url: str
    token: str
    admin: str
    process: subprocess.Popen
    outbox: Path
    log: Path

    def admin_client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.admin}"}, timeout=30)

    def sender(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=30)


def child_env() -> dict[str, str]:
    """The environment `signalfire local` runs with: this checkout's shared
    layer and local stack first on the path, whatever is installed (an
    editable install may point at another checkout) and whatever the cwd."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "layers" / "shared"), str(ROOT / "local"),
                                                    env.get("PYTHONPATH", "")) if p)
    return env


def start_local(tmp: Path, *params: str, verbose: bool = False, extra: tuple[str, ...] = (),
                port: int | None = None) -> Local:
    """Start `signalfire local` from this checkout; returns once it answers.
    Without ``port`` it listens on one the kernel picks (``--port 0``), read
    from its banner: no race with parallel test workers over a free port."""
    outbox = tmp / "outbox.jsonl"
    log = tmp / "local.log"
    cmd = [sys.executable, "-m", "signalfire_local.cli", "local", "--port", str(port or 0), "--token", TOKEN,
           "--admin-token", ADMIN, "--outbox", str(outbox)]
    for p in params:
        cmd += ["--param", p]
    if verbose:
        cmd.append("--verbose")
    cmd += list(extra)
    start = log.stat().st_size if log.exists() else 0  # a restart appends to the same log
    fh = open(log, "ab")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, env=child_env())
    deadline = time.monotonic() + 60
    url = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"signalfire local exited early:\n{log.read_text()}")
        if url is None:
            with open(log, "rb") as f:
                f.seek(start)
                found = _BANNER.search(f.read().decode(errors="replace"))
            url = found.group(1) if found else None
        if url is not None:
            try:
                r = httpx.get(f"{url}/alerts/webhook/", params={"token": TOKEN}, timeout=2)
                if r.status_code == 200:
                    return Local(url, TOKEN, ADMIN, proc, outbox, log)
            except httpx.HTTPError:
                pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"signalfire local did not answer in 60 s:\n{log.read_text()}")


_BANNER = re.compile(r"signalfire local is running on (http://\S+)")


def stop_local(local: Local) -> int:
    if local.process.poll() is None:
        local.process.send_signal(signal.SIGINT)
        try:
            return local.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            local.process.kill()
            return -9
    return local.process.returncode


