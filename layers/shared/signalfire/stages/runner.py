"""The frame every stage runs in: attempt bookkeeping, StageExecution
records, output storage, run status and signals.  Stage logic stays small."""

from __future__ import annotations

import json
import os
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from signalfire import deadline, services
from signalfire.alerts.models import Alert, Incident
from signalfire.errors import ConfigurationError, RetriesExhaustedError, SignalfireError, StageRetryableError
from signalfire.models import Model
from signalfire.observability import logger
from signalfire.pipelines.compile import FALLBACK_FIELD, MAX_RETRIES_FIELD, TIMEOUT_FIELD
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
from signalfire.runs.store import output_ref, parse_output_ref
from signalfire.timeutil import iso, utcnow

SNAPSHOT_LIMIT = 4000
#: Kept back from the function's remaining time when a stage's outbound calls
#: are cut, to record the outcome (the delivery, the StageExecution, the run)
#: before Lambda stops the function.
RECORD_MARGIN_SECONDS = 3.0


class StageRequest(Model):
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


def _output_refs(req: StageRequest, run: PipelineRun) -> dict[str, str]:
    """The ingest result and the outputs the state machine hands this stage by
    reference (claim check): only what the execution has produced so far, or,
    for a resumed run, what the nodes before the failed one stored."""
    refs: dict[str, str] = {}
    if run.normalized_payload_ref:
        refs["ingest"] = run.normalized_payload_ref
    refs.update(req.outputs)
    return refs


def _load_context(req: StageRequest, run: PipelineRun, attempt: int) -> StageContext:
    """The incident, its alerts and the stage's inputs: the membership query,
    then one BatchGetItem for the incident, the alerts and the outputs
    (docs/cost.md)."""
    refs, runs = _output_refs(req, run), services.run_store()
    if not req.incident_id:
        return StageContext(request=req, run=run, incident=None, alerts=[], outputs=runs.get_outputs(refs),
                            attempt=attempt)
    keys = [parse_output_ref(ref) for ref in refs.values()]
    incident, alerts, items = services.alert_store().incident_context(req.incident_id, also=keys)
    return StageContext(request=req, run=run, incident=incident, alerts=alerts,
                        outputs=runs.outputs_from(refs, items), attempt=attempt)


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


def stage_deadline(req: StageRequest, remaining_seconds: float | None) -> tuple[float, str] | None:
    """Seconds the attempt's outbound calls (providers, channels) may take, and
    why: the pipeline's ``defaults.timeout_seconds`` (carried on the compiled
    node) or the function's remaining time less RECORD_MARGIN_SECONDS,
    whichever is shorter.  None when neither is known."""
    choices: list[tuple[float, str]] = []
    own = req.node.get(TIMEOUT_FIELD)
    if isinstance(own, int | float) and not isinstance(own, bool) and own > 0:
        choices.append((float(own), f"the pipeline's defaults.timeout_seconds={own:g}"))
    if remaining_seconds is not None:
        choices.append((remaining_seconds - RECORD_MARGIN_SECONDS,
                        f"the function's remaining time ({remaining_seconds:.1f} s) less "
                        f"{RECORD_MARGIN_SECONDS:g} s to record the outcome"))
    return min(choices) if choices else None


@contextmanager
def _deadline_of(req: StageRequest, remaining: Callable[[], float] | None) -> Iterator[None]:
    """The deadline, counted from now (the stage's logic starts)."""
    found = stage_deadline(req, remaining() if remaining is not None else None)
    if found is None:
        yield
        return
    with deadline.within(*found):
        yield


@dataclass
class _Attempt:
    """One attempt at a node, as parsed from the payload and the run record."""

    req: StageRequest
    run: PipelineRun
    stage: str
    node_id: str
    node_type: str
    tries: int  # this execution's attempt at the node ($$.State.RetryCount + 1)
    attempt: int  # the recorded attempt number (continues after a resume)
    tags: signals.SignalTags


def _parse(payload: dict[str, Any]) -> _Attempt:
    """Parse: the payload, the node's stage, the run and the attempt numbers."""
    try:
        req = StageRequest.model_validate(payload)
    except ValidationError as exc:
        raise ConfigurationError(f"stage payload is malformed: {exc.errors()[0]['msg']}") from None
    node_type = str(req.node.get("type", ""))
    stage = STAGE_OF_NODE.get(node_type)
    if stage is None:
        raise ConfigurationError(f"node {req.node.get('id')!r} has type {node_type!r}, which no stage runs")
    run = services.run_store().get_run(req.run_id)
    node_id = str(req.node.get("id", ""))
    tries = req.attempt + 1
    attempt = tries if req.fallback else tries + run.attempt_base.get(node_id, 0)  # continues after a resume
    tags = signals.SignalTags(trace_id=req.trace_id, run_id=req.run_id, stage=stage, incident_id=req.incident_id,
                              source=run.source, alert_fingerprint=run.alert_fingerprint,
                              environment=run.environment, attempt=attempt,
                              extra={"node_id": node_id, "pipeline": run.pipeline_name})
    return _Attempt(req=req, run=run, stage=stage, node_id=node_id, node_type=node_type, tries=tries,
                    attempt=attempt, tags=tags)


def _record_start(at: _Attempt) -> StageExecution:
    """Record: the RUNNING StageExecution and the run's current stage."""
    req = at.req
    record = StageExecution(
        run_id=req.run_id, trace_id=req.trace_id, index=req.index, node_id=at.node_id, node_type=at.node_type,
        stage=at.stage, status=StageStatus.RUNNING, attempt=at.attempt, fallback=req.fallback,
        idempotency_key=f"{req.run_id}:{at.node_id}:{at.attempt}{':fallback' if req.fallback else ''}",
        input_ref=_input_ref(at.run, req.index), started_at=utcnow(),
    )
    runs = services.run_store()
    runs.put_stage(record)
    runs.update_run(req.run_id, {"current_stage": at.stage, "current_index": req.index,
                                 **({"status": RunStatus.RETRYING.value} if at.tries > 1 else {})})
    return record


def _record_failure(at: _Attempt, record: StageExecution, failure: Exception, duration: float) -> bool:
    """Record: the FAILED StageExecution and the run's last error.  True when
    the ASL will try the stage again."""
    retryable = bool(getattr(failure, "retryable", False))
    message = failure.message if isinstance(failure, SignalfireError) else str(failure)
    runs = services.run_store()
    runs.put_stage(record.model_copy(update={
        "status": StageStatus.FAILED, "completed_at": utcnow(), "duration_ms": round(duration, 1),
        "error_type": type(failure).__name__, "error_message": message[:2000],
        "error_stack": traceback.format_exc()[-4000:], "error_retryable": retryable,
    }))
    more = retryable and at.tries <= at.req.max_retries
    runs.update_run(at.req.run_id, {"last_error_type": type(failure).__name__,
                                    "last_error_message": message[:2000],
                                    "last_error_retryable": retryable,
                                    **({"status": RunStatus.RETRYING.value} if more else {})})
    return more


def _record_success(at: _Attempt, record: StageExecution, outcome: StageOutcome, duration: float) -> str:
    """Record: the output (claim check), the finished StageExecution and the
    run's progress.  Returns the output's reference."""
    req, runs = at.req, services.run_store()
    ref = runs.output_ref(req.run_id, req.index, at.node_id)
    runs.put_output(req.run_id, req.index, at.node_id, at.node_type, outcome.output, stage=record.model_copy(update={
        "status": StageStatus.SKIPPED if outcome.skipped else StageStatus.SUCCEEDED, "completed_at": utcnow(),
        "duration_ms": round(duration, 1), "output_ref": ref, "output_snapshot": snapshot(outcome.output),
    }))  # the output and the finished StageExecution in one BatchWriteItem
    fields: dict[str, Any] = {**outcome.run_fields, "last_completed_index": req.index}
    if not outcome.skipped:
        progress = STATUS_AFTER.get(at.stage, at.run.progress_status)
        fields.update(status=progress.value, progress_status=progress.value)
    if at.stage in OUTPUT_REF_FIELD:
        fields[OUTPUT_REF_FIELD[at.stage]] = ref
    runs.update_run(req.run_id, fields)
    return ref


def _emit_started(at: _Attempt) -> None:
    """Signals: retrying (after the first attempt), then started."""
    if at.tries > 1:
        signals.emit(signals.STAGE_RETRYING, at.tags)
    signals.emit(signals.STAGE_STARTED, at.tags, fallback=at.req.fallback)


def _emit_failed(at: _Attempt, failure: Exception, duration: float, more: bool) -> None:
    """Signals: stage failed, the run's end unless a retry or the fallback
    follows, and the warning log line."""
    signals.emit(signals.STAGE_FAILED, at.tags, duration_ms=duration,
                 retryable=bool(getattr(failure, "retryable", False)), error_type=type(failure).__name__)
    if not more and not _fallback_follows(at.req):
        signals.emit(signals.PIPELINE_COMPLETED, at.tags, outcome="FAILED", error_type=type(failure).__name__,
                     completed_at=iso(utcnow()))
    message = failure.message if isinstance(failure, SignalfireError) else str(failure)
    logger.warning("stage failed", extra={"error_type": type(failure).__name__, "reason": message[:500],
                                          "retryable": bool(getattr(failure, "retryable", False))})


def _emit_succeeded(at: _Attempt, outcome: StageOutcome, duration: float) -> None:
    """Signals: stage succeeded, and the run's end after a filter or the last node."""
    signals.emit(signals.STAGE_SUCCEEDED, at.tags, duration_ms=duration, skipped=outcome.skipped)
    if outcome.skipped or at.req.index >= at.req.count - 1:
        signals.emit(signals.PIPELINE_COMPLETED, at.tags, outcome="SKIPPED" if outcome.skipped else "COMPLETED",
                     completed_at=iso(utcnow()))


def run_stage(payload: dict[str, Any], logic: Callable[[StageContext], StageOutcome], *,
              remaining: Callable[[], float] | None = None) -> dict[str, Any]:
    """Run one attempt of a node: parse, record the start, run ``logic``,
    then record and signal the result.  A failure is re-raised (the retry
    cap may turn it into RetriesExhaustedError) for the ASL's Retry/Catch.
    ``remaining``: the function's time left in seconds (from the Lambda
    context); with the pipeline's timeout it sets the deadline of ``logic``'s
    outbound calls (:func:`stage_deadline`)."""
    at = _parse(payload)
    logger.append_keys(trace_id=at.req.trace_id, run_id=at.req.run_id, stage=at.stage, node_id=at.node_id,
                       attempt=at.attempt)
    _emit_started(at)
    t0 = time.perf_counter()  # the duration includes the stage's own record writes
    record = _record_start(at)
    try:
        inject_fault(at.req.node.get("config") or {}, at.tries)
        with _deadline_of(at.req, remaining):
            outcome = logic(_load_context(at.req, at.run, at.attempt))
    except Exception as caught:
        failure = _past_cap(caught, at.req, at.tries)
        duration = (time.perf_counter() - t0) * 1000
        more = _record_failure(at, record, failure, duration)
        _emit_failed(at, failure, duration, more)
        if failure is not caught:
            raise failure from caught
        raise
    duration = (time.perf_counter() - t0) * 1000
    ref = _record_success(at, record, outcome, duration)
    _emit_succeeded(at, outcome, duration)
    return {"status": "SKIPPED" if outcome.skipped else "SUCCEEDED", "ref": ref, "entry": {at.node_id: ref},
            "reason": outcome.reason}
