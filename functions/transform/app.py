"""Transform stage: extract, map, filter (a false filter skips the run).

Invoked by the pipeline state machine with the node to run and references to
the run; returns a small reference to the stored output.  Errors propagate:
their class name is what the state machine's Retry/Catch match.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext

from signalfire.observability import logger, metrics, tracer
from signalfire.stages.runner import run_stage
from signalfire.stages.transform import run_transform


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return run_stage(event, run_transform)
