"""The context snapshot posted with a batch: what an analysis of this host
needs (top processes by memory and CPU, disk usage per mount, space hogs the
disk scanners found).  Kept small: top 5 of each, real filesystems only."""

from __future__ import annotations

import os
import platform
import sys
import time

import psutil

from signalfire_agent import __version__, procs
from signalfire_agent.checkers.base import gb

TYPE_CHECKING = False
if TYPE_CHECKING:  # not imported at run time: typing costs 0.4 MB resident (docs/agent.md)
    from typing import Any


_SKIP_FS = {"squashfs", "tmpfs", "devtmpfs", "overlay", "proc", "sysfs", "nsfs", "tracefs", "ramfs"}


def host_identity(hostname: str) -> dict[str, Any]:
    return {"hostname": hostname, "platform": sys.platform, "os": platform.platform(terse=True),
            "cpu_count": psutil.cpu_count() or 1, "memory_total_gb": gb(psutil.virtual_memory().total),
            "boot_time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(psutil.boot_time())),
            "agent_version": __version__}


def mounts() -> list[dict[str, Any]]:
    out = []
    seen: set[int] = set()
    for part in psutil.disk_partitions(all=False):
        if part.fstype in _SKIP_FS:
            continue
        try:
            dev = os.stat(part.mountpoint).st_dev
            if dev in seen:
                continue
            seen.add(dev)
            u = psutil.disk_usage(part.mountpoint)
        except OSError:
            continue
        out.append({"mount": part.mountpoint, "device": part.device, "fstype": part.fstype,
                    "percent": round(u.percent, 1), "total_gb": gb(u.total), "used_gb": gb(u.used),
                    "free_gb": gb(u.free)})
    return out[:20]


def build(table: list[dict[str, Any]], space_hogs: list[dict[str, Any]]) -> dict[str, Any]:
    keep = ("pid", "name", "cpu_percent", "memory_percent", "rss_mb")
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "taken_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "top_memory": [{k: p[k] for k in keep} for p in procs.top(table, "memory_percent")],
        "top_cpu": [{k: p[k] for k in keep} for p in procs.top(table, "cpu_percent")],
        "process_count": len(table),
        "disks": mounts(),
        "space_hogs": sorted(space_hogs, key=lambda h: -h["size_mb"])[:10],
        "load_average": [round(x, 2) for x in load] if load else None,
    }
