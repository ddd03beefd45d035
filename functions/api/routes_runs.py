"""Runs: list, inspect (with stages), resume."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from signalfire import services
from signalfire.alerts.incidents import parse_limit, parse_since
from signalfire.errors import BadRequestError
from signalfire.runs.models import RunStatus
from signalfire.runs.resume import resume_run

router = APIGatewayHttpRouter()
Limit = Annotated[int, Query(ge=1, le=200)]


@router.get("/runs")
def list_runs(status: str | None = None, incident: str | None = None, since: str | None = None,
              limit: Limit = 50, next_token: str | None = None) -> dict:
    if status and status not in RunStatus.__members__:
        raise BadRequestError(f"unknown status {status!r}: use one of {', '.join(RunStatus.__members__)}")
    page = services.run_store().list_runs(status=status, incident_id=incident, since=parse_since(since), limit=parse_limit(limit),
                                 next_token=next_token)
    items = [r.public() for r in page.items]
    return {"items": items, "next_token": page.next_token, "count": len(items)}


@router.get("/runs/<run_id>")
def get_run(run_id: str) -> dict:
    store = services.run_store()
    run = store.get_run(run_id)
    deliveries = [d.model_dump(mode="json", exclude={"claimed_by"}) for d in services.delivery_store().deliveries(run_id)]
    return {"run": run.public(), "stages": [s.model_dump(mode="json") for s in store.stages(run_id)],
            "deliveries": deliveries}  # one per (notify node, channel): delivered / failed / sending / skipped


@router.post("/runs/<run_id>/resume")
def resume(run_id: str):  # noqa: ANN201 - a Response, unannotated for the OpenAPI validator
    run = resume_run(run_id, services.launcher())
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body={"run": run.public()})
