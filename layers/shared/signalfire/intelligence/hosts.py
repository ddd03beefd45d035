"""Host context: what the agent last reported about a host, as a HostContext.

The analysis reads hosts through :class:`HostContextSource` only; the
implementation reads the agent's check store (``checks/``: the host record,
each checker's latest CheckRun and the latest context snapshot, in one
Query), and :func:`from_agent` maps the agent's shapes onto HostContext.
"""

from __future__ import annotations

import abc
from datetime import datetime, timedelta
from typing import Any

from signalfire.alerts.hosts import HOST_LABELS, host_from_label, host_key, hosts_of  # noqa: F401
from signalfire.checks.store import CheckStore
from signalfire.intelligence.models import DiskUsage, HostContext, PathSize, ProcessInfo
from signalfire.timeutil import parse_time, utcnow

#: A snapshot older than this is used but flagged as stale.
STALE_AFTER = timedelta(minutes=15)

# One rule for which host an alert names, shared with the drivers, the check
# stage and notifications: alerts/hosts.py (re-exported here).


def _num(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _time(value: Any) -> datetime | None:
    try:
        return parse_time(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _proc(p: dict[str, Any]) -> ProcessInfo:
    return ProcessInfo(pid=p.get("pid") if isinstance(p.get("pid"), int) else None, name=str(p.get("name") or ""),
                       user=str(p.get("username") or p.get("user") or ""), cpu_percent=_num(p.get("cpu_percent")),
                       memory_percent=_num(p.get("memory_percent")),
                       memory_mb=_num(p.get("rss_mb") if p.get("rss_mb") is not None else p.get("memory_mb")))


def _paths(items: Any) -> list[PathSize]:
    out = []
    for it in items if isinstance(items, list) else []:
        if isinstance(it, dict) and it.get("path"):
            out.append(PathSize(path=str(it["path"]), size_mb=_num(it.get("size_mb")), age_days=_num(it.get("age_days"))))
    return out


def from_agent(hostname: str, snapshot: dict[str, Any] | None, checks: dict[str, dict[str, Any]],
               now: datetime | None = None) -> HostContext:
    """Map the agent's snapshot and latest check results onto HostContext."""
    snap = snapshot or {}
    metrics = {name: (r.get("metrics") or {}) for name, r in checks.items()}
    mem, cpu = metrics.get("memory", {}), metrics.get("cpu", {})
    times = [t for t in [_time(snap.get("taken_at"))] + [_time(r.get("executed_at")) for r in checks.values()]
             if t is not None]
    reported = max(times) if times else None
    disks = [DiskUsage(path=str(d.get("mount") or d.get("path")), percent=_num(d.get("percent")),
                       total_gb=_num(d.get("total_gb")), used_gb=_num(d.get("used_gb")), free_gb=_num(d.get("free_gb")))
             for d in snap.get("disks") or [] if isinstance(d, dict) and (d.get("mount") or d.get("path"))]
    if not disks:  # the disk checker's own per-path metrics
        for path, d in (metrics.get("disk", {}).get("disks") or {}).items():
            if isinstance(d, dict):
                disks.append(DiskUsage(path=str(path), percent=_num(d.get("percent")), total_gb=_num(d.get("total_gb")),
                                       used_gb=_num(d.get("used_gb")), free_gb=_num(d.get("free_gb"))))
    hogs, old, large = _paths(snap.get("space_hogs")), [], []
    for name in ("disk_common", "disk_linux", "disk_macos"):
        m = metrics.get(name, {})
        known = {h.path for h in hogs}
        hogs += [h for h in _paths(m.get("space_hogs")) if h.path not in known]
        old += _paths(m.get("old_files"))
        large += _paths(m.get("large_files"))
    total_gb, avail_gb = _num(mem.get("memory_total_gb")), _num(mem.get("memory_available_gb"))
    load = snap.get("load_average") or []
    return HostContext(
        hostname=hostname, reported_at=reported,
        stale=bool(reported and (now or utcnow()) - reported > STALE_AFTER),
        cpu_percent=_num(cpu.get("cpu_percent", cpu.get("percent"))),
        load_average=[float(x) for x in load if _num(x) is not None] if isinstance(load, list) else [],
        memory_percent=_num(mem.get("memory_percent", mem.get("percent"))),
        memory_total_mb=total_gb * 1024 if total_gb is not None else None,
        memory_available_mb=avail_gb * 1024 if avail_gb is not None else None,
        swap_percent=_num(mem.get("swap_percent")),
        top_memory=[_proc(p) for p in snap.get("top_memory") or [] if isinstance(p, dict)],
        top_cpu=[_proc(p) for p in snap.get("top_cpu") or [] if isinstance(p, dict)],
        disks=disks, space_hogs=sorted(hogs, key=lambda h: -(h.size_mb or 0)),
        old_files=old, large_files=sorted(large, key=lambda f: -(f.size_mb or 0)),
        checks={name: {"status": str(r.get("status") or "").lower(), "message": str(r.get("message") or "")[:500]}
                for name, r in checks.items()},
    )


class HostContextSource(abc.ABC):
    """Where the analysis reads host data from."""

    @abc.abstractmethod
    def latest(self, hostname: str) -> HostContext | None:
        """The host's latest report, or None when the agent never reported."""


class CheckStoreHostContextSource(HostContextSource):
    """Reads a host through the agent's CheckStore (one Query on ``HOST#<host>``:
    the host record, each checker's latest CheckRun, the snapshot)."""

    def __init__(self, checks: CheckStore) -> None:
        self.checks = checks

    def latest(self, hostname: str) -> HostContext | None:
        detail = self.checks.host_detail(hostname)
        if detail is None:
            return None
        runs = {name: run.model_dump(mode="json") for name, run in detail.checks.items()}
        ctx = from_agent(detail.host.hostname, detail.snapshot, runs)
        if detail.stale and not ctx.stale:
            ctx.stale = True  # silent for longer than its interval allows
        return ctx
