"""Pipeline definitions: the JSON schema a pipeline is written in, and the
stored record (seed: ``PipelineDefinition``).

A definition's ``config`` looks like::

    {
      "version": "1.0",
      "defaults": {"max_retries": 3, "timeout_seconds": 300},
      "nodes": [
        {"id": "check_health", "type": "context",
         "config": {"checker_names": ["cpu", "memory"]}, "next": "notify"},
        {"id": "notify", "type": "notify", "config": {"drivers": ["slack"]}}
      ]
    }

The nodes form one chain: the entry node is the one no other node's ``next``
points at; a node without ``next`` ends the run.  The per-type ``config``
models below are strict (unknown keys are errors, so a typo never silently
turns a setting off).  Graph rules (one entry, no cycle, no dangling ``next``)
live in :mod:`signalfire.pipelines.validation`.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from signalfire.models import Model
from signalfire.timeutil import utcnow

SCHEMA_VERSION: Literal["1.0"] = "1.0"
MAX_NODES = 20

#: The 8 health checkers a ``context`` node may name.
CHECKERS: tuple[str, ...] = ("cpu", "memory", "disk", "disk_common", "disk_linux", "disk_macos", "network", "process")
#: Intelligence providers; omitting ``provider`` means "the active provider".
PROVIDERS: tuple[str, ...] = ("local", "openai", "claude", "gemini", "copilot", "grok", "ollama", "mistral")
#: Notification drivers a ``notify`` node may restrict itself to.
NOTIFY_DRIVERS: tuple[str, ...] = ("email", "slack", "pagerduty", "generic", "console")  # = notify.channels.CHANNELS
#: Operators of a transform ``filter``.
FILTER_OPS: tuple[str, ...] = ("eq", "ne", "in", "not_in", "gte", "lte", "exists", "regex")
#: Run-context keys a transform may not overwrite (the platform owns them).
RESERVED_CONTEXT_KEYS: frozenset[str] = frozenset({"incident", "alerts", "outputs"})

#: A configured intelligence provider's name (intelligence.models.IntelligenceProvider.name).
PROVIDER_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
NODE_ID_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$")
CHANNEL_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$")
OUT_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# A dotted path: segments of anything but dots, brackets and whitespace, or [n].
_SEGMENT_RE = re.compile(r"[^.\[\]\s]+|\[-?\d+\]")
_PATH_RE = re.compile(r"[^.\[\]\s]+(?:\[-?\d+\])*(?:\.[^.\[\]\s]+(?:\[-?\d+\])*)*")


class NodeType(StrEnum):
    INGEST = "ingest"
    CONTEXT = "context"
    INTELLIGENCE = "intelligence"
    NOTIFY = "notify"
    TRANSFORM = "transform"


NODE_TYPES: tuple[str, ...] = tuple(t.value for t in NodeType)


# --- dotted paths --------------------------------------------------------------------


def parse_path(path: Any) -> list[str | int]:
    """Split ``incident.severity`` / ``alerts.0.labels.host`` / ``alerts[0].labels.host``
    into segments (all-digit segments become list indexes).  ValueError if malformed."""
    if not isinstance(path, str) or not path:
        raise ValueError("a path must be a non-empty string like 'incident.severity'")
    if not _PATH_RE.fullmatch(path):
        raise ValueError(f"path {path!r} is malformed: use dotted segments like 'alerts.0.labels.host'")
    segments: list[str | int] = []
    for token in _SEGMENT_RE.findall(path):
        if token.startswith("["):
            segments.append(int(token[1:-1]))
        elif token.lstrip("-").isdigit():
            segments.append(int(token))
        else:
            segments.append(token)
    return segments


def _check_path(v: Any) -> str:
    parse_path(v)
    return v


# --- per-type node configs -----------------------------------------------------------


class _Strict(Model):
    model_config = ConfigDict(extra="forbid")


class FaultConfig(_Strict):
    """Fault injection for tests and demos; honoured only when
    SIGNALFIRE_LOCAL or SIGNALFIRE_FAULT_INJECTION is true (docs/state-machine.md).

    ``fail_times``: fail the first N attempts with a retryable error;
    ``always``: fail every attempt; ``while_file_exists``: fail while that
    file exists (delete it to "fix the cause", then resume);
    ``error``: ``retryable`` (StageRetryableError) or ``config`` (ConfigurationError).
    """

    fail_times: int = Field(default=0, ge=0, le=20)
    always: bool = False
    while_file_exists: str | None = None
    error: Literal["retryable", "config"] = "retryable"


class _NodeConfig(_Strict):
    fault: FaultConfig | None = None


class IngestConfig(_Strict):
    """Ingest happens in the webhook Lambda before the run starts: an ingest
    node documents where the alert came from and carries no settings."""


class ContextConfig(_NodeConfig):
    """Run health checkers.  ``checker_names`` omitted = every checker."""

    checker_names: list[str] | None = None

    @field_validator("checker_names")
    @classmethod
    def _known(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        for name in v:
            if name not in CHECKERS:
                raise ValueError(f"unknown checker {name!r}; known checkers: {', '.join(CHECKERS)}")
        if len(set(v)) != len(v):
            raise ValueError("a checker is named twice")
        return v


class IntelligenceConfig(_NodeConfig):
    """AI analysis.  ``provider`` omitted = the active provider; ``fallback``
    omitted = the deployment's IntelligenceFallbackEnabled setting."""

    provider: str | None = None
    fallback: bool | None = None

    @field_validator("provider")
    @classmethod
    def _known(cls, v: str | None) -> str | None:
        # A provider type, or the name of a configured provider (checked against the
        # configured ones when the definition is saved through the API).
        if v is not None and v not in PROVIDERS and not PROVIDER_NAME_RE.match(v):
            raise ValueError(f"provider {v!r} is neither a provider type ({', '.join(PROVIDERS)}) nor a valid "
                             "configured provider name")
        return v

    @field_validator("fallback", mode="before")
    @classmethod
    def _strict_bool(cls, v: Any) -> Any:
        if v is not None and not isinstance(v, bool):
            raise ValueError("fallback must be true or false")
        return v


class NotifyConfig(_NodeConfig):
    """Send notifications.  ``drivers`` narrows the active channels to those
    drivers, ``channels`` names channels; neither = every active channel."""

    drivers: list[str] | None = None
    channels: list[str] | None = None

    @field_validator("drivers")
    @classmethod
    def _known(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        for name in v:
            if name not in NOTIFY_DRIVERS:
                raise ValueError(f"unknown notify driver {name!r}; known drivers: {', '.join(NOTIFY_DRIVERS)}")
        return v

    @field_validator("channels")
    @classmethod
    def _names(cls, v: list[str] | None) -> list[str] | None:
        for name in v or []:
            if not CHANNEL_RE.match(name):
                raise ValueError(f"channel name {name!r} is not valid")
        return v


class FilterSpec(_Strict):
    field: str
    op: Literal["eq", "ne", "in", "not_in", "gte", "lte", "exists", "regex"]
    value: Any = None

    @field_validator("field")
    @classmethod
    def _path(cls, v: str) -> str:
        return _check_path(v)

    @model_validator(mode="after")
    def _value_fits_op(self) -> FilterSpec:
        op, value = self.op, self.value
        fields_set = self.model_fields_set
        if op in ("in", "not_in"):
            if not isinstance(value, list):
                raise ValueError(f"op {op!r} needs a list value")
        elif op in ("gte", "lte"):
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise ValueError(f"op {op!r} needs a number or a severity (critical, warning, info)")
        elif op == "exists":
            if "value" in fields_set and not isinstance(value, bool):
                raise ValueError("op 'exists' takes an optional true/false value")
        elif op == "regex":
            if not isinstance(value, str):
                raise ValueError("op 'regex' needs a pattern string value")
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"regex {value!r} does not compile: {exc}") from None
        elif "value" not in fields_set:
            raise ValueError(f"op {op!r} needs a value")
        return self


class MapSpec(_Strict):
    field: str
    mapping: dict[str, Any]
    default: Any = None
    out_key: str | None = None

    @field_validator("field")
    @classmethod
    def _path(cls, v: str) -> str:
        return _check_path(v)

    @model_validator(mode="after")
    def _target(self) -> MapSpec:
        if self.out_key is None:
            if len(parse_path(self.field)) != 1 or not isinstance(parse_path(self.field)[0], str):
                raise ValueError("out_key is required when field is a nested path")
            self.out_key = self.field
        _check_out_key(self.out_key)
        return self

    @property
    def has_default(self) -> bool:
        return "default" in self.model_fields_set


def _check_out_key(key: str) -> str:
    if not OUT_KEY_RE.match(key):
        raise ValueError(f"out_key {key!r} must be an identifier (letters, digits, _), not a path")
    if key in RESERVED_CONTEXT_KEYS:
        raise ValueError(f"out_key {key!r} is reserved ({', '.join(sorted(RESERVED_CONTEXT_KEYS))})")
    return key


class TransformConfig(_NodeConfig):
    """Extract, map and/or filter run-context data (see transform.py).  When a
    node has several, they apply in the order extract -> map -> filter."""

    extract: dict[str, str] | None = None
    map: MapSpec | None = None
    filter: FilterSpec | None = None

    @field_validator("extract")
    @classmethod
    def _extract(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        if v is None:
            return v
        if not v:
            raise ValueError("extract needs at least one {\"out_key\": \"path\"} entry")
        for key, path in v.items():
            _check_out_key(key)
            try:
                parse_path(path)
            except ValueError as exc:
                raise ValueError(f"extract.{key}: {exc}") from None
        return v

    @model_validator(mode="after")
    def _some_op(self) -> TransformConfig:
        if self.extract is None and self.map is None and self.filter is None:
            raise ValueError("a transform node needs at least one of extract, filter, map")
        return self


CONFIG_MODELS: dict[str, type[BaseModel]] = {
    NodeType.INGEST: IngestConfig,
    NodeType.CONTEXT: ContextConfig,
    NodeType.INTELLIGENCE: IntelligenceConfig,
    NodeType.NOTIFY: NotifyConfig,
    NodeType.TRANSFORM: TransformConfig,
}


# --- the definition -----------------------------------------------------------------


class Node(_Strict):
    """One validated node.  ``config`` is the normalized config (``None``
    settings dropped)."""

    id: str
    type: NodeType
    config: dict[str, Any] = Field(default_factory=dict)
    next: str | None = None

    def compiled(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type.value, "config": self.config}


class Defaults(_Strict):
    max_retries: int = Field(default=3, ge=0, le=10)
    timeout_seconds: int = Field(default=300, ge=1, le=900)


class PipelineConfig(_Strict):
    """The ``config`` of a definition (structure only; build one through
    :func:`signalfire.pipelines.validation.parse_config` to get the graph checks)."""

    version: Literal["1.0"] = SCHEMA_VERSION
    defaults: Defaults = Field(default_factory=Defaults)
    nodes: list[Node]


class WorkflowFit(Model):
    """Whether a pipeline's worst-case run fits this deployment's workflow
    (shown by ``GET /pipelines/``; never stored).  An Express execution stops
    at 5 minutes, so a pipeline that does not fit is refused at run start."""

    workflow_type: str
    limit_seconds: int
    worst_case_seconds: int
    fits: bool
    #: the first node that takes the worst case past the limit, when it does not fit
    first_node_past_limit: str | None = None


class PipelineDefinition(Model):
    """The stored record (seed: PipelineDefinition).

    ``version`` counts from 1 and grows by one on every update; old versions
    are kept.  ``is_active`` is true when the pipeline is active *and* this is
    its active version.  ``builtin`` marks the presets, which live in code.
    """

    name: str
    description: str = ""
    version: int = Field(default=1, ge=1)
    config: PipelineConfig
    tags: dict[str, Any] = Field(default_factory=dict)
    is_active: bool = True
    created_by: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    builtin: bool = False
    active_version: int | None = None
    latest_version: int | None = None
    #: filled by the API from the deployment's workflow (pipelines/budget.py ``workflow_fit``); not stored
    workflow_fit: WorkflowFit | None = None

    def get_nodes(self) -> list[Node]:
        return list(self.config.nodes)

    def get_defaults(self) -> Defaults:
        return self.config.defaults
