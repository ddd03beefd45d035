"""Scheduler function: work EventBridge schedules start (template.yaml).

The schedule's input names the task: ``{"task": "silent-hosts"}`` raises
``HostSilent`` for each agent host that stopped reporting (the dead man's
switch; the host's next check-in resolves it).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from signalfire import services
from signalfire.errors import BadRequestError
from signalfire.observability import logger, metrics, tracer

TASKS = {"silent-hosts": lambda: services.silent_host_sweep().sweep().model_dump(mode="json")}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = (event or {}).get("task")
    if task not in TASKS:
        raise BadRequestError(f"unknown scheduled task {task!r}; known: {', '.join(TASKS)}")
    return {"task": task, **TASKS[task]()}
