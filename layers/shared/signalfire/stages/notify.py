"""Notify stage (seed: NotifyExecutor): compose the notification and deliver
it to the node's channels, at most once per (run, node, channel) even across
retries, resumes and concurrent attempts (see :mod:`signalfire.notify.service`).

A channel that does not exist or is disabled fails the run with a
ConfigurationError before anything is sent.  When a channel fails, the others
are still delivered and recorded; then the stage fails - retryably
(StageRetryableError) if any failure may pass, so the state machine's retry
sends only what is missing, else with DeliveryFailedError.
"""

from __future__ import annotations

import os

from signalfire import constants as env
from signalfire import services
from signalfire.errors import DeliveryFailedError, StageRetryableError
from signalfire.notify.compose import compose
from signalfire.notify.models import NotificationEvent
from signalfire.notify.secrets import read_parameter
from signalfire.notify.service import NotifyResult
from signalfire.observability import logger
from signalfire.stages.runner import StageContext, StageOutcome

#: the run's trigger (why it started) -> what the notification says happened
EVENT_OF_TRIGGER = {"resolved": NotificationEvent.RESOLVE, "acknowledged": NotificationEvent.ACKNOWLEDGE}


def _execution_url(execution_arn: str) -> str:
    if not execution_arn.startswith("arn:aws") or os.environ.get(env.LOCAL_MODE, "").lower() == "true":
        return ""
    region = execution_arn.split(":")[3]
    return (f"https://{region}.console.aws.amazon.com/states/home?region={region}"
            f"#/v2/executions/details/{execution_arn}")


def public_url() -> str:
    """The API's base URL for links: set directly (local mode), or read once an
    hour from the SSM parameter the stack writes (AWS).  No URL, no links."""
    url = os.environ.get(env.PUBLIC_URL, "")
    name = os.environ.get(env.PUBLIC_URL_PARAMETER, "")
    if url or not name or os.environ.get(env.LOCAL_MODE, "").lower() == "true":
        return url
    try:
        return read_parameter(name, max_age=3600)
    except Exception as exc:  # links are a convenience: never fail a notification for them
        logger.warning("public URL parameter unreadable; notifications go without links",
                       extra={"parameter": name, "error_type": type(exc).__name__})
        return ""


def _summary(result: NotifyResult) -> str:
    parts = []
    for d in result.deliveries:
        text = f"{d.channel}: {d.status}"
        if d.error:
            text += f" ({'retryable: ' if d.retryable else ''}{d.error[:300]})"
        parts.append(text)
    return "; ".join(parts)


def run_notify(ctx: StageContext) -> StageOutcome:
    notify = services.notify_service()
    event = EVENT_OF_TRIGGER.get(ctx.run.trigger, NotificationEvent.TRIGGER)
    targets, skipped = notify.targets_for(ctx.config, event, ctx.run.incident_id)
    analysis = next((o for o in ctx.outputs.values() if "recommendations" in o), None)
    checks = next((o for o in ctx.outputs.values() if "checks_run" in o), None)
    message = compose(
        incident=ctx.incident, alerts=ctx.alerts, event=event, checks=checks, analysis=analysis,
        run={"run_id": ctx.run.run_id, "trace_id": ctx.run.trace_id, "pipeline": ctx.run.pipeline_name,
             "source": ctx.run.source, "node_id": ctx.node_id},
        base_url=public_url(), execution_url=_execution_url(ctx.request.execution))
    result = notify.deliver(message, targets, run_id=ctx.run.run_id, node_id=ctx.node_id,
                            incident_id=ctx.run.incident_id, skipped=skipped)
    if result.retryable_failure:
        raise StageRetryableError(f"notification not delivered everywhere yet: {_summary(result)}")
    if result.channels_failed:
        raise DeliveryFailedError(f"notification failed: {_summary(result)}")
    return StageOutcome(output=result.model_dump(mode="json"))
