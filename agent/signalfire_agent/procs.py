"""One process-table scan per cycle, shared by the process checker and the
context snapshot.

Not ``psutil.process_iter``: it keeps a Process object per process alive
between calls.  Here each scan reads every process once (``oneshot``) and
keeps only ``pid -> CPU seconds`` to compute each process's CPU use across
the interval since the previous scan."""

from __future__ import annotations

import time

import psutil

TYPE_CHECKING = False
if TYPE_CHECKING:  # not imported at run time: typing costs 0.4 MB resident (docs/agent.md)
    from typing import Any

_GONE = (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, OSError)


class ProcessTable:
    def __init__(self) -> None:
        self._prev: dict[int, float] = {}
        self._prev_at = 0.0
        self._total = float(psutil.virtual_memory().total) or 1.0

    def scan(self) -> list[dict[str, Any]]:
        now = time.monotonic()
        elapsed = now - self._prev_at if self._prev_at else 0.0
        seen: dict[int, float] = {}
        out = []
        for pid in psutil.pids():
            try:
                p = psutil.Process(pid)
                with p.oneshot():
                    name, status = p.name(), p.status()
                    t, rss = p.cpu_times(), p.memory_info().rss
            except _GONE:
                continue
            cpu = t.user + t.system
            seen[pid] = cpu
            before = self._prev.get(pid)
            percent = (cpu - before) / elapsed * 100 if before is not None and elapsed > 0 and cpu >= before else 0.0
            out.append({"pid": pid, "name": name, "status": status, "cpu_percent": round(percent, 1),
                        "memory_percent": round(rss / self._total * 100, 2), "rss_mb": round(rss / 1024**2, 1)})
        self._prev, self._prev_at = seen, now
        return out


def scan() -> list[dict[str, Any]]:
    """A one-off scan (CPU use reads 0 for every process: there is no earlier scan)."""
    return ProcessTable().scan()


def top(table: list[dict[str, Any]], key: str, n: int = 5) -> list[dict[str, Any]]:
    return sorted(table, key=lambda p: p.get(key) or 0.0, reverse=True)[:n]
