"""The agent's own payload model: plain classes, no pydantic.

What the agent posts to ``POST {api_url}/checks/`` is exactly
``Batch.to_dict()``.  The server validates it with its own pydantic model
(``signalfire.checks.models.CheckBatchIn``); a contract test in the server's
suite proves the two agree (tests/functional/test_checks_contract.py).
"""

from __future__ import annotations

import os
import time
from enum import StrEnum

TYPE_CHECKING = False
if TYPE_CHECKING:  # not imported at run time: typing costs 0.4 MB resident (docs/agent.md)
    from typing import Any


#: Bumped when the payload changes shape; the server refuses versions it does not know.
SCHEMA_VERSION = 1


class CheckStatus(StrEnum):
    """Seed CheckStatus: OK, WARNING, CRITICAL, UNKNOWN (lower-case on the wire)."""

    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"
    UNKNOWN = "unknown"

    @property
    def rank(self) -> int:
        return {"ok": 0, "unknown": 1, "warning": 2, "critical": 3}[self.value]


def worst(statuses: list[CheckStatus]) -> CheckStatus:
    return max(statuses, key=lambda s: s.rank) if statuses else CheckStatus.OK


class CheckResult:
    """Seed CheckResult plus what a CheckRun records (thresholds, duration, time).

    A plain class, not a dataclass: ``dataclasses`` imports ``inspect``, about
    1 MB of resident memory the agent does not need (docs/agent.md)."""

    __slots__ = ("checker_name", "status", "message", "metrics", "error", "warning_threshold",
                 "critical_threshold", "duration_ms", "executed_at")

    def __init__(self, checker_name: str, status: CheckStatus, message: str, metrics: dict[str, Any] | None = None,
                 error: str | None = None, warning_threshold: float | None = None,
                 critical_threshold: float | None = None, duration_ms: float = 0.0, executed_at: float = 0.0) -> None:
        self.checker_name = checker_name
        self.status = status
        self.message = message
        self.metrics = metrics if metrics is not None else {}
        self.error = error
        self.warning_threshold = warning_threshold
        self.critical_threshold = critical_threshold
        self.duration_ms = duration_ms
        self.executed_at = executed_at  # epoch seconds

    def is_ok(self) -> bool:
        return self.status is CheckStatus.OK

    def is_critical(self) -> bool:
        return self.status is CheckStatus.CRITICAL

    def raw(self) -> dict[str, Any]:
        """Every field as is (epoch time, enum value): for handing results between processes."""
        return {k: getattr(self, k) for k in self.__slots__} | {"status": self.status.value}

    @classmethod
    def from_raw(cls, data: dict[str, Any]) -> CheckResult:
        return cls(**{**data, "status": CheckStatus(data["status"])})

    def to_dict(self) -> dict[str, Any]:
        return {"checker_name": self.checker_name, "status": self.status.value, "message": self.message,
                "metrics": self.metrics, "error": self.error, "warning_threshold": self.warning_threshold,
                "critical_threshold": self.critical_threshold, "duration_ms": round(self.duration_ms, 3),
                "executed_at": iso(self.executed_at)}


def iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch % 1 * 1000):03d}Z"


class Batch:
    """One cycle's report: who, what was measured, and a context snapshot."""

    def __init__(self, host: dict[str, Any], interval_seconds: float, results: list[CheckResult],
                 snapshot: dict[str, Any] | None = None, collected_at: float | None = None,
                 agent_version: str = "") -> None:
        self.host = host
        self.interval_seconds = interval_seconds
        self.results = results
        self.snapshot = snapshot
        self.batch_id = os.urandom(16).hex()
        self.trace_id = os.urandom(16).hex()
        self.collected_at = time.time() if collected_at is None else collected_at
        self.agent_version = agent_version

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "batch_id": self.batch_id,
            "trace_id": self.trace_id,
            "agent_version": self.agent_version,
            "collected_at": iso(self.collected_at),
            "interval_seconds": self.interval_seconds,
            "host": self.host,
            "results": [r.to_dict() for r in self.results],
            "snapshot": self.snapshot,
            # filled in at send time from the spool's counter (see spool.py)
            "dropped_batches": 0,
        }
