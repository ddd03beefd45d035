"""Ingest function: webhooks from monitoring tools (and, later, agent check-ins).

template.yaml routes ``POST /alerts/{proxy+}`` here; the senders' health
check (``GET /alerts/webhook/``) is answered by the API function.

Thin by design: authenticate, hand the raw body to the webhook service,
shape the answer.  202 means the alerts are stored.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from signalfire import services
from signalfire.alerts.webhooks import WebhookRequest
from signalfire.auth import Role
from signalfire.handlers.resolver import make_resolver
from signalfire.observability import logger, metrics, tracer

app = make_resolver()


@app.post("/alerts/webhook")
def webhook_auto():  # noqa: ANN201 - a Response, unannotated for the OpenAPI validator
    return _receive(None)


@app.post("/alerts/webhook/<driver>")
def webhook_driver(driver: str):  # noqa: ANN201
    return _receive(driver)


def _receive(driver: str | None) -> Response:
    app.require(Role.SENDER)
    headers = app.current_event.headers or {}
    request = WebhookRequest(
        body=app.raw_body(), driver=driver, pipeline=app.query("pipeline"),
        path=app.current_event.path, content_type=headers.get("content-type", ""), headers=dict(headers),
    )
    accepted = services.webhook_service().receive(request)
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON,
                    body=accepted.model_dump(mode="json"))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
