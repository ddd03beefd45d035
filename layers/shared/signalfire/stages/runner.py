"""The frame every stage runs in: attempt bookkeeping, StageExecution
records, output storage, run status and signals.  Stage logic stays small."""

from __future__ import annotations

import json
import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from signalfire import services
from signalfire.alerts.models import Alert, Incident
from signalfire.errors import ConfigurationError, RetriesExhaustedError, SignalfireError, StageRetryableError
from signalfire.observability import logger
from signalfire.pipelines.compile import FALLBACK_FIELD, MAX_RETRIES_FIELD
from signalfire.redaction import redact
from signalfire.runs import signals
from signalfire.runs.models import (
    OUTPUT_REF_FIELD,
    STAGE_OF_NODE,
    STATUS_AFTER,
    PipelineRun,
    RunStatus,
    StageExecution,
    StageStatus,
)
from signalfire.runs.store import output_ref
from signalfire.timeutil import iso, utcnow

SNAPSHOT_LIMIT = 4000


class StageRequest(BaseModel):
    """The Lambda payload the state machine sends (see statemachine/pipeline.asl.json)."""

    run_id: str
    trace_id: str
    incident_id: str | None = None
    pipeline: dict[str, Any] = {}
    index: int
    count: int = 0
    node: dict[str, Any]
    #: node id -> claim-check reference of each earlier node's output (``RUN#<id>/OUT#<node>``)
    outputs: dict[str, str] = {}
    attempt: int = 0  # $$.State.RetryCount: 0 on the first attempt
    #: the Retry MaxAttempts of the state that invoked this stage (both are ${StageMaxRetries})
    max_retries: int = 0
    execution: str = ""
    provider: str | None = None
    fallback: bool = False
    primary_error: dict[str, Any] | None = None


@dataclass
class StageContext:
    request: StageRequest
    run: PipelineRun
    incident: Incident | None
    alerts: list[Alert]
    outputs: dict[str, dict[str, Any]]
    attempt: int

    @property
    def node_id(self) -> str:
        return str(self.request.node.get("id", ""))

    @property
    def config(self) -> dict[str, Any]:
        return dict(self.request.node.get("config") or {})


@dataclass
class StageOutcome:
    output: dict[str, Any]
    skipped: bool = False
    reason: str = ""
    run_fields: dict[str, Any] = field(default_factory=dict)


def snapshot(output: dict[str, Any]) -> dict[str, Any]:
    safe = redact(output)
    text = json.dumps(safe, default=str)
    if len(text) <= SNAPSHOT_LIMIT:
        return safe
    return {"truncated": True, "preview": text[:SNAPSHOT_LIMIT]}


#: Node config keys that inject faults (tests and local mode only; see docs/state-machine.md).
FAULT_KEYS = ("fault", "fail_times", "always_fail")


def fault_injection_enabled() -> bool:
    """Faults are honoured only in local mode or when a test sets SIGNALFIRE_FAULT_INJECTION=true."""
    return any(os.environ.get(v, "").lower() == "true" for v in ("SIGNALFIRE_LOCAL", "SIGNALFIRE_FAULT_INJECTION"))


def inject_fault(config: dict[str, Any], attempt: int) -> None:
    """Fail this attempt on purpose when the node config asks for it.

    ``{"fail_times": N}`` fails the first N attempts with StageRetryableError,
    ``{"always_fail": true}`` fails every attempt; the long form
    ``{"fault": {"fail_times": N | "always": true | "while_file_exists": path,
    "error": "config"}}`` also exists ("config" raises ConfigurationError,
    which is never retried)."""
    fault = dict(config.get("fault") or {})
    if "fail_times" in config:
        fault.setdefault("fail_times", config["fail_times"])
    if config.get("always_fail"):
        fault.setdefault("always", True)
    if not fault or not fault_injection_enabled():
        return
    error = ConfigurationError if fault.get("error") == "config" else StageRetryableError
    if fault.get("always"):
        raise error(f"injected fault (always), attempt {attempt}")
    if attempt <= int(fault.get("fail_times") or 0):
        raise error(f"injected fault, attempt {attempt} of the first {fault['fail_times']}")
    path = fault.get("while_file_exists")
    if path and os.path.exists(path):
        raise error(f"injected fault: {path} exists")


def _input_ref(run: PipelineRun, index: int) -> str:
    """What this stage reads first: the previous node's output, or the ingest result."""
    if index > 0 and index - 1 < len(run.nodes):
        return output_ref(run.run_id, str(run.nodes[index - 1].get("id", "")))
    return run.normalized_payload_ref


def _load_outputs(req: StageRequest, run: PipelineRun) -> dict[str, dict[str, Any]]:
    """The ingest result and the outputs the state machine hands this stage by
    reference (claim check): only what the execution has produced so far, or,
    for a resumed run, what the nodes before the failed one stored."""
    refs: dict[str, str] = {}
    if run.normalized_payload_ref:
        refs["ingest"] = run.normalized_payload_ref
    refs.update(req.outputs)
    return services.run_store().get_outputs(refs)


def _load_context(req: StageRequest, run: PipelineRun, attempt: int) -> StageContext:
    store = services.alert_store()
    incident = store.get_incident(req.incident_id) if req.incident_id else None
    alerts = store.incident_alerts(req.incident_id) if req.incident_id else []
    return StageContext(request=req, run=run, incident=incident, alerts=alerts,
                        outputs=_load_outputs(req, run), attempt=attempt)


def _fallback_follows(req: StageRequest) -> bool:
    """An intelligence node's failure is not the run's end when the state
    machine will answer it with the local provider."""
    return req.node.get(FALLBACK_FIELD) is True and not req.fallback


def retry_cap(req: StageRequest) -> int:
    """The retries this node may have: its pipeline's ``defaults.max_retries``
    (carried on the compiled node), never more than the ASL's Retry
    MaxAttempts (``req.max_retries``, the deployment's StageMaxRetries)."""
    own = req.node.get(MAX_RETRIES_FIELD)
    return min(own, req.max_retries) if isinstance(own, int) and not isinstance(own, bool) else req.max_retries


def _past_cap(exc: Exception, req: StageRequest, tries: int) -> Exception:
    """A retryable failure on the pipeline's last allowed attempt becomes the
    final one (RetriesExhaustedError, not retryable), so the ASL, whose
    MaxAttempts is static, does not try again.  Anything else is unchanged."""
    cap = retry_cap(req)
    if not getattr(exc, "retryable", False) or cap >= req.max_retries or tries <= cap:
        return exc
    message = exc.message if isinstance(exc, SignalfireError) else str(exc)
    return RetriesExhaustedError(
        f"{type(exc).__name__} on attempt {tries}, the last the pipeline's max_retries={cap} allows: {message}",
        details={"node": req.node.get("id"), "max_retries": cap, "cause": type(exc).__name__})


def run_stage(payload: dict[str, Any], logic: Callable[[StageContext], StageOutcome]) -> dict[str, Any]:
    try:
        req = StageRequest.model_validate(payload)
    except ValidationError as exc:
        raise ConfigurationError(f"stage payload is malformed: {exc.errors()[0]['msg']}") from None
    node_type = str(req.node.get("type", ""))
    stage = STAGE_OF_NODE.get(node_type)
    if stage is None:
        raise ConfigurationError(f"node {req.node.get('id')!r} has type {node_type!r}, which no stage runs")
    runs = services.run_store()
    run = runs.get_run(req.run_id)
    node_id = str(req.node.get("id", ""))
    tries = req.attempt + 1  # this execution's attempt at the node ($$.State.RetryCount + 1)
    attempt = tries if req.fallback else tries + run.attempt_base.get(node_id, 0)  # continues after a resume
    logger.append_keys(trace_id=req.trace_id, run_id=req.run_id, stage=stage, node_id=node_id, attempt=attempt)
    tags = signals.SignalTags(trace_id=req.trace_id, run_id=req.run_id, stage=stage, incident_id=req.incident_id,
                              source=run.source, alert_fingerprint=run.alert_fingerprint,
                              environment=run.environment, attempt=attempt,
                              extra={"node_id": node_id, "pipeline": run.pipeline_name})
    if tries > 1:
        signals.emit(signals.STAGE_RETRYING, tags)
    signals.emit(signals.STAGE_STARTED, tags, fallback=req.fallback)
    started = utcnow()
    t0 = time.perf_counter()
    record = StageExecution(
        run_id=req.run_id, trace_id=req.trace_id, index=req.index, node_id=node_id, node_type=node_type,
        stage=stage, status=StageStatus.RUNNING, attempt=attempt, fallback=req.fallback,
        idempotency_key=f"{req.run_id}:{node_id}:{attempt}{':fallback' if req.fallback else ''}",
        input_ref=_input_ref(run, req.index), started_at=started,
    )
    runs.put_stage(record)
    runs.update_run(req.run_id, {"current_stage": stage, "current_index": req.index,
                                 **({"status": RunStatus.RETRYING.value} if tries > 1 else {})})
    try:
        inject_fault(req.node.get("config") or {}, tries)
        outcome = logic(_load_context(req, run, attempt))
    except Exception as caught:
        failure = _past_cap(caught, req, tries)
        duration = (time.perf_counter() - t0) * 1000
        retryable = bool(getattr(failure, "retryable", False))
        message = failure.message if isinstance(failure, SignalfireError) else str(failure)
        runs.put_stage(record.model_copy(update={
            "status": StageStatus.FAILED, "completed_at": utcnow(), "duration_ms": round(duration, 1),
            "error_type": type(failure).__name__, "error_message": message[:2000],
            "error_stack": traceback.format_exc()[-4000:], "error_retryable": retryable,
        }))
        more = retryable and tries <= req.max_retries
        runs.update_run(req.run_id, {"last_error_type": type(failure).__name__,
                                     "last_error_message": message[:2000],
                                     "last_error_retryable": retryable,
                                     **({"status": RunStatus.RETRYING.value} if more else {})})
        signals.emit(signals.STAGE_FAILED, tags, duration_ms=duration, retryable=retryable,
                     error_type=type(failure).__name__)
        if not more and not _fallback_follows(req):
            signals.emit(signals.PIPELINE_COMPLETED, tags, outcome="FAILED", error_type=type(failure).__name__,
                         completed_at=iso(utcnow()))
        logger.warning("stage failed", extra={"error_type": type(failure).__name__, "reason": message[:500],
                                              "retryable": retryable})
        if failure is not caught:
            raise failure from caught
        raise
    duration = (time.perf_counter() - t0) * 1000
    ref = runs.put_output(req.run_id, req.index, node_id, node_type, outcome.output)
    runs.put_stage(record.model_copy(update={
        "status": StageStatus.SKIPPED if outcome.skipped else StageStatus.SUCCEEDED, "completed_at": utcnow(),
        "duration_ms": round(duration, 1), "output_ref": ref, "output_snapshot": snapshot(outcome.output),
    }))
    fields: dict[str, Any] = {**outcome.run_fields, "last_completed_index": req.index}
    if not outcome.skipped:
        progress = STATUS_AFTER.get(stage, run.progress_status)
        fields.update(status=progress.value, progress_status=progress.value)
    if stage in OUTPUT_REF_FIELD:
        fields[OUTPUT_REF_FIELD[stage]] = ref
    runs.update_run(req.run_id, fields)
    signals.emit(signals.STAGE_SUCCEEDED, tags, duration_ms=duration, skipped=outcome.skipped)
    if outcome.skipped or req.index >= req.count - 1:
        signals.emit(signals.PIPELINE_COMPLETED, tags, outcome="SKIPPED" if outcome.skipped else "COMPLETED",
                     completed_at=iso(utcnow()))
    return {"status": "SKIPPED" if outcome.skipped else "SUCCEEDED", "ref": ref, "entry": {node_id: ref},
            "reason": outcome.reason}
