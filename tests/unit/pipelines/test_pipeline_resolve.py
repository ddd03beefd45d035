"""Choosing and loading a webhook's pipeline."""

from __future__ import annotations

from typing import Any

import pytest

from signalfire.errors import ConfigurationError, NotFoundError
from signalfire.pipelines.models import PipelineConfig, PipelineDefinition
from signalfire.pipelines.presets import get_preset
from signalfire.pipelines.resolve import load_definition, resolve_pipeline_name
from signalfire.settings import Settings


def settings(**kw: Any) -> Settings:
    return Settings(default_pipeline="direct", source_pipelines={"grafana": "full"}, **kw)


def test_query_wins_over_source_and_default() -> None:
    assert resolve_pipeline_name("grafana", "ai-analyzed", settings()) == "ai-analyzed"


def test_source_mapping_wins_over_default() -> None:
    assert resolve_pipeline_name("grafana", None, settings()) == "full"
    assert resolve_pipeline_name("grafana", "  ", settings()) == "full"


def test_default_last() -> None:
    assert resolve_pipeline_name("zabbix", None, settings()) == "direct"
    assert resolve_pipeline_name("zabbix", "", Settings(default_pipeline="local-smart")) == "local-smart"


def test_source_pipelines_from_env_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGNALFIRE_SOURCE_PIPELINES", '{"agent": "local-smart"}')
    assert resolve_pipeline_name("agent", None, Settings.from_env()) == "local-smart"


class FakeStore:
    def __init__(self, defs: dict[str, PipelineDefinition]) -> None:
        self.defs = defs

    def get(self, name: str, version: int | None = None) -> PipelineDefinition:
        if name in self.defs:
            return self.defs[name]
        preset = get_preset(name)
        if preset is None:
            raise NotFoundError(f"pipeline {name!r} does not exist")
        return preset


def _custom(active: bool) -> PipelineDefinition:
    config = PipelineConfig.model_validate({"nodes": [{"id": "n", "type": "notify", "config": {}}]})
    return PipelineDefinition(name="mine", config=config, is_active=active)


def test_load_preset_and_custom() -> None:
    definition, nodes = load_definition("health-checked", FakeStore({}))  # type: ignore[arg-type]
    assert definition.name == "health-checked" and [n["type"] for n in nodes] == ["context", "notify"]
    definition, nodes = load_definition("mine", FakeStore({"mine": _custom(True)}))  # type: ignore[arg-type]
    assert nodes == [{"id": "n", "type": "notify", "config": {}, "max_retries": 3, "timeout_seconds": 300}]  # a stored definition states its defaults


def test_load_unknown_is_404() -> None:
    with pytest.raises(NotFoundError) as info:
        load_definition("nope", FakeStore({}))  # type: ignore[arg-type]
    assert info.value.http_status == 404


def test_load_inactive_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="inactive"):
        load_definition("mine", FakeStore({"mine": _custom(False)}))  # type: ignore[arg-type]
