"""MemoryChecker (seed): config ``include_swap`` (False); thresholds 70 / 90 %.

With ``include_swap`` the status is the worse of memory and swap use."""

from __future__ import annotations

import psutil

from signalfire_agent.checkers.base import BaseChecker, gb
from signalfire_agent.models import CheckResult, worst

TYPE_CHECKING = False
if TYPE_CHECKING:  # not imported at run time: typing costs 0.4 MB resident (docs/agent.md)
    from collections.abc import Callable
    from typing import Any



class MemoryChecker(BaseChecker):
    name = "memory"
    defaults = {"include_swap": False}

    def __init__(self, virtual: Callable[[], Any] = psutil.virtual_memory,
                 swap: Callable[[], Any] = psutil.swap_memory, **settings: Any) -> None:
        super().__init__(**settings)
        self._virtual, self._swap = virtual, swap

    def check(self) -> CheckResult:
        vm = self._virtual()
        percent = round(float(vm.percent), 1)
        metrics: dict[str, Any] = {
            "memory_percent": percent, "memory_total_gb": gb(vm.total),
            "memory_used_gb": gb(vm.total - vm.available), "memory_available_gb": gb(vm.available),
        }
        statuses = [self.grade(percent)]
        message = f"Memory usage {percent:.1f}%"
        if self.settings["include_swap"]:
            sw = self._swap()
            swap_percent = round(float(sw.percent), 1)
            metrics.update(swap_percent=swap_percent, swap_total_gb=gb(sw.total), swap_used_gb=gb(sw.used),
                           swap_free_gb=gb(sw.free))
            if sw.total:
                statuses.append(self.grade(swap_percent))
            message += f", swap {swap_percent:.1f}%"
        status = worst(statuses)
        return self.result(status, f"{message} ({status.value})", metrics)
