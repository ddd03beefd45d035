"""NetworkChecker (seed): config ``hosts`` (["8.8.8.8", "1.1.1.1"]),
``ping_count`` (1); inverted thresholds: ``reachable_percent`` below 70 is
WARNING, below 50 CRITICAL.

Reachability needs no root.  ``method = "tcp"`` (default): a host is
reachable when a TCP connection to ``host:port`` completes (``port`` default
53, or ``host:port`` / ``[v6]:port`` per host); a refused or timed-out
connect is unreachable.  All probes run at once on non-blocking sockets, so a
cycle waits at most ``probe_timeout`` (2 s) however many hosts are listed.
``method = "ping"`` runs the system ``ping`` (setuid or ping-group, no raw
socket of ours) in parallel for each host.
"""

from __future__ import annotations

import errno
import re
import selectors
import socket
import subprocess
import sys
import time

from signalfire_agent.checkers.base import BaseChecker, ConfigError
from signalfire_agent.models import CheckResult

TYPE_CHECKING = False
if TYPE_CHECKING:  # not imported at run time: typing costs 0.4 MB resident (docs/agent.md)
    from typing import Any



def split_host_port(target: str, default_port: int) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address."""
    if target.startswith("["):
        host, _, rest = target[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else default_port
    if target.count(":") == 1:
        host, port = target.split(":")
        return host, int(port)
    return target, default_port


def tcp_probe(targets: list[tuple[str, int]], count: int, timeout: float) -> list[dict[str, Any]]:
    """Connect to every target ``count`` times at once; latency of successful connects."""
    sel = selectors.DefaultSelector()
    errors: list[str | None] = [None] * len(targets)
    latencies: list[list[float]] = [[] for _ in targets]
    started: dict[socket.socket, tuple[int, float]] = {}
    try:
        for i, (host, port) in enumerate(targets):
            try:
                # an ASCII name as bytes: a str host loads the idna codec (0.7 MB resident)
                name: str | bytes = host.encode() if host.isascii() else host
                family, kind, proto, _, addr = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)[0]
            except (OSError, UnicodeError) as exc:
                errors[i] = f"cannot resolve: {exc}"
                continue
            for _ in range(count):
                s = socket.socket(family, kind, proto)
                s.setblocking(False)
                rc = s.connect_ex(addr)
                if rc not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK):
                    errors[i] = errno.errorcode.get(rc, str(rc))
                    s.close()
                    continue
                started[s] = (i, time.perf_counter())
                sel.register(s, selectors.EVENT_WRITE)
        deadline = time.perf_counter() + timeout
        while started and (left := deadline - time.perf_counter()) > 0:
            for key, _ in sel.select(left):
                sock: socket.socket = key.fileobj  # type: ignore[assignment]
                i, t0 = started.pop(sock)
                sel.unregister(sock)
                err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err == 0:
                    latencies[i].append((time.perf_counter() - t0) * 1000)
                else:
                    errors[i] = errno.errorcode.get(err, str(err))
                sock.close()
        for i, _ in started.values():
            errors[i] = errors[i] or f"no answer within {timeout:g}s"
    finally:
        for sock in list(started):
            sel.unregister(sock)
            sock.close()
        sel.close()
    return [{"reachable": True, "latency_ms": round(sum(lat) / len(lat), 2), "error": None} if lat
            else {"reachable": False, "latency_ms": None, "error": err}
            for lat, err in zip(latencies, errors, strict=True)]


_PING_TIME = re.compile(r"time[=<]([\d.]+)\s*ms")


def ping_probe(hosts: list[str], count: int, timeout: float) -> list[dict[str, Any]]:
    wait = ["-W", str(int(timeout * 1000))] if sys.platform == "darwin" else ["-W", str(max(1, int(timeout)))]
    procs = []
    for host in hosts:
        try:
            procs.append(subprocess.Popen(["ping", "-n", "-c", str(count), *wait, host], stdout=subprocess.PIPE,
                                          stderr=subprocess.STDOUT, text=True))
        except OSError as exc:
            procs.append(exc)  # type: ignore[arg-type]
    out = []
    for p in procs:
        if isinstance(p, OSError):
            out.append({"reachable": False, "latency_ms": None, "error": f"cannot run ping: {p}"})
            continue
        try:
            text, _ = p.communicate(timeout=timeout * count + 2)
        except subprocess.TimeoutExpired:
            p.kill()
            text, _ = p.communicate()
        times = [float(x) for x in _PING_TIME.findall(text or "")]
        lines = (text or "").strip().splitlines()
        error = None if times else (lines[-1] if lines else f"ping exited {p.returncode}")
        out.append({"reachable": bool(times), "latency_ms": round(sum(times) / len(times), 2) if times else None,
                    "error": error})
    return out


class NetworkChecker(BaseChecker):
    name = "network"
    inverted = True
    default_warning = 70.0
    default_critical = 50.0
    defaults = {"hosts": ["8.8.8.8", "1.1.1.1"], "ping_count": 1, "method": "tcp", "port": 53,
                "probe_timeout": 2.0}

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        s = self.settings
        if s["method"] not in ("tcp", "ping"):
            raise ConfigError("checker 'network': method must be 'tcp' or 'ping'")
        if not isinstance(s["hosts"], list) or not all(isinstance(h, str) and h for h in s["hosts"]):
            raise ConfigError("checker 'network': hosts must be a list of host names or addresses")
        self.probe_timeout = min(float(s["probe_timeout"]), self.timeout)

    def check(self) -> CheckResult:
        hosts: list[str] = self.settings["hosts"]
        count = max(1, int(self.settings["ping_count"]))
        if self.settings["method"] == "ping":
            probes = ping_probe(hosts, count, self.probe_timeout)
        else:
            targets = [split_host_port(h, int(self.settings["port"])) for h in hosts]
            probes = tcp_probe(targets, count, self.probe_timeout)
        per_host = dict(zip(hosts, probes, strict=True))
        reachable = sum(1 for p in probes if p["reachable"])
        percent = round(reachable / len(hosts) * 100, 1) if hosts else 100.0
        status = self.grade(percent)
        down = [h for h, p in per_host.items() if not p["reachable"]]
        message = f"{reachable}/{len(hosts)} hosts reachable ({percent:.0f}%)"
        if down:
            message += f"; unreachable: {', '.join(down)}"
        metrics = {"hosts": per_host, "reachable_count": reachable, "total_hosts": len(hosts),
                   "reachable_percent": percent, "method": self.settings["method"]}
        return self.result(status, f"{message} ({status.value})", metrics)
