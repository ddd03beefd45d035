"""Management API: alerts, incidents, rejected payloads (and runs/pipelines
through the routers beside this file).  Every route needs the admin token."""

from __future__ import annotations

from typing import Annotated

import routes_checks
import routes_intelligence
import routes_notify
import routes_pipelines
import routes_runs
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ValidationError

from signalfire import services
from signalfire.alerts.drivers import DRIVERS
from signalfire.alerts.incidents import ListQuery
from signalfire.auth import Role
from signalfire.errors import BadRequestError
from signalfire.handlers.resolver import make_resolver
from signalfire.observability import logger, metrics, tracer

app = make_resolver()

app.include_router(routes_notify.router)
app.include_router(routes_pipelines.router)
app.include_router(routes_intelligence.router)
app.include_router(routes_runs.router)
app.include_router(routes_checks.router)


# What a sender (webhook/agent token) may call; every other route needs the
# admin token.  The sender routes check the sender token themselves.
_SENDER_ROUTES = {"/alerts/webhook"}
_SENDER_CALLS = {("POST", "/checks")}  # agent check-ins: POST only (GET /checks/ is admin)


def _admin_only(app_, next_middleware):  # type: ignore[no-untyped-def]
    event = app.current_event
    path = event.path.rstrip("/")
    if path not in _SENDER_ROUTES and (event.request_context.http.method, path) not in _SENDER_CALLS:
        app.require(Role.ADMIN)
    return next_middleware(app_)


app.use(middlewares=[_admin_only])


Limit = Annotated[int, Query(ge=1, le=200)]


@app.get("/alerts/webhook")
def webhook_health() -> dict:
    """The senders' health check (seed: GET /alerts/webhook/).  Served here,
    not by the ingest function: on AWS a GET for /alerts/webhook/ can only
    reach the owner of ANY /{proxy+} (docs/aws-fidelity.md)."""
    app.require(Role.SENDER)
    return {"status": "ok", "drivers": list(DRIVERS)}


@app.get("/alerts")
def list_alerts(status: str | None = None, severity: str | None = None, source: str | None = None,
                since: str | None = None, limit: Limit = 50, next_token: str | None = None) -> dict:
    q = ListQuery(status=status, severity=severity, source=source, since=since, limit=limit, next_token=next_token)
    return services.alert_queries().list_alerts(q).model_dump(mode="json")


@app.get("/alerts/rejected")
def list_rejected(limit: Limit = 50, next_token: str | None = None) -> dict:
    return services.alert_queries().list_rejected(limit, next_token).model_dump(mode="json")


@app.get("/alerts/rejected/<rejected_id>")
def get_rejected(rejected_id: str) -> dict:
    return services.alert_queries().get_rejected(rejected_id).model_dump(mode="json")


@app.get("/alerts/<alert_id>")
def get_alert(alert_id: str) -> dict:
    return services.alert_queries().get_alert(alert_id).model_dump(mode="json")


@app.get("/incidents")
def list_incidents(status: str | None = None, severity: str | None = None, since: str | None = None,
                   limit: Limit = 50, next_token: str | None = None) -> dict:
    q = ListQuery(status=status, severity=severity, since=since, limit=limit, next_token=next_token)
    return services.incidents().list(q).model_dump(mode="json")


@app.get("/incidents/<incident_id>")
def get_incident(incident_id: str) -> dict:
    return services.incidents().get(incident_id).model_dump(mode="json")


class ActionBody(BaseModel):
    by: str = ""
    note: str = ""


class NoteBody(BaseModel):
    text: str
    by: str = ""


def _action_body() -> ActionBody:
    raw = app.raw_body().strip()
    if not raw:
        return ActionBody()
    try:
        return ActionBody.model_validate_json(raw)
    except ValidationError as exc:
        raise BadRequestError(f"body must be a JSON object like {{\"by\": \"alice\", \"note\": \"...\"}}: {exc.errors()[0]['msg']}") from None


@app.post("/incidents/<incident_id>/acknowledge")
def acknowledge(incident_id: str) -> dict:
    b = _action_body()
    incident = services.incidents().transition(incident_id, "acknowledge", b.by, b.note)
    run_id = services.launcher().start_incident_update(incident_id, "acknowledged")  # tells PagerDuty & co.
    return {**incident.model_dump(mode="json"), "run_ids": [run_id]}


@app.post("/incidents/<incident_id>/resolve")
def resolve(incident_id: str) -> dict:
    b = _action_body()
    incident = services.incidents().transition(incident_id, "resolve", b.by, b.note)
    run_id = services.launcher().start_incident_update(incident_id, "resolved")
    return {**incident.model_dump(mode="json"), "run_ids": [run_id]}


@app.post("/incidents/<incident_id>/close")
def close(incident_id: str) -> dict:
    b = _action_body()
    return services.incidents().transition(incident_id, "close", b.by, b.note).model_dump(mode="json")


@app.post("/incidents/<incident_id>/notes")
def add_note(incident_id: str, body: NoteBody) -> dict:
    return services.incidents().add_note(incident_id, body.text, body.by).model_dump(mode="json")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
