"""Ingest function: webhooks from monitoring tools (and, later, agent check-ins).

template.yaml routes ``POST /alerts/{proxy+}`` here; the senders' health
check (``GET /alerts/webhook/``) is answered by the API function.

Thin by design: authenticate, hand the raw body to the webhook service,
shape the answer.  202 means the alerts are stored.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from signalfire import services
from signalfire.alerts.webhooks import WebhookAccepted, WebhookRequest
from signalfire.auth import Role
from signalfire.handlers.resolver import make_resolver
from signalfire.observability import logger, metrics, tracer

app = make_resolver(Role.SENDER)

#: The vendor's payload is read raw, whatever its content type, so that a body
#: we refuse can be kept with its reason for replay: Powertools documents it
#: from here but never parses it.
VENDOR_PAYLOAD = {"requestBody": {
    "required": True,
    "description": "the monitoring tool's webhook payload as it sends it (docs/drivers.md)",
    "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
}}
Pipeline = Annotated[str | None, Query(description="the pipeline to run instead of the source's (docs/pipelines.md)")]


@app.post("/alerts/webhook", status_code=202, openapi_extensions=VENDOR_PAYLOAD)
def webhook_auto(pipeline: Pipeline = None) -> WebhookAccepted:
    return _receive(None, pipeline)


@app.post("/alerts/webhook/<driver>", status_code=202, openapi_extensions=VENDOR_PAYLOAD)
def webhook_driver(driver: str, pipeline: Pipeline = None) -> WebhookAccepted:
    return _receive(driver, pipeline)


def _receive(driver: str | None, pipeline: str | None) -> WebhookAccepted:
    headers = app.current_event.headers or {}
    request = WebhookRequest(
        body=app.raw_body(), driver=driver, pipeline=pipeline,
        path=app.current_event.path, content_type=headers.get("content-type", ""), headers=dict(headers),
    )
    return services.webhook_service().receive(request)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
