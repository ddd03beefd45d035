"""Intelligence routes (seed: "Intelligence App" URL endpoints), included by
app.py (the IntelligenceApiFunction), which checks the admin token and maps errors to HTTP answers.

GET    /intelligence/health
GET    /intelligence/providers                 provider types, configured providers, the active one
POST   /intelligence/providers                 {name, provider, config, is_active, description} -> 201
GET    /intelligence/providers/<name>
PUT    /intelligence/providers/<name>          any of {provider, config, is_active, description}
DELETE /intelligence/providers/<name>          -> 204
GET    /intelligence/recommendations?incident_id=   stored analyses, newest first
POST   /intelligence/recommendations           {incident_id, provider?} -> 200 the analysis
GET    /intelligence/memory?hostname=          from the host's latest agent snapshot
GET    /intelligence/disk?hostname=

API keys are never returned: configs come back with sensitive values as ``***``.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import ConfigDict, Field

from signalfire import services
from signalfire.intelligence.models import AnalysisHistory, DiskAnalysis, MemoryAnalysis
from signalfire.intelligence.service import (
    AnalysisResult,
    Health,
    ProviderInput,
    ProviderOut,
    ProvidersOverview,
    ProviderUpdate,
)
from signalfire.models import Model

router = APIGatewayHttpRouter()

Hostname = Annotated[str, Query(min_length=1, max_length=255, description="the host the agent reports as")]


class AnalyzeBody(Model):
    model_config = ConfigDict(extra="forbid")

    incident_id: str = Field(min_length=1, max_length=128)
    provider: str | None = Field(default=None, max_length=100,
                                 description="a configured provider's name or a provider type; default the active one")


def _trace_id() -> str:
    return router.current_event.request_context.request_id or ""


@router.get("/intelligence/health")
def health() -> Health:
    return services.intelligence().health()


@router.get("/intelligence/providers")
def list_providers() -> ProvidersOverview:
    return services.intelligence().overview()


@router.post("/intelligence/providers", status_code=201)
def create_provider(body: Annotated[ProviderInput, Body()]) -> ProviderOut:
    return ProviderOut.of(services.intelligence().create(body))


@router.get("/intelligence/providers/<name>")
def get_provider(name: str) -> ProviderOut:
    return ProviderOut.of(services.intelligence().get(name))


@router.put("/intelligence/providers/<name>")
def update_provider(name: str, body: Annotated[ProviderUpdate, Body()]) -> ProviderOut:
    return ProviderOut.of(services.intelligence().update(name, body))


@router.delete("/intelligence/providers/<name>", responses={204: {"description": "deleted"}})
def delete_provider(name: str):  # noqa: ANN201 - a 204 Response, unannotated for the OpenAPI validator
    services.intelligence().delete(name)
    return Response(status_code=204, content_type=content_types.APPLICATION_JSON, body=None)


@router.get("/intelligence/recommendations")
def list_recommendations(incident_id: Annotated[str, Query(min_length=1, max_length=128)],
                         limit: Annotated[int, Query(ge=1, le=100)] = 20) -> AnalysisHistory:
    items = services.intelligence().recommendations(incident_id, limit)
    return AnalysisHistory(incident_id=incident_id, items=items, count=len(items))


@router.post("/intelligence/recommendations")
def analyze(body: Annotated[AnalyzeBody, Body()]) -> AnalysisResult:
    context = getattr(router, "lambda_context", None)  # set during a request
    remaining = context.get_remaining_time_in_millis() / 1000 if context is not None else None
    return services.intelligence().analyze_incident(body.incident_id, body.provider, trace_id=_trace_id(),
                                                    remaining_seconds=remaining)


@router.get("/intelligence/memory")
def memory(hostname: Hostname) -> MemoryAnalysis:
    return services.intelligence().memory_analysis(hostname)


@router.get("/intelligence/disk")
def disk(hostname: Hostname) -> DiskAnalysis:
    return services.intelligence().disk_analysis(hostname)
