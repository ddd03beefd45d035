"""Host agents: check-ins (``POST /checks/``, the webhook token), the CheckRun
history (``GET /checks/``) and hosts (``GET /hosts/``, ``GET /hosts/{hostname}``)."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from signalfire import services
from signalfire.alerts.incidents import parse_since
from signalfire.checks.models import CHECKERS, CheckInAccepted, HostDetail, HostSummary
from signalfire.checks.service import CheckListing
from signalfire.errors import BadRequestError
from signalfire.handlers.resolver import raw_body_of
from signalfire.pagination import PageOut

router = APIGatewayHttpRouter()
Limit = Annotated[int, Query(ge=1, le=200)]
Status = Literal["ok", "warning", "critical", "unknown"]


#: The agent's batch is read raw so that a refused one can be kept with its
#: reason; documented here, parsed by checks/service.py (CheckBatchIn).
AGENT_BATCH = {"requestBody": {
    "required": True,
    "description": "an agent's check batch {hostname, agent_version, results, host?} (docs/agent.md)",
    "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
}}


#: Both answers a batch can get (a repeat is acknowledged, not stored again).
CHECK_IN_ANSWERS: dict[int, OpenAPIResponse] = {
    202: {"description": "stored", "content": {"application/json": {"model": CheckInAccepted}}},
    200: {"description": "a batch already received (same hostname and batch id): nothing stored again",
          "content": {"application/json": {"model": CheckInAccepted}}},
}


@router.post("/checks", status_code=202, responses=CHECK_IN_ANSWERS, openapi_extensions=AGENT_BATCH)
def check_in() -> Response[CheckInAccepted]:
    """An agent's batch: 202 when stored, 200 when it is one we already have.
    The resolver has checked the sender token (``POST /checks`` in app.py's roles)."""
    event = router.current_event
    headers = event.headers or {}
    accepted = services.checkin_service().receive(raw_body_of(event), path=event.path,
                                                  content_type=headers.get("content-type", ""))
    return Response(status_code=202 if accepted.status == "accepted" else 200,
                    content_type=content_types.APPLICATION_JSON, body=accepted)


@router.get("/checks")
def list_checks(hostname: str | None = None, checker: str | None = None, status: Status | None = None,
                since: str | None = None, limit: Limit = 50, next_token: str | None = None) -> CheckListing:
    if checker and checker not in CHECKERS:
        raise BadRequestError(f"unknown checker {checker!r}: use one of {', '.join(CHECKERS)}")
    listing = services.check_queries().list_checks(hostname=hostname, checker=checker, status=status,
                                                   since=parse_since(since), limit=limit, next_token=next_token)
    return listing


@router.get("/hosts")
def list_hosts(limit: Limit = 50, next_token: str | None = None) -> PageOut[HostSummary]:
    return services.check_queries().hosts(limit, next_token)


@router.get("/hosts/<hostname>")
def get_host(hostname: str) -> HostDetail:
    return services.check_queries().host(hostname)
