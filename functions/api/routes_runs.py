"""Runs: list, inspect (with stages), resume."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from signalfire import services
from signalfire.alerts.incidents import Blank, Since, parse_since
from signalfire.models import Model
from signalfire.notify.store import Delivery
from signalfire.pagination import PageOut, PageQuery
from signalfire.runs.models import RunStatus, RunView, StageExecution
from signalfire.runs.resume import resume_run

router = APIGatewayHttpRouter()


class RunListQuery(PageQuery):
    status: Annotated[RunStatus | None, Blank] = None
    incident: str | None = Field(default=None, description="only the runs of this incident")
    since: Since = None


class DeliveryView(Delivery):
    """A delivery as the API shows it: which worker holds the claim is internal."""

    claimed_by: SkipJsonSchema[str] = Field(default="", exclude=True)


class RunDetail(Model):
    run: RunView
    stages: list[StageExecution]
    #: one per (notify node, channel): delivered / failed / sending / skipped
    deliveries: list[DeliveryView]


class RunResumed(Model):
    run: RunView


@router.get("/runs")
def list_runs(query: Annotated[RunListQuery, Query()]) -> PageOut[RunView]:
    page = services.run_store().list_runs(status=query.status.value if query.status else None,
                                          incident_id=query.incident, since=parse_since(query.since),
                                          limit=query.limit, next_token=query.next_token)
    return PageOut[RunView].of(page, RunView.of)


@router.get("/runs/<run_id>")
def get_run(run_id: str) -> RunDetail:
    store = services.run_store()
    return RunDetail(run=RunView.of(store.get_run(run_id)), stages=store.stages(run_id),
                     deliveries=[DeliveryView.model_validate(dict(d)) for d in services.delivery_store().deliveries(run_id)])


@router.post("/runs/<run_id>/resume", status_code=202)
def resume(run_id: str) -> RunResumed:
    return RunResumed(run=RunView.of(resume_run(run_id, services.launcher())))
