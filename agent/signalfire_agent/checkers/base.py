"""BaseChecker (seed): name, timeout, thresholds, enabled; ``check()`` measures,
``run()`` times it and turns a crash into an UNKNOWN result with the error."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod

from signalfire_agent.models import CheckResult, CheckStatus

TYPE_CHECKING = False
if TYPE_CHECKING:  # not imported at run time: typing costs 0.4 MB resident (docs/agent.md)
    from typing import Any, ClassVar



class ConfigError(ValueError):
    """A checker setting that cannot be used; the message names the key."""


class BaseChecker(ABC):
    name: ClassVar[str] = "base"
    #: directory-walking scanners run on the slower ``scan_interval`` schedule
    slow: ClassVar[bool] = False
    default_warning: ClassVar[float] = 70.0
    default_critical: ClassVar[float] = 90.0
    #: inverted: the measured value is "how much is fine" (network, process), lower is worse
    inverted: ClassVar[bool] = False
    #: checker-specific settings and their defaults (seed config keys)
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, **settings: Any) -> None:
        self.timeout = float(settings.pop("timeout", 10.0))
        self.enabled = bool(settings.pop("enabled", True))
        self.warning_threshold = _number(settings.pop("warning_threshold", self.default_warning), "warning_threshold")
        self.critical_threshold = _number(settings.pop("critical_threshold", self.default_critical),
                                          "critical_threshold")
        unknown = sorted(set(settings) - set(self.defaults))
        if unknown:
            known = ", ".join(sorted({"timeout", "enabled", "warning_threshold", "critical_threshold",
                                      *self.defaults}))
            raise ConfigError(f"checker {self.name!r}: unknown setting(s) {', '.join(unknown)}; known: {known}")
        self.settings = {**self.defaults, **settings}

    @abstractmethod
    def check(self) -> CheckResult:
        """Measure and decide; may raise, ``run`` turns that into UNKNOWN."""

    def run(self) -> CheckResult:
        started = time.time()
        t0 = time.perf_counter()
        try:
            result = self.check()
        except Exception as exc:  # a checker must never take the agent down
            result = self.result(CheckStatus.UNKNOWN, f"{self.name} check failed: {exc}", error=repr(exc))
        result.duration_ms = (time.perf_counter() - t0) * 1000
        result.executed_at = started
        return result

    def result(self, status: CheckStatus, message: str, metrics: dict[str, Any] | None = None,
               error: str | None = None) -> CheckResult:
        return CheckResult(checker_name=self.name, status=status, message=message, metrics=metrics or {},
                           error=error, warning_threshold=self.warning_threshold,
                           critical_threshold=self.critical_threshold)

    def grade(self, value: float) -> CheckStatus:
        """Status of ``value`` against the thresholds (inverted checkers: below is bad)."""
        if self.inverted:
            if value < self.critical_threshold:
                return CheckStatus.CRITICAL
            if value < self.warning_threshold:
                return CheckStatus.WARNING
            return CheckStatus.OK
        if value >= self.critical_threshold:
            return CheckStatus.CRITICAL
        if value >= self.warning_threshold:
            return CheckStatus.WARNING
        return CheckStatus.OK


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{key} must be a number, got {value!r}")
    return float(value)


def gb(n: float) -> float:
    return round(n / 1024**3, 2)
