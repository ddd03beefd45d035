"""compile_definition order and the execution input shape."""

from __future__ import annotations

import pytest

from signalfire.errors import ConfigurationError
from signalfire.pipelines.compile import compile_definition, execution_input
from signalfire.pipelines.presets import PRESETS


def test_compile_follows_next_from_the_entry_and_drops_ingest() -> None:
    config = {"version": "1.0", "nodes": [
        {"id": "notify", "type": "notify", "config": {"drivers": ["slack"]}},
        {"id": "filter_sev", "type": "transform",
         "config": {"filter": {"field": "severity", "op": "gte", "value": "warning"}}, "next": "analyze"},
        {"id": "in", "type": "ingest", "next": "filter_sev"},
        {"id": "analyze", "type": "intelligence", "config": {"provider": "claude"}, "next": "notify"},
    ]}
    nodes = compile_definition(config)
    assert [n["id"] for n in nodes] == ["filter_sev", "analyze", "notify"]
    assert nodes[1] == {"id": "analyze", "type": "intelligence", "config": {"provider": "claude"}, "max_retries": 3,
                        "timeout_seconds": 300}
    assert all(set(n) == {"id", "type", "config", "max_retries", "timeout_seconds"} for n in nodes)


def test_compile_accepts_a_definition_and_revalidates() -> None:
    assert [n["type"] for n in compile_definition(PRESETS["full"])] == ["context", "intelligence", "notify"]
    with pytest.raises(ConfigurationError):
        compile_definition({"nodes": [{"id": "a", "type": "notify", "next": "b"}]})


def test_ingest_only_compiles_to_nothing() -> None:
    assert compile_definition({"nodes": [{"id": "in", "type": "ingest"}]}) == []


def test_execution_input_shape() -> None:
    nodes = compile_definition(PRESETS["ai-analyzed"])
    doc = execution_input("run_1", "tr_1", "inc_1", "ai-analyzed", 1, nodes)
    assert doc == {
        "run_id": "run_1", "trace_id": "tr_1", "incident_id": "inc_1",
        "pipeline": {"name": "ai-analyzed", "version": 1},
        "nodes": nodes, "count": 2, "index": 0, "outputs": {},
    }
    resumed = execution_input("run_1", "tr_1", "inc_1", "ai-analyzed", 1, nodes, start_index=1,
                              outputs={"analyze": {"summary": "x"}})
    assert resumed["index"] == 1 and resumed["outputs"] == {"analyze": {"summary": "x"}}
    with pytest.raises(ValueError):
        execution_input("r", "t", None, "p", 1, nodes, start_index=3)
