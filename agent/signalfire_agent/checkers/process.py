"""ProcessChecker (seed): config ``processes`` ([] = nothing to watch);
inverted thresholds: ``running_percent`` below 100 is WARNING (all must run),
below 50 CRITICAL.  A name matches the process name exactly."""

from __future__ import annotations

from signalfire_agent import procs
from signalfire_agent.checkers.base import BaseChecker, ConfigError
from signalfire_agent.models import CheckResult, CheckStatus

TYPE_CHECKING = False
if TYPE_CHECKING:  # not imported at run time: typing costs 0.4 MB resident (docs/agent.md)
    from collections.abc import Callable
    from typing import Any, ClassVar



class ProcessChecker(BaseChecker):
    name = "process"
    inverted = True
    default_warning = 100.0
    default_critical = 50.0
    defaults: ClassVar[dict[str, Any]] = {"processes": []}

    def __init__(self, table: Callable[[], list[dict[str, Any]]] = procs.scan, **settings: Any) -> None:
        super().__init__(**settings)
        names = self.settings["processes"]
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise ConfigError("checker 'process': processes must be a list of process names")
        self._table = table

    def check(self) -> CheckResult:
        names: list[str] = self.settings["processes"]
        if not names:
            return self.result(CheckStatus.OK, "No processes configured to watch",
                               {"processes": {}, "running_count": 0, "total_count": 0, "running_percent": 100.0})
        by_name: dict[str, dict[str, Any]] = {}
        for p in self._table():
            if p["name"] in names and p["name"] not in by_name:
                by_name[p["name"]] = p
        processes: dict[str, dict[str, Any]] = {}
        for name in names:
            found = by_name.get(name)
            processes[name] = ({"running": True, "pid": found["pid"], "status": found["status"],
                                "cpu_percent": found["cpu_percent"], "memory_percent": found["memory_percent"]}
                               if found else {"running": False, "pid": None, "status": "not running",
                                              "cpu_percent": None, "memory_percent": None})
        running = sum(1 for v in processes.values() if v["running"])
        percent = round(running / len(names) * 100, 1)
        status = self.grade(percent)
        missing = [n for n, v in processes.items() if not v["running"]]
        message = f"{running}/{len(names)} processes running"
        if missing:
            message += f"; not running: {', '.join(missing)}"
        return self.result(status, f"{message} ({status.value})",
                           {"processes": processes, "running_count": running, "total_count": len(names),
                            "running_percent": percent})
