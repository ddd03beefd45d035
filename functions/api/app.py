"""Management API: alerts, incidents, rejected payloads (and runs,
pipelines, agent check-ins and hosts through the routers beside this file).
Every route needs the admin token but the senders' ones named below.

Notify (``/notify/...``) and intelligence (``/intelligence/...``) are
functions of their own (functions/api_notify, functions/api_intelligence):
this one does not load their drivers and models (docs/build.md, "Cold
start").  It keeps every route whose prefix has a bare form (``/runs``,
``/runs/``): a greedy ``/runs/{proxy+}`` route does not match those, so on
AWS they can only reach the owner of ``ANY /{proxy+}``."""

from __future__ import annotations

from typing import Annotated

import routes_checks
import routes_pipelines
import routes_runs
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from signalfire import services
from signalfire.alerts.drivers import DRIVERS
from signalfire.alerts.incidents import (
    AlertDetail,
    AlertListQuery,
    AlertSummary,
    IncidentDetail,
    IncidentListQuery,
    NoteAdded,
    RejectedSummary,
)
from signalfire.alerts.models import Incident, RejectedPayload
from signalfire.auth import Role
from signalfire.handlers.resolver import make_resolver
from signalfire.models import Model
from signalfire.observability import logger, metrics, tracer
from signalfire.pagination import PageOut, PageQuery

# Every route needs the admin token but what a sender (webhook/agent token) may
# call: the senders' health check and agent check-ins (GET /checks/ is admin).
app = make_resolver(Role.ADMIN, json_bodies=True, roles={"/alerts/webhook": Role.SENDER, "POST /checks": Role.SENDER})

app.include_router(routes_pipelines.router)
app.include_router(routes_runs.router)
app.include_router(routes_checks.router)


AlertQuery = Annotated[AlertListQuery, Query()]
IncidentQuery = Annotated[IncidentListQuery, Query()]


class WebhookHealth(Model):
    status: str
    drivers: list[str]


@app.get("/alerts/webhook")
def webhook_health() -> WebhookHealth:
    """The senders' health check (seed: GET /alerts/webhook/).  Served here,
    not by the ingest function: on AWS a GET for /alerts/webhook/ can only
    reach the owner of ANY /{proxy+} (docs/aws-fidelity.md)."""
    return WebhookHealth(status="ok", drivers=list(DRIVERS))


@app.get("/alerts")
def list_alerts(query: AlertQuery) -> PageOut[AlertSummary]:
    return services.alert_queries().list_alerts(query)


@app.get("/alerts/rejected")
def list_rejected(query: Annotated[PageQuery, Query()]) -> PageOut[RejectedSummary]:
    return services.alert_queries().list_rejected(query)


@app.get("/alerts/rejected/<rejected_id>")
def get_rejected(rejected_id: str) -> RejectedPayload:
    return services.alert_queries().get_rejected(rejected_id)


@app.get("/alerts/<alert_id>")
def get_alert(alert_id: str) -> AlertDetail:
    return services.alert_queries().get_alert(alert_id)


@app.get("/incidents")
def list_incidents(query: IncidentQuery) -> PageOut[Incident]:
    return services.incidents().list(query)


@app.get("/incidents/<incident_id>")
def get_incident(incident_id: str) -> IncidentDetail:
    return services.incidents().get(incident_id)


class ActionBody(Model):
    """Who acts, and an optional note added with the change (the body may be empty)."""

    by: str = ""
    note: str = ""


class NoteBody(Model):
    text: str
    by: str = ""


Action = Annotated[ActionBody, Body()]
NO_ACTION_BODY = ActionBody()  # an empty body: nobody named, no note


class IncidentChanged(Incident):
    """The incident after the change, and the run that tells its channels (PagerDuty & co.)."""

    run_ids: list[str]


@app.post("/incidents/<incident_id>/acknowledge")
def acknowledge(incident_id: str, body: Action = NO_ACTION_BODY) -> IncidentChanged:
    incident = services.incidents().transition(incident_id, "acknowledge", body.by, body.note)
    run_id = services.launcher().start_incident_update(incident_id, "acknowledged")
    return IncidentChanged(**dict(incident), run_ids=[run_id])


@app.post("/incidents/<incident_id>/resolve")
def resolve(incident_id: str, body: Action = NO_ACTION_BODY) -> IncidentChanged:
    incident = services.incidents().transition(incident_id, "resolve", body.by, body.note)
    run_id = services.launcher().start_incident_update(incident_id, "resolved")
    return IncidentChanged(**dict(incident), run_ids=[run_id])


@app.post("/incidents/<incident_id>/close")
def close(incident_id: str, body: Action = NO_ACTION_BODY) -> Incident:
    return services.incidents().transition(incident_id, "close", body.by, body.note)


@app.post("/incidents/<incident_id>/notes")
def add_note(incident_id: str, body: Annotated[NoteBody, Body()]) -> NoteAdded:
    return services.incidents().add_note(incident_id, body.text, body.by)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
