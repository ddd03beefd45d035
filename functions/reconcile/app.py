"""Reconcile function: on an EventBridge schedule, start the runs alert
changes owe and recover runs that made no progress within their deadline
(signalfire.runs.reconcile; docs/reliability.md)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from signalfire import services
from signalfire.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return services.reconciler().reconcile().model_dump()
