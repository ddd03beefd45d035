"""Logger, Tracer and Metrics, created once and shared by every module.

Configured from the environment that template.yaml sets
(POWERTOOLS_SERVICE_NAME, POWERTOOLS_LOG_LEVEL, POWERTOOLS_METRICS_NAMESPACE).
"""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()

# A request that emits no business metric is normal here (queries, health checks).
warnings.filterwarnings("ignore", message="No application metrics to publish")
