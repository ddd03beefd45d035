"""The six built-in pipelines (seed: "Pick a pipeline preset").

Presets live in code, never in the table: they cannot be created, updated,
activated or deactivated through the API, and a custom pipeline cannot take
one of their names.  Their notify nodes name no drivers or channels, which
means "every active channel".  Presets fed by external webhooks start with an
``ingest`` node (the "Alert ->" of the seed's table); compile drops it.

==============  =====================================  ===================================
preset          I want to...                           nodes
==============  =====================================  ===================================
local-monitor   Monitor this server (basic)            context -> notify
local-smart     Monitor this server (with AI)          context -> intelligence -> notify
direct          Forward alerts to notifications        ingest -> notify
health-checked  Forward alerts with health context     ingest -> context -> notify
ai-analyzed     Forward alerts with AI analysis        ingest -> intelligence -> notify
full            Full alert processing pipeline         ingest -> context -> intelligence -> notify
==============  =====================================  ===================================
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from signalfire.pipelines.models import PipelineDefinition
from signalfire.pipelines.validation import parse_config

_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)

_INGEST = {"id": "ingest", "type": "ingest", "config": {}}
_CONTEXT = {"id": "check_health", "type": "context", "config": {}}
_INTEL = {"id": "analyze", "type": "intelligence", "config": {}}
_NOTIFY = {"id": "notify", "type": "notify", "config": {}}


def _chain(*nodes: dict[str, Any]) -> dict[str, Any]:
    chained = []
    for i, node in enumerate(nodes):
        n = {**node, "config": dict(node["config"])}
        if i + 1 < len(nodes):
            n["next"] = nodes[i + 1]["id"]
        chained.append(n)
    return {"version": "1.0", "defaults": {"max_retries": 3, "timeout_seconds": 300}, "nodes": chained}


#: name -> (description, alert source, config)
PRESET_CONFIGS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "local-monitor": ("Monitor this server (basic): run the health checkers and notify.",
                      "local", _chain(_CONTEXT, _NOTIFY)),
    "local-smart": ("Monitor this server (with AI): run the health checkers, analyze, notify.",
                    "local", _chain(_CONTEXT, _INTEL, _NOTIFY)),
    "direct": ("Forward alerts to notifications: every incoming alert goes straight to notify.",
               "webhook", _chain(_INGEST, _NOTIFY)),
    "health-checked": ("Forward alerts with health context: add checker results, then notify.",
                       "webhook", _chain(_INGEST, _CONTEXT, _NOTIFY)),
    "ai-analyzed": ("Forward alerts with AI analysis: analyze the incident, then notify.",
                    "webhook", _chain(_INGEST, _INTEL, _NOTIFY)),
    "full": ("Full alert processing pipeline: health context, AI analysis, then notify.",
             "webhook", _chain(_INGEST, _CONTEXT, _INTEL, _NOTIFY)),
}

PRESET_NAMES: tuple[str, ...] = tuple(PRESET_CONFIGS)


def _build(name: str) -> PipelineDefinition:
    description, source, config = PRESET_CONFIGS[name]
    return PipelineDefinition(
        name=name, description=description, version=1, config=parse_config(config),
        tags={"preset": "true", "source": source}, is_active=True, created_by="signalfire",
        created_at=_EPOCH, updated_at=_EPOCH, builtin=True, active_version=1, latest_version=1,
    )


PRESETS: dict[str, PipelineDefinition] = {name: _build(name) for name in PRESET_NAMES}


def is_preset(name: str) -> bool:
    return name in PRESETS


def get_preset(name: str) -> PipelineDefinition | None:
    """A copy of the preset (callers may not alter the shared instance)."""
    found = PRESETS.get(name)
    return found.model_copy(deep=True) if found else None
