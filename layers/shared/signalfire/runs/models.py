"""Run and stage records (seed: PipelineRun, StageExecution)."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field, computed_field

from signalfire import errors
from signalfire.models import Model
from signalfire.timeutil import parse_time


class RunStatus(StrEnum):
    PENDING = "PENDING"
    INGESTED = "INGESTED"
    CHECKED = "CHECKED"
    ANALYZED = "ANALYZED"
    NOTIFIED = "NOTIFIED"
    FAILED = "FAILED"
    RETRYING = "RETRYING"
    SKIPPED = "SKIPPED"


class StageStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    RETRYING = "RETRYING"
    SKIPPED = "SKIPPED"


#: The stage name (seed: INGEST, CHECK, ANALYZE, NOTIFY) of each node type, and
#: the run status a successful stage moves the run to.
STAGE_OF_NODE = {"context": "CHECK", "intelligence": "ANALYZE", "notify": "NOTIFY", "transform": "TRANSFORM"}
STATUS_AFTER = {"CHECK": RunStatus.CHECKED, "ANALYZE": RunStatus.ANALYZED, "NOTIFY": RunStatus.NOTIFIED}
OUTPUT_REF_FIELD = {"CHECK": "checker_output_ref", "ANALYZE": "intelligence_output_ref", "NOTIFY": "notify_output_ref"}


class PipelineRun(Model):
    run_id: str
    trace_id: str
    status: RunStatus = RunStatus.PENDING
    #: The furthest of INGESTED/CHECKED/ANALYZED/NOTIFIED reached; ``status`` returns
    #: to it after a RETRYING spell.
    progress_status: RunStatus = RunStatus.INGESTED
    outcome: str = ""  # COMPLETED / FAILED / SKIPPED once the execution ends
    current_stage: str | None = None
    incident_id: str | None = None
    source: str = ""
    alert_fingerprint: str = ""
    environment: str = "production"
    trigger: str = ""  # created / escalated / resolved
    pipeline_name: str = ""
    pipeline_version: int = 0
    nodes: list[dict[str, Any]] = Field(default_factory=list)
    normalized_payload_ref: str = ""
    checker_output_ref: str = ""
    intelligence_output_ref: str = ""
    notify_output_ref: str = ""
    intelligence_fallback_used: bool = False
    total_attempts: int = 0
    max_retries: int = 3
    resume_count: int = 0
    #: Attempts each node made before the latest resume: a resumed stage's
    #: attempt numbers continue after them (Step Functions' RetryCount restarts at 0).
    attempt_base: dict[str, int] = Field(default_factory=dict)
    failed_index: int | None = None
    current_index: int | None = None
    skip_reason: str = ""
    execution_name: str = ""
    last_error_type: str = ""
    last_error_message: str = ""
    last_error_retryable: bool | None = None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None

    @property
    def total_duration_ms(self) -> float | None:
        if self.started_at and self.completed_at:
            return round((self.completed_at - self.started_at).total_seconds() * 1000, 1)
        return None


    @classmethod
    def from_item(cls, item: dict[str, Any]) -> PipelineRun:
        data = {k: v for k, v in item.items() if k in cls.model_fields}
        cause = item.get("last_error_cause")
        if cause and not data.get("last_error_message"):
            data["last_error_message"] = _error_message(cause)
        if data.get("last_error_retryable") is None and data.get("last_error_type"):
            data["last_error_retryable"] = _retryable_name(data["last_error_type"])
        for key in ("started_at", "completed_at"):
            if isinstance(data.get(key), str):
                data[key] = parse_time(data[key])
        return cls.model_validate(data)


class RunView(PipelineRun):
    """A run as the API shows it: the record and its total duration."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_duration_ms(self) -> float | None:
        return super().total_duration_ms

    @classmethod
    def of(cls, run: PipelineRun) -> RunView:
        return cls.model_validate(dict(run))


def _error_message(cause: str) -> str:
    """Step Functions gives a Lambda error's cause as the JSON error payload."""
    try:
        payload = json.loads(cause)
    except ValueError:
        return cause[:2000]
    if isinstance(payload, dict):
        return str(payload.get("errorMessage") or payload.get("message") or cause)[:2000]
    return cause[:2000]


def _retryable_name(error_type: str) -> bool:
    found = getattr(errors, error_type, None)
    if isinstance(found, type) and issubclass(found, errors.SignalfireError):
        return found.retryable
    return error_type.startswith("Lambda.") or error_type in ("States.Timeout", "States.TaskFailed")


class StageExecution(Model):
    run_id: str
    trace_id: str = ""
    index: int
    node_id: str
    node_type: str
    stage: str
    status: StageStatus
    attempt: int = 1
    idempotency_key: str
    input_ref: str = ""
    output_ref: str = ""
    output_snapshot: dict[str, Any] = Field(default_factory=dict)
    error_type: str = ""
    error_message: str = ""
    error_stack: str = ""
    error_retryable: bool | None = None
    fallback: bool = False
    started_at: datetime
    completed_at: datetime | None = None
    duration_ms: float | None = None
