"""CPUChecker (seed): config ``samples`` (5), ``sample_interval`` (1.0 s),
``per_cpu`` (False); thresholds 70 / 90 %.

The agent does not block for ``samples x sample_interval`` seconds: CPU use is
computed from ``psutil.cpu_times()`` deltas across the interval between two
cycles, so every second of that interval counts.  ``cpu_percent`` is the last
interval; ``cpu_min`` / ``cpu_max`` span the last ``samples`` intervals.  Only
the very first measurement of a process with no saved state waits
``sample_interval`` once (``signalfire-agent run --once`` under cron saves the
counters in the spool directory, so the next run measures across the cron
period instead).
"""

from __future__ import annotations

import time
from collections import deque

import psutil

from signalfire_agent.checkers.base import BaseChecker
from signalfire_agent.models import CheckResult

TYPE_CHECKING = False
if TYPE_CHECKING:  # not imported at run time: typing costs 0.4 MB resident (docs/agent.md)
    from collections.abc import Callable, Sequence
    from typing import Any


#: (busy, total) seconds for the whole machine and for each CPU
Counters = tuple[tuple[float, float], list[tuple[float, float]]]


def _busy_total(t: Any) -> tuple[float, float]:
    # same accounting as psutil.cpu_percent: iowait counts as idle, guest time
    # is already inside user/nice on Linux
    fields = t._asdict() if hasattr(t, "_asdict") else dict(t)
    total = sum(fields.values()) - fields.get("guest", 0.0) - fields.get("guest_nice", 0.0)
    idle = fields.get("idle", 0.0) + fields.get("iowait", 0.0)
    return total - idle, total


def read_counters() -> Counters:
    return _busy_total(psutil.cpu_times()), [_busy_total(t) for t in psutil.cpu_times(percpu=True)]


def _percent(before: tuple[float, float], after: tuple[float, float]) -> float:
    busy, total = after[0] - before[0], after[1] - before[1]
    if total <= 0:
        return 0.0
    return round(min(100.0, max(0.0, busy / total * 100)), 1)


class CPUChecker(BaseChecker):
    name = "cpu"
    defaults = {"samples": 5, "sample_interval": 1.0, "per_cpu": False}

    def __init__(self, counters: Callable[[], Counters] = read_counters,
                 sleep: Callable[[float], None] = time.sleep, **settings: Any) -> None:
        super().__init__(**settings)
        self._counters = counters
        self._sleep = sleep
        self._last: Counters | None = None
        self._window: deque[float] = deque(maxlen=max(1, int(self.settings["samples"])))

    def check(self) -> CheckResult:
        now = self._counters()
        if self._last is None:
            self._sleep(float(self.settings["sample_interval"]))
            self._last, now = now, self._counters()
        before, self._last = self._last, now
        percent = _percent(before[0], now[0])
        self._window.append(percent)
        metrics: dict[str, Any] = {
            "cpu_percent": percent, "cpu_min": min(self._window), "cpu_max": max(self._window),
            "samples": len(self._window), "cpu_count": len(now[1]) or psutil.cpu_count() or 1,
        }
        if self.settings["per_cpu"]:
            metrics["per_cpu_percent"] = [_percent(b, a) for b, a in zip(before[1], now[1], strict=False)]
        status = self.grade(percent)
        return self.result(status, f"CPU usage {percent:.1f}% ({status.value})", metrics)

    # -- state kept between `run --once` invocations (cron) -----------------
    def state(self) -> dict[str, Any]:
        return {"last": self._last, "window": list(self._window)} if self._last else {}

    def restore(self, state: dict[str, Any]) -> None:
        last: Sequence[Any] | None = state.get("last")
        if last and len(last) == 2:
            self._last = (tuple(last[0]), [tuple(x) for x in last[1]])  # type: ignore[assignment]
            self._window.extend(float(x) for x in state.get("window", []))
