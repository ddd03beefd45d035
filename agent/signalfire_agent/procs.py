"""One process-table scan per cycle, shared by the process checker and the
context snapshot.  ``psutil.process_iter`` keeps its Process objects between
calls, so ``cpu_percent`` is measured across the interval between scans."""

from __future__ import annotations

from typing import Any

import psutil

ATTRS = ["pid", "name", "status", "cpu_percent", "memory_percent", "memory_info"]


def scan() -> list[dict[str, Any]]:
    out = []
    for p in psutil.process_iter(ATTRS):
        info = p.info
        mem = info.get("memory_info")
        out.append({"pid": info["pid"], "name": info.get("name") or "", "status": info.get("status") or "",
                    "cpu_percent": round(info.get("cpu_percent") or 0.0, 1),
                    "memory_percent": round(info.get("memory_percent") or 0.0, 2),
                    "rss_mb": round(mem.rss / 1024**2, 1) if mem else 0.0})
    return out


def top(table: list[dict[str, Any]], key: str, n: int = 5) -> list[dict[str, Any]]:
    return sorted(table, key=lambda p: p.get(key) or 0.0, reverse=True)[:n]
