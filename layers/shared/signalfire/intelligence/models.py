"""The intelligence domain model (seed: "Intelligence App").

Recommendation and its enums are the seed's DTOs; AnalysisRun is the audit
record of one analysis; IntelligenceProvider is a provider configuration
kept as data; HostContext is what the local provider and the prompt read
about a host (the agent's latest snapshot).  A leaf: imports nothing of
signalfire but the alert model and time helpers.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field, field_validator

from signalfire.alerts.models import Alert, Incident
from signalfire.models import Model
from signalfire.redaction import redact
from signalfire.timeutil import utcnow

# Caps on what a model's answer may put in one recommendation: the answer is
# untrusted text and ends up in DynamoDB items and notifications.
MAX_TITLE = 200
MAX_DESCRIPTION = 2000
MAX_ACTIONS = 10
MAX_ACTION = 500
MAX_DETAILS_JSON = 4000
MAX_RECOMMENDATIONS = 10
MAX_SUMMARY = 2000

#: The seed's redaction rule (signalfire.redaction), applied to provider configs.
redact_config = redact


class RecommendationType(StrEnum):
    MEMORY = "memory"
    DISK = "disk"
    CPU = "cpu"
    PROCESS = "process"
    NETWORK = "network"
    GENERAL = "general"


class RecommendationPriority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


def _clip(text: Any, limit: int) -> str:
    s = "" if text is None else str(text)
    return s if len(s) <= limit else s[: limit - 1] + "…"


class Recommendation(Model):
    """One recommendation (seed DTO).  Lenient on input, strict on size: an
    unknown type becomes ``general``, an unknown priority ``medium``, long
    text is clipped."""

    type: RecommendationType
    priority: RecommendationPriority
    title: str = Field(min_length=1)
    description: str = ""
    details: dict[str, Any] = Field(default_factory=dict)
    actions: list[str] = Field(default_factory=list)
    incident_id: str | None = None

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, v: Any) -> RecommendationType:
        try:
            return RecommendationType(str(v).strip().lower())
        except ValueError:
            return RecommendationType.GENERAL

    @field_validator("priority", mode="before")
    @classmethod
    def _priority(cls, v: Any) -> RecommendationPriority:
        try:
            return RecommendationPriority(str(v).strip().lower())
        except ValueError:
            return RecommendationPriority.MEDIUM

    @field_validator("title", mode="before")
    @classmethod
    def _title(cls, v: Any) -> str:
        return _clip(v, MAX_TITLE).strip()

    @field_validator("description", mode="before")
    @classmethod
    def _description(cls, v: Any) -> str:
        return _clip(v, MAX_DESCRIPTION)

    @field_validator("actions", mode="before")
    @classmethod
    def _actions(cls, v: Any) -> list[str]:
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list):
            return []
        return [_clip(a, MAX_ACTION) for a in v[:MAX_ACTIONS] if a not in (None, "")]

    @field_validator("details", mode="before")
    @classmethod
    def _details(cls, v: Any) -> dict[str, Any]:
        if not isinstance(v, dict):
            return {} if v in (None, "") else {"value": _clip(v, MAX_DETAILS_JSON)}
        text = json.dumps(v, default=str)
        if len(text) > MAX_DETAILS_JSON:
            return {"truncated": True, "preview": text[:MAX_DETAILS_JSON]}
        return json.loads(text)  # plain JSON types only (no floats DynamoDB cannot hold as-is)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class Analysis(Model):
    """What a provider concluded: the answer shape every provider returns."""

    summary: str = ""
    probable_cause: str = ""
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    recommendations: list[Recommendation] = Field(default_factory=list)

    @field_validator("summary", "probable_cause", mode="before")
    @classmethod
    def _text(cls, v: Any) -> str:
        return _clip(v, MAX_SUMMARY)

    @field_validator("confidence", mode="before")
    @classmethod
    def _confidence(cls, v: Any) -> float | None:
        if v in (None, ""):
            return None
        try:
            f = float(v)
        except (TypeError, ValueError):
            return None
        if f > 1.0 and f <= 100.0:  # a percentage
            f = f / 100.0
        return min(1.0, max(0.0, f))

    @field_validator("recommendations", mode="before")
    @classmethod
    def _cap(cls, v: Any) -> Any:
        return v[:MAX_RECOMMENDATIONS] if isinstance(v, list) else v

    @property
    def actions(self) -> list[str]:
        return list(self.recommendations[0].actions) if self.recommendations else []


class Usage(Model):
    """Token counts as the vendor reported them (None when it did not)."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None

    @classmethod
    def of(cls, prompt: Any, completion: Any, total: Any = None) -> Usage:
        p = int(prompt) if isinstance(prompt, int | float) else None
        c = int(completion) if isinstance(completion, int | float) else None
        t = int(total) if isinstance(total, int | float) else (p + c if p is not None and c is not None else None)
        return cls(prompt_tokens=p, completion_tokens=c, total_tokens=t)


# --- host context (read from the agent's latest snapshot) -------------------------------


class ProcessInfo(Model):
    pid: int | None = None
    name: str = ""
    user: str = ""
    cpu_percent: float | None = None
    memory_percent: float | None = None
    memory_mb: float | None = None
    cmdline: str = ""


class DiskUsage(Model):
    path: str
    percent: float | None = None
    total_gb: float | None = None
    used_gb: float | None = None
    free_gb: float | None = None


class PathSize(Model):
    path: str
    size_mb: float | None = None
    age_days: float | None = None


class HostContext(Model):
    """What the server knows about one host from the agent's latest report.

    The interface the analysis reads (see ``intelligence/hosts.py``); the
    agent's snapshot store is adapted onto it."""

    hostname: str
    reported_at: datetime | None = None
    stale: bool = False
    cpu_percent: float | None = None
    load_average: list[float] = Field(default_factory=list)
    memory_percent: float | None = None
    memory_total_mb: float | None = None
    memory_available_mb: float | None = None
    swap_percent: float | None = None
    top_memory: list[ProcessInfo] = Field(default_factory=list)
    top_cpu: list[ProcessInfo] = Field(default_factory=list)
    disks: list[DiskUsage] = Field(default_factory=list)
    space_hogs: list[PathSize] = Field(default_factory=list)
    old_files: list[PathSize] = Field(default_factory=list)
    large_files: list[PathSize] = Field(default_factory=list)
    #: checker name -> {"status", "message"} of the latest results
    checks: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @property
    def has_data(self) -> bool:
        return bool(self.checks or self.top_memory or self.top_cpu or self.disks or self.space_hogs
                    or self.memory_percent is not None or self.cpu_percent is not None)


class AnalysisRequest(Model):
    """Everything one analysis looks at."""

    incident: Incident | None = None
    alerts: list[Alert] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    hosts: list[HostContext] = Field(default_factory=list)
    #: hosts the alerts name that have no snapshot
    hosts_without_data: list[str] = Field(default_factory=list)
    #: failing checks from an earlier check stage of the same run
    checks: list[dict[str, Any]] = Field(default_factory=list)
    analysis_type: str = "incident"

    @property
    def incident_id(self) -> str | None:
        return self.incident.id if self.incident else None


# --- stored records ---------------------------------------------------------------------


class HostAnalysis(Model):
    """``GET /intelligence/memory`` and ``/disk``: a host's snapshot read by the local provider."""

    hostname: str
    analysis_type: Literal["memory", "disk"]
    reported_at: str | None  # ISO 8601, as the agent's snapshot was stored
    stale: bool
    recommendations: list[dict[str, Any]]


class MemoryAnalysis(HostAnalysis):
    memory_percent: float | None
    memory_total_mb: float | None
    memory_available_mb: float | None
    swap_percent: float | None
    top_processes: list[dict[str, Any]]


class DiskAnalysis(HostAnalysis):
    disks: list[dict[str, Any]]
    space_hogs: list[dict[str, Any]]
    old_files: list[dict[str, Any]]
    large_files: list[dict[str, Any]]


class AnalysisStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class AnalysisRun(Model):
    """Audit record of one analysis (seed: AnalysisRun, every field)."""

    id: str
    trace_id: str = ""
    pipeline_run_id: str = ""
    provider: str  # the provider type used ("openai", "local", ...)
    provider_name: str = ""  # the configured IntelligenceProvider's name, if any
    provider_config: dict[str, Any] = Field(default_factory=dict)  # redacted
    model_name: str = ""
    status: AnalysisStatus = AnalysisStatus.PENDING
    error_message: str = ""
    error_type: str = ""
    fallback_used: bool = False
    incident_id: str | None = None
    input_summary: str = ""
    checker_output_ref: str = ""
    recommendations: list[dict[str, Any]] = Field(default_factory=list)
    recommendations_count: int = 0
    summary: str = ""
    probable_cause: str = ""
    confidence: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    completed_at: datetime | None = None
    duration_ms: float = 0.0

    def mark_started(self) -> None:
        self.status = AnalysisStatus.RUNNING
        self.started_at = utcnow()

    def _finish(self) -> None:
        self.completed_at = utcnow()
        if self.started_at:
            self.duration_ms = round((self.completed_at - self.started_at).total_seconds() * 1000, 1)

    def mark_succeeded(self, analysis: Analysis, usage: Usage | None = None) -> None:
        self.status = AnalysisStatus.SUCCEEDED
        self.summary = analysis.summary
        self.probable_cause = analysis.probable_cause
        self.confidence = analysis.confidence
        self.recommendations = [r.to_dict() for r in analysis.recommendations]
        self.recommendations_count = len(analysis.recommendations)
        if usage:
            self.prompt_tokens, self.completion_tokens, self.total_tokens = (
                usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)
        self._finish()

    def mark_failed(self, error: BaseException, usage: Usage | None = None) -> None:
        self.status = AnalysisStatus.FAILED
        self.error_type = type(error).__name__
        self.error_message = _clip(getattr(error, "message", None) or str(error), 2000)
        if usage:
            self.prompt_tokens, self.completion_tokens, self.total_tokens = (
                usage.prompt_tokens, usage.completion_tokens, usage.total_tokens)
        self._finish()


class IntelligenceProvider(Model):
    """A provider configuration kept as data (seed: IntelligenceProvider)."""

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    provider: str
    config: dict[str, Any] = Field(default_factory=dict)
    is_active: bool = False
    description: str = Field(default="", max_length=2000)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    def public(self) -> dict[str, Any]:
        """The shape an API answer or a log line may carry: keys redacted."""
        data = self.model_dump(mode="json")
        data["config"] = redact_config(self.config)
        return data


class AnalysisHistory(Model):
    """``GET /intelligence/recommendations``: an incident's stored analyses, newest first."""

    incident_id: str
    items: list[AnalysisRun]
    count: int
