"""What the agent posts (``CheckBatchIn``), what we keep (``CheckRun``,
``Host``), and what the API answers.

``CheckBatchIn`` is the server's side of the contract with the agent's own
payload model (agent/signalfire_agent/models.py); tests/functional/
test_checks_contract.py proves what the agent sends is what this accepts.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator

from signalfire.models import Model

#: The seed's CHECKER_REGISTRY names (the agent's checkers).
CHECKERS = ("cpu", "memory", "disk", "disk_common", "disk_linux", "disk_macos", "network", "process")
SCHEMA_VERSION = 1
#: host names: letters, digits and . _ - : (IPv6), up to DNS's 253
_HOSTNAME = re.compile(r"^[A-Za-z0-9:][A-Za-z0-9._:-]{0,252}$")


class CheckStatus(StrEnum):
    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"
    UNKNOWN = "unknown"

    @property
    def rank(self) -> int:
        return {"ok": 0, "unknown": 1, "warning": 2, "critical": 3}[self.value]

    @property
    def has_issue(self) -> bool:
        return self in (CheckStatus.WARNING, CheckStatus.CRITICAL)


def worst(statuses: list[CheckStatus]) -> CheckStatus:
    return max(statuses, key=lambda s: s.rank) if statuses else CheckStatus.UNKNOWN


class _Strict(Model):
    model_config = ConfigDict(extra="forbid")


class CheckResultIn(_Strict):
    checker_name: Literal["cpu", "memory", "disk", "disk_common", "disk_linux", "disk_macos", "network", "process"]
    status: CheckStatus
    message: str = Field(max_length=4000)
    metrics: dict[str, Any] = Field(default_factory=dict)
    error: str | None = Field(default=None, max_length=4000)
    warning_threshold: float | None = None
    critical_threshold: float | None = None
    duration_ms: float = Field(ge=0)
    executed_at: datetime


class HostIn(Model):
    """Host identity; ``hostname`` is required, the rest is informative."""

    model_config = ConfigDict(extra="allow")
    hostname: str

    @field_validator("hostname")
    @classmethod
    def _hostname(cls, v: str) -> str:
        v = v.strip()
        if not _HOSTNAME.match(v):
            raise ValueError("hostname must be 1-253 characters of letters, digits, '.', '_', '-' or ':'")
        return v


class CheckBatchIn(_Strict):
    schema_version: Literal[1]
    batch_id: str = Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")
    trace_id: str = Field(default="", max_length=64)
    agent_version: str = Field(default="", max_length=40)
    collected_at: datetime
    interval_seconds: float = Field(gt=0, le=86400)
    host: HostIn
    results: list[CheckResultIn] = Field(max_length=len(CHECKERS))
    snapshot: dict[str, Any] | None = None
    dropped_batches: int = Field(default=0, ge=0)

    @field_validator("results")
    @classmethod
    def _one_result_per_checker(cls, v: list[CheckResultIn]) -> list[CheckResultIn]:
        names = [r.checker_name for r in v]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"one result per checker per batch; repeated: {', '.join(twice)}")
        return v


class CheckRun(Model):
    """Seed CheckRun: the audit record of one checker's run on one host."""

    id: str
    checker_name: str
    hostname: str
    status: CheckStatus
    message: str = ""
    metrics: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    warning_threshold: float | None = None
    critical_threshold: float | None = None
    alert_id: str | None = None  # seed: alert (the alert this run created or updated)
    duration_ms: float = 0.0
    executed_at: datetime
    trace_id: str = ""
    batch_id: str = ""

    @property
    def is_ok(self) -> bool:
        return self.status is CheckStatus.OK

    @property
    def is_critical(self) -> bool:
        return self.status is CheckStatus.CRITICAL

    @property
    def has_issue(self) -> bool:
        return self.status.has_issue

    @property
    def created_alert(self) -> bool:
        return self.alert_id is not None


class Host(Model):
    """What we know about one agent host (``GET /hosts/{hostname}``)."""

    hostname: str
    first_seen: datetime
    last_seen: datetime
    last_collected_at: datetime
    interval_seconds: float
    status: str  # worst latest result, or "silent"
    silent: bool = False
    silent_since: datetime | None = None
    agent_version: str = ""
    identity: dict[str, Any] = Field(default_factory=dict)
    dropped_batches_total: int = 0
    batches_received: int = 0
    #: checker -> alert id of the alert its results currently keep firing
    alerting: dict[str, str] = Field(default_factory=dict)
    #: checker -> executed_at (ISO) and status of the latest result kept
    latest_at: dict[str, str] = Field(default_factory=dict)
    statuses: dict[str, str] = Field(default_factory=dict)
    #: the HostSilent alert raised for this host while it is silent
    silent_alert_id: str | None = None
    recent_batch_ids: list[str] = Field(default_factory=list)
    version: int = 0


class HostSummary(Model):
    """One host in ``GET /hosts``: its state without the history."""

    hostname: str
    last_seen: str | None  # ISO, as timeutil.iso renders it
    interval_seconds: float
    status: str  # worst latest result, or "silent"
    silent: bool
    stale: bool
    age_seconds: float
    agent_version: str
    #: checker -> status of the latest result
    checks: dict[str, str]
    #: the checkers whose results currently keep an alert firing
    alerting: list[str]


class HostDetail(Model):
    host: Host
    checks: dict[str, CheckRun] = Field(default_factory=dict)
    snapshot: dict[str, Any] | None = None
    snapshot_at: datetime | None = None
    #: seconds since the host last reported, and whether that is too long
    age_seconds: float = 0.0
    stale: bool = False


class CheckInAccepted(Model):
    status: Literal["accepted", "duplicate"]
    batch_id: str
    hostname: str
    checks_stored: int = 0
    alerts: list[dict[str, Any]] = Field(default_factory=list)
    run_ids: list[str] = Field(default_factory=list)
    host_recovered: bool = False
