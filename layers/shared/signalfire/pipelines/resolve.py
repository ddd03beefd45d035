"""Which pipeline a webhook starts, and loading it.

Order: ``?pipeline=<name>`` on the webhook URL, then the source's entry in
``SIGNALFIRE_SOURCE_PIPELINES`` (settings.source_pipelines, a JSON object
mapping driver name -> pipeline name), then for the host agent's alerts
(source ``agent``) ``SIGNALFIRE_AGENT_PIPELINE`` (``local-monitor`` unless
configured, e.g. ``local-smart``), then ``SIGNALFIRE_DEFAULT_PIPELINE``
(settings.default_pipeline, ``direct`` unless configured).
"""

from __future__ import annotations

from typing import Any

from signalfire.errors import ConfigurationError
from signalfire.pipelines.compile import compile_definition
from signalfire.pipelines.models import PipelineDefinition
from signalfire.pipelines.store import PipelineStore


def resolve_pipeline_name(source: str, query_pipeline: str | None, settings: Any) -> str:
    """``query_pipeline`` (blank = absent) wins, then ``settings.source_pipelines[source]``,
    then ``settings.default_pipeline``."""
    if query_pipeline is not None and query_pipeline.strip():
        return query_pipeline.strip()
    mapped = (getattr(settings, "source_pipelines", None) or {}).get(source)
    if isinstance(mapped, str) and mapped.strip():
        return mapped.strip()
    agent_pipeline = str(getattr(settings, "agent_pipeline", "") or "")
    if source == "agent" and agent_pipeline.strip():
        return agent_pipeline.strip()
    return str(settings.default_pipeline)


def load_definition(name: str, store: PipelineStore) -> tuple[PipelineDefinition, list[dict[str, Any]]]:
    """The active version of ``name`` and its compiled nodes.  NotFoundError
    (404) for an unknown pipeline, ConfigurationError (400) for an inactive one
    or one whose stored config no longer validates."""
    definition = store.get(name)
    if not definition.is_active:
        raise ConfigurationError(f"pipeline {name!r} is inactive; activate a version or choose another pipeline",
                                 details={"name": name, "problem": "inactive"})
    return definition, compile_definition(definition)
