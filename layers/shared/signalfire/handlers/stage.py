"""The Lambda entry point shared by the four stage functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from signalfire.observability import logger, metrics, tracer
from signalfire.stages.runner import StageContext, StageOutcome, run_stage


def stage_handler(logic: Callable[[StageContext], StageOutcome]) -> Callable[[dict, Any], dict]:
    """A Powertools-decorated handler that runs ``logic`` as a pipeline stage.

    Errors propagate: their class name is what the state machine's
    Retry/Catch match.
    """

    @logger.inject_lambda_context(clear_state=True)
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def lambda_handler(event: dict, context: Any) -> dict:
        left = getattr(context, "get_remaining_time_in_millis", None)
        return run_stage(event, logic, remaining=(lambda: left() / 1000) if left else None)

    return lambda_handler
