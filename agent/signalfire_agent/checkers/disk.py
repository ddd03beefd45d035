"""DiskChecker (seed): config ``paths`` (["/"]); thresholds 80 / 95 %.

Each path is graded on its own; the result is the worst path.  A path that
cannot be measured (missing, no permission) is reported in ``disks`` with its
error and makes the result UNKNOWN unless another path is already worse."""

from __future__ import annotations

import psutil

from signalfire_agent.checkers.base import BaseChecker, ConfigError, gb
from signalfire_agent.models import CheckResult, CheckStatus, worst

TYPE_CHECKING = False
if TYPE_CHECKING:  # not imported at run time: typing costs 0.4 MB resident (docs/agent.md)
    from collections.abc import Callable
    from typing import Any



class DiskChecker(BaseChecker):
    name = "disk"
    default_warning = 80.0
    default_critical = 95.0
    defaults = {"paths": ["/"]}

    def __init__(self, usage: Callable[[str], Any] = psutil.disk_usage, **settings: Any) -> None:
        super().__init__(**settings)
        paths = self.settings["paths"]
        if not isinstance(paths, list) or not paths or not all(isinstance(p, str) and p for p in paths):
            raise ConfigError("checker 'disk': paths must be a non-empty list of mount points")
        self._usage = usage

    def check(self) -> CheckResult:
        disks: dict[str, dict[str, Any]] = {}
        statuses: list[CheckStatus] = []
        worst_path, worst_percent = "", -1.0
        for path in self.settings["paths"]:
            try:
                u = self._usage(path)
            except OSError as exc:
                disks[path] = {"error": f"{type(exc).__name__}: {exc.strerror or exc}"}
                statuses.append(CheckStatus.UNKNOWN)
                continue
            percent = round(float(u.percent), 1)
            disks[path] = {"percent": percent, "total_gb": gb(u.total), "used_gb": gb(u.used),
                           "free_gb": gb(u.free), "status": self.grade(percent).value}
            statuses.append(self.grade(percent))
            if percent > worst_percent:
                worst_path, worst_percent = path, percent
        status = worst(statuses)
        metrics = {"disks": disks, "worst_percent": max(worst_percent, 0.0), "worst_path": worst_path}
        failed = [p for p, d in disks.items() if "error" in d]
        if worst_path:
            message = f"Disk {worst_path} at {worst_percent:.1f}%"
            if failed:
                message += f"; could not read {', '.join(failed)}"
        else:
            message = f"Could not read {', '.join(failed)}"
        return self.result(status, f"{message} ({status.value})", metrics,
                           error="; ".join(f"{p}: {disks[p]['error']}" for p in failed) or None)
