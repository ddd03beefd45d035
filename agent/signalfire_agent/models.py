"""The agent's own payload model: plain dataclasses, no pydantic.

What the agent posts to ``POST {api_url}/checks/`` is exactly
``Batch.to_dict()``.  The server validates it with its own pydantic model
(``signalfire.checks.models.CheckBatchIn``); a contract test in the server's
suite proves the two agree (tests/functional/test_checks_contract.py).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field
from enum import StrEnum
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


@dataclass
class CheckResult:
    """Seed CheckResult plus what a CheckRun records (thresholds, duration, time)."""

    checker_name: str
    status: CheckStatus
    message: str
    metrics: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    warning_threshold: float | None = None
    critical_threshold: float | None = None
    duration_ms: float = 0.0
    executed_at: float = 0.0  # epoch seconds

    def is_ok(self) -> bool:
        return self.status is CheckStatus.OK

    def is_critical(self) -> bool:
        return self.status is CheckStatus.CRITICAL

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        data["executed_at"] = iso(self.executed_at)
        data["duration_ms"] = round(self.duration_ms, 3)
        return data


def iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch % 1 * 1000):03d}Z"


@dataclass
class Batch:
    """One cycle's report: who, what was measured, and a context snapshot."""

    host: dict[str, Any]
    interval_seconds: float
    results: list[CheckResult]
    snapshot: dict[str, Any] | None = None
    batch_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    trace_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    collected_at: float = field(default_factory=time.time)
    agent_version: str = ""

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
