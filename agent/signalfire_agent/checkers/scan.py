"""Disk scanners (seed DiskCommonChecker, DiskLinuxChecker, DiskMacOSChecker):
walk a few well-known directories for space hogs, old files and large files.
Thresholds are on ``total_recoverable_mb``: 5000 MB WARNING, 20000 MB CRITICAL.

They walk directories, so they run on the agent's slower ``scan_interval``
schedule, never follow symlinks, stay on the root's filesystem, and stop at
``max_entries`` entries or ``timeout`` seconds (reported as ``truncated``).

Config: ``paths`` (override the roots), ``old_days`` (30), ``large_file_mb``
(100), ``min_hog_mb`` (100), ``top_n`` (10), ``max_entries`` (200000).
What counts as recoverable: everything under a cache root, and files older
than ``old_days`` under the other roots.
"""

from __future__ import annotations

import os
import sys
import time

from signalfire_agent.checkers.base import BaseChecker
from signalfire_agent.models import CheckResult, CheckStatus

TYPE_CHECKING = False
if TYPE_CHECKING:  # not imported at run time: typing costs 0.4 MB resident (docs/agent.md)
    from typing import Any, ClassVar


MB = 1024**2


class Root:
    def __init__(self, path: str, cache: bool = False, advice: str = "") -> None:
        self.path = path
        self.cache = cache  # everything below is safe to delete
        self.advice = advice


class _Walk:
    def __init__(self) -> None:
        self.total = self.old = self.entries = self.unreadable = 0
        self.truncated = False
        self.children: dict[str, int] = {}
        self.old_files: list[tuple[int, str, float]] = []
        self.large_files: list[tuple[int, str]] = []


class ScanChecker(BaseChecker):
    slow = True
    default_warning = 5000.0
    default_critical = 20000.0
    defaults: ClassVar[dict[str, Any]] = {"paths": None, "old_days": 30, "large_file_mb": 100, "min_hog_mb": 100,
                                "top_n": 10, "max_entries": 200000}
    #: sys.platform prefix this scanner is for ("" = any Unix-like)
    platform: ClassVar[str] = ""

    def roots(self) -> list[Root]:
        raise NotImplementedError

    def _roots(self) -> list[Root]:
        custom = self.settings["paths"]
        if custom:
            return [Root(os.path.expanduser(p)) for p in custom]
        return [Root(os.path.expanduser(r.path), r.cache, r.advice) for r in self.roots()]

    def check(self) -> CheckResult:
        if self.platform and not sys.platform.startswith(self.platform):
            return self.result(CheckStatus.UNKNOWN,
                               f"{self.name} only runs on {self.platform} (this host is {sys.platform}); "
                               f"not checked", error=f"unsupported platform {sys.platform}")
        deadline = time.monotonic() + self.timeout
        now = time.time()
        old_before = now - float(self.settings["old_days"]) * 86400
        large = float(self.settings["large_file_mb"]) * MB
        top_n = int(self.settings["top_n"])
        budget = int(self.settings["max_entries"])
        hogs: list[dict[str, Any]] = []
        old_files: list[tuple[int, str, float]] = []
        large_files: list[tuple[int, str]] = []
        recoverable = 0
        scanned: dict[str, Any] = {}
        recommendations: list[str] = []
        truncated = False
        for root in self._roots():
            if not os.path.isdir(root.path):
                scanned[root.path] = {"exists": False}
                continue
            w = _Walk()
            _walk(root.path, root.path, w, old_before, large, budget, deadline, os.stat(root.path).st_dev)
            budget -= w.entries
            truncated = truncated or w.truncated
            root_recoverable = w.total if root.cache else w.old
            recoverable += root_recoverable
            scanned[root.path] = {"exists": True, "size_mb": round(w.total / MB, 1), "entries": w.entries,
                                  "unreadable": w.unreadable, "recoverable_mb": round(root_recoverable / MB, 1)}
            min_hog = float(self.settings["min_hog_mb"]) * MB
            if w.total >= min_hog:
                hogs.append({"path": root.path, "size_mb": round(w.total / MB, 1)})
                if root.advice:
                    recommendations.append(f"{root.path} holds {w.total / MB:.0f} MB: {root.advice}")
            hogs += [{"path": p, "size_mb": round(s / MB, 1)} for p, s in w.children.items() if s >= min_hog]
            old_files += w.old_files
            large_files += w.large_files
        hogs.sort(key=lambda h: -h["size_mb"])
        old_files.sort(reverse=True)
        large_files.sort(reverse=True)
        total_mb = round(recoverable / MB, 1)
        if old_files:
            recommendations.append(f"{len(old_files)} files older than {self.settings['old_days']} days "
                                   f"could be removed")
        metrics = {
            "space_hogs": hogs[:top_n],
            "old_files": [{"path": p, "size_mb": round(s / MB, 1), "age_days": round((now - m) / 86400)}
                          for s, p, m in old_files[:top_n]],
            "large_files": [{"path": p, "size_mb": round(s / MB, 1)} for s, p in large_files[:top_n]],
            "total_recoverable_mb": total_mb,
            "recommendations": recommendations,
            "scanned": scanned,
            "truncated": truncated,
        }
        status = self.grade(total_mb)
        message = f"{total_mb:.0f} MB recoverable in {', '.join(scanned) or 'no directories'}"
        if truncated:
            message += " (scan truncated)"
        return self.result(status, f"{message} ({status.value})", metrics)


def _walk(top: str, root: str, w: _Walk, old_before: float, large: float, budget: int, deadline: float,
          dev: int) -> None:
    stack = [top]
    while stack:
        path = stack.pop()
        try:
            it = os.scandir(path)
        except OSError:
            w.unreadable += 1
            continue
        with it:
            for entry in it:
                w.entries += 1
                if w.entries >= budget or (w.entries % 512 == 0 and time.monotonic() > deadline):
                    w.truncated = True
                    return
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    w.unreadable += 1
                    continue
                child = _child_of(root, entry.path)
                if entry.is_dir(follow_symlinks=False):
                    if st.st_dev == dev:
                        stack.append(entry.path)
                    continue
                if not entry.is_file(follow_symlinks=False):
                    continue
                size = st.st_blocks * 512 if hasattr(st, "st_blocks") else st.st_size
                w.total += size
                w.children[child] = w.children.get(child, 0) + size
                if st.st_mtime < old_before:
                    w.old += size
                    w.old_files.append((size, entry.path, st.st_mtime))
                if size >= large:
                    w.large_files.append((size, entry.path))
        # keep the per-root lists small while walking big trees
        if len(w.old_files) > 1000:
            w.old_files = sorted(w.old_files, reverse=True)[:100]
        if len(w.large_files) > 1000:
            w.large_files = sorted(w.large_files, reverse=True)[:100]


def _child_of(root: str, path: str) -> str:
    rel = os.path.relpath(path, root).split(os.sep, 1)[0]
    return os.path.join(root, rel)


class DiskCommonChecker(ScanChecker):
    name = "disk_common"

    def roots(self) -> list[Root]:
        return [Root("/var/log", advice="rotate or compress old logs (logrotate)"),
                Root("~/.cache", cache=True, advice="user caches are safe to clear"),
                Root("/tmp"), Root("/var/tmp")]


class DiskLinuxChecker(ScanChecker):
    name = "disk_linux"
    platform = "linux"

    def roots(self) -> list[Root]:
        return [Root("/var/cache/apt/archives", cache=True, advice="run `apt-get clean`"),
                Root("/var/log/journal", advice="run `journalctl --vacuum-size=500M`"),
                Root("/var/lib/docker", advice="run `docker system prune` for unused images and volumes"),
                Root("/var/lib/snapd", advice="lower `snap set system refresh.retain` to keep fewer revisions")]


class DiskMacOSChecker(ScanChecker):
    name = "disk_macos"
    platform = "darwin"

    def roots(self) -> list[Root]:
        return [Root("~/Library/Caches", cache=True, advice="application caches are safe to clear"),
                Root("~/Library/Developer/Xcode/DerivedData", cache=True, advice="Xcode rebuilds DerivedData"),
                Root("~/Downloads", advice="downloads older than 30 days")]
