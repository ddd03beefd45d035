"""Analyze stage (seed: AnalyzeExecutor).

The node's ``provider`` (a configured provider's name or a type), else the
active provider, else the local one.  A provider failure propagates with
its class name: the state machine retries ProviderError and then catches
anything into the same task with ``provider: "local"`` and ``fallback:
true`` (statemachine/pipeline.asl.json), which records
``intelligence_fallback_used`` on the run.  Every attempt leaves an
AnalysisRun record.
"""

from __future__ import annotations

import json
from typing import Any

from signalfire import services
from signalfire.intelligence.service import failing_checks
from signalfire.stages.runner import StageContext, StageOutcome


def primary_error(error: dict[str, Any] | None) -> dict[str, Any] | None:
    """The failure the state machine caught (``Error`` and ``Cause``; a Lambda
    error's Cause is JSON holding ``errorMessage``)."""
    if not error:
        return None
    cause = str(error.get("Cause", ""))
    try:
        decoded = json.loads(cause)
        message = str(decoded.get("errorMessage", cause)) if isinstance(decoded, dict) else cause
    except ValueError:
        message = cause
    return {"type": error.get("Error"), "message": message[:500]}


def run_analyze(ctx: StageContext) -> StageOutcome:
    req = ctx.request
    intel = services.intelligence()
    provider = intel.local() if req.fallback else intel.resolve(req.provider or ctx.config.get("provider"))
    request = intel.build_request(ctx.incident, ctx.alerts, checks=failing_checks(ctx.outputs))
    result = intel.run(provider, request, trace_id=req.trace_id, pipeline_run_id=req.run_id,
                       fallback_used=req.fallback, primary_error=primary_error(req.primary_error) if req.fallback else None,
                       checker_output_ref=ctx.run.checker_output_ref or "")
    return StageOutcome(output=result.model_dump(mode="json"),
                        run_fields={"intelligence_fallback_used": True} if req.fallback else {})
