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

import base64
from typing import Any

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from signalfire import services
from signalfire.alerts.webhooks import parse_json_body
from signalfire.errors import BadRequestError
from signalfire.pipelines.budget import check_duration
from signalfire.pipelines.compile import compile_definition
from signalfire.pipelines.models import PipelineDefinition

router = APIGatewayHttpRouter()


class CreateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = Field(default="", max_length=2000)
    config: dict[str, Any]
    tags: dict[str, Any] = Field(default_factory=dict)
    activate: bool = True
    created_by: str = Field(default="", max_length=256)


class UpdateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    config: dict[str, Any]
    description: str | None = Field(default=None, max_length=2000)
    tags: dict[str, Any] | None = None
    activate: bool = True
    created_by: str = Field(default="", max_length=256)


class ActivateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1)


def _raw_json() -> Any:
    """The body as JSON (None when empty); not UTF-8, not JSON or nested too
    deeply is a 400."""
    raw = _raw_body()
    return parse_json_body(raw) if raw.strip() else None


def _raw_body() -> bytes:
    event = router.current_event
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body)
    return body.encode("utf-8", "surrogatepass") if isinstance(body, str) else bytes(body)


def _body(model: type[BaseModel], *, allow_empty: bool = False) -> Any:
    data = _raw_json()
    if data is None:
        if allow_empty:
            return model.model_validate({})
        raise BadRequestError("a JSON body is required")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()))
            problems.append(f"{where or 'body'}: {err.get('msg', 'invalid')}")
        raise BadRequestError("; ".join(problems), details={"errors": problems}) from None


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


def _query_int(name: str, default: int | None, lo: int, hi: int | None = None) -> int | None:
    raw = router.current_event.get_query_string_value(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequestError(f"{name} must be an integer") from None
    if value < lo or (hi is not None and value > hi):
        raise BadRequestError(f"{name} must be between {lo} and {hi}" if hi else f"{name} must be >= {lo}")
    return value


def _out(d: PipelineDefinition) -> dict[str, Any]:
    return d.model_dump(mode="json")


@router.get("/pipelines")
def list_pipelines() -> dict:
    limit = _query_int("limit", 50, 1, 200) or 50
    token = router.current_event.get_query_string_value("next_token") or None
    page = services.pipeline_store().list(limit=limit, next_token=token)
    return {"items": [_out(d) for d in page.items], "next_token": page.next_token}


@router.post("/pipelines/validate")
def validate_pipeline() -> dict:
    body = _raw_json()
    if not isinstance(body, dict):
        raise BadRequestError('body must be a pipeline config {"version", "nodes"} or {"config": {...}}')
    config = body["config"] if "config" in body and "nodes" not in body else body
    nodes = compile_definition(config)
    _check_providers(config)
    _check_channels(config)
    seconds = check_duration(nodes, services.get_settings().workflow_limits())
    return {"valid": True, "nodes": nodes, "count": len(nodes), "worst_case_seconds": round(seconds)}


@router.post("/pipelines")
def create_pipeline() -> tuple[dict, int]:
    b: CreateBody = _body(CreateBody)
    _check_providers(b.config)
    _check_channels(b.config)
    created = services.pipeline_store().create(b.name, b.config, description=b.description, tags=b.tags,
                                      created_by=b.created_by, activate=b.activate)
    return _out(created), 201


@router.get("/pipelines/<name>")
def get_pipeline(name: str) -> dict:
    return _out(services.pipeline_store().get(name, _query_int("version", None, 1)))


@router.put("/pipelines/<name>")
def update_pipeline(name: str) -> dict:
    b: UpdateBody = _body(UpdateBody)
    _check_providers(b.config)
    _check_channels(b.config)
    return _out(services.pipeline_store().update(name, b.config, description=b.description, tags=b.tags,
                                        updated_by=b.created_by, activate=b.activate))


@router.get("/pipelines/<name>/versions")
def pipeline_versions(name: str) -> dict:
    versions = services.pipeline_store().history(name)
    return {"name": name, "items": [_out(d) for d in versions]}


@router.post("/pipelines/<name>/activate")
def activate_pipeline(name: str) -> dict:
    b: ActivateBody = _body(ActivateBody)
    return _out(services.pipeline_store().activate(name, b.version))


@router.post("/pipelines/<name>/deactivate")
def deactivate_pipeline(name: str) -> dict:
    return _out(services.pipeline_store().deactivate(name))
