"""The seed's six pipeline signals, as CloudWatch metrics (EMF, through
Powertools) and structured log lines.

Metric dimensions stay low-cardinality (signal, stage, environment, and
outcome where it applies); the full SignalTags ride along as EMF metadata
and on the log line, so a run can be found from either.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from pydantic import Field

from signalfire.models import Model
from signalfire.observability import logger

PIPELINE_STARTED = "pipeline.started"
PIPELINE_COMPLETED = "pipeline.completed"
STAGE_STARTED = "pipeline.stage.started"
STAGE_SUCCEEDED = "pipeline.stage.succeeded"
STAGE_FAILED = "pipeline.stage.failed"
STAGE_RETRYING = "pipeline.stage.retrying"
SIGNALS = (PIPELINE_STARTED, PIPELINE_COMPLETED, STAGE_STARTED, STAGE_SUCCEEDED, STAGE_FAILED, STAGE_RETRYING)


class SignalTags(Model):
    """Required on every signal (seed: SignalTags)."""

    trace_id: str
    run_id: str
    stage: str = ""
    incident_id: str | None = None
    source: str = ""
    alert_fingerprint: str = ""
    environment: str = "production"
    attempt: int = 1
    extra: dict[str, Any] = Field(default_factory=dict)


def emit(signal: str, tags: SignalTags, *, duration_ms: float | None = None, **extra: Any) -> None:
    if signal not in SIGNALS:
        raise ValueError(f"unknown signal {signal!r}")
    data = tags.model_dump()
    data["extra"] = {**tags.extra, **extra}
    logger.info(signal, extra={"signal": signal, **data})
    if os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() == "true":
        return
    namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "signalfire")
    with single_metric(name=signal, unit=MetricUnit.Count, value=1, namespace=namespace) as metric:
        metric.add_dimension(name="environment", value=tags.environment or "production")
        if tags.stage:
            metric.add_dimension(name="stage", value=tags.stage)
        if "outcome" in extra:
            metric.add_dimension(name="outcome", value=str(extra["outcome"]))
        for key, value in data.items():
            if key != "extra" and value not in (None, ""):
                metric.add_metadata(key=key, value=value)
    if duration_ms is not None:
        with single_metric(name=f"{signal}.duration", unit=MetricUnit.Milliseconds, value=duration_ms,
                           namespace=namespace) as metric:
            metric.add_dimension(name="environment", value=tags.environment or "production")
            if tags.stage:
                metric.add_dimension(name="stage", value=tags.stage)
