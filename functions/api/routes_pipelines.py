"""Pipeline definition routes (included by app.py, which also checks the
admin token and maps signalfire errors to HTTP answers).

GET    /pipelines                     list presets + custom (?limit=&next_token=)
POST   /pipelines                     create {name, description, config, tags, activate?}
POST   /pipelines/validate            dry run: 200 {valid, nodes, count} or 400
GET    /pipelines/<name>              the active version (?version=N for another)
PUT    /pipelines/<name>              new version {config, description?, tags?, activate?}
GET    /pipelines/<name>/versions     every version, newest first
POST   /pipelines/<name>/activate     {version}
POST   /pipelines/<name>/deactivate
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import ConfigDict, Field

from signalfire import services
from signalfire.errors import BadRequestError, ConfigurationError
from signalfire.models import Model
from signalfire.pagination import PageOut, PageQuery
from signalfire.pipelines.budget import check_defaults, check_duration, workflow_fit
from signalfire.pipelines.compile import compile_definition
from signalfire.pipelines.models import PipelineDefinition

router = APIGatewayHttpRouter()

#: A config is checked by the store (pipelines/validation.py), whose errors name the node at fault.
Config = Annotated[dict[str, Any], Field(description="the pipeline config {version, defaults, nodes}: "
                                                     "docs/pipelines.md, and the PipelineConfig schema")]


class CreateBody(Model):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = Field(default="", max_length=2000)
    config: Config
    tags: dict[str, Any] = Field(default_factory=dict)
    activate: bool = True
    created_by: str = Field(default="", max_length=256)


class UpdateBody(Model):
    model_config = ConfigDict(extra="forbid")

    config: Config
    description: str | None = Field(default=None, max_length=2000)
    tags: dict[str, Any] | None = None
    activate: bool = True
    created_by: str = Field(default="", max_length=256)


class ActivateBody(Model):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1)


class Validated(Model):
    valid: bool
    nodes: list[dict[str, Any]]
    count: int
    #: the compiled pipeline's worst case, checked against the workflow's limit
    worst_case_seconds: int


class Versions(Model):
    name: str
    items: list[PipelineDefinition]


ValidateBody = Annotated[dict[str, Any], Body(description='a pipeline config {"version", "nodes"} '
                                                          'or {"config": {...}}')]


def _check_providers(config: dict[str, Any]) -> None:
    """An intelligence node may name a provider type or a configured provider:
    refuse, when saving, a name that is neither (a run would only fall back)."""
    nodes = config.get("nodes") if isinstance(config, dict) else None
    names = [str(n["config"]["provider"]) for n in nodes or [] if isinstance(n, dict)
             and n.get("type") == "intelligence" and isinstance(n.get("config"), dict) and n["config"].get("provider")]
    unknown = services.intelligence().unknown_providers(names)
    if unknown:
        raise BadRequestError(f"intelligence provider {unknown[0]!r} is not configured: create it with "
                              "POST /intelligence/providers/ or name a provider type")


def _check_channels(config: dict[str, Any]) -> None:
    """A notify node's channels must exist when the definition is saved (a run
    would fail with ConfigurationError; a channel deleted later still does)."""
    nodes = config.get("nodes") if isinstance(config, dict) else None
    names = [str(c) for n in nodes or [] if isinstance(n, dict) and n.get("type") == "notify"
             and isinstance(n.get("config"), dict) for c in (n["config"].get("channels") or [])]
    unknown = services.notify_service().unknown_channels(names)
    if unknown:
        raise BadRequestError(f"notify channel {unknown[0]!r} does not exist: create it with "
                              "POST /notify/channels/ or fix the node's channels")


def _with_fit(definition: PipelineDefinition) -> PipelineDefinition:
    """The definition with ``workflow_fit``: does its worst case fit this
    deployment's workflow (WorkflowType)?  A run of one that does not is refused."""
    try:
        fit = workflow_fit(compile_definition(definition), services.get_settings().workflow_limits())
    except ConfigurationError:
        return definition  # a stored version that no longer validates: nothing to measure
    return definition.model_copy(update={"workflow_fit": fit})


@router.get("/pipelines")
def list_pipelines(query: Annotated[PageQuery, Query()]) -> PageOut[PipelineDefinition]:
    page = services.pipeline_store().list(limit=query.limit, next_token=query.next_token)
    return PageOut[PipelineDefinition].of(page, _with_fit)


@router.post("/pipelines/validate")
def validate_pipeline(body: ValidateBody) -> Validated:
    config = body["config"] if "config" in body and "nodes" not in body else body
    if not isinstance(config, dict):
        raise BadRequestError('body must be a pipeline config {"version", "nodes"} or {"config": {...}}')
    nodes = compile_definition(config)
    _check_providers(config)
    _check_channels(config)
    limits = services.get_settings().workflow_limits()
    check_defaults(config, nodes, limits)
    seconds = check_duration(nodes, limits)
    return Validated(valid=True, nodes=nodes, count=len(nodes), worst_case_seconds=round(seconds))


@router.post("/pipelines", status_code=201)
def create_pipeline(body: Annotated[CreateBody, Body()]) -> PipelineDefinition:
    _check_providers(body.config)
    _check_channels(body.config)
    return services.pipeline_store().create(body.name, body.config, description=body.description, tags=body.tags,
                                            created_by=body.created_by, activate=body.activate)


@router.get("/pipelines/<name>")
def get_pipeline(name: str, version: Annotated[int | None, Query(ge=1)] = None) -> PipelineDefinition:
    return _with_fit(services.pipeline_store().get(name, version))


@router.put("/pipelines/<name>")
def update_pipeline(name: str, body: Annotated[UpdateBody, Body()]) -> PipelineDefinition:
    _check_providers(body.config)
    _check_channels(body.config)
    return services.pipeline_store().update(name, body.config, description=body.description, tags=body.tags,
                                            updated_by=body.created_by, activate=body.activate)


@router.get("/pipelines/<name>/versions")
def pipeline_versions(name: str) -> Versions:
    return Versions(name=name, items=services.pipeline_store().history(name))


@router.post("/pipelines/<name>/activate")
def activate_pipeline(name: str, body: Annotated[ActivateBody, Body()]) -> PipelineDefinition:
    return services.pipeline_store().activate(name, body.version)


@router.post("/pipelines/<name>/deactivate")
def deactivate_pipeline(name: str) -> PipelineDefinition:
    return services.pipeline_store().deactivate(name)
