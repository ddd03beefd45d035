"""validate_definition: every error kind names the node at fault."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from signalfire.errors import ConfigurationError
from signalfire.pipelines.models import MAX_NODES
from signalfire.pipelines.validation import validate_definition

SEED_EXAMPLE: dict[str, Any] = {
    "version": "1.0",
    "defaults": {"max_retries": 3, "timeout_seconds": 300},
    "nodes": [
        {"id": "check_health", "type": "context", "config": {"checker_names": ["cpu", "memory"]}, "next": "notify"},
        {"id": "notify", "type": "notify", "config": {"drivers": ["slack"]}},
    ],
}


def cfg(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {"version": "1.0", "nodes": list(nodes)}


def fails(config: Any, *needles: str, node: str | None = "unset", problem: str | None = None) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as info:
        validate_definition(config)
    err = info.value
    assert err.http_status == 400
    for needle in needles:
        assert needle in err.message, (needle, err.message)
    if node != "unset":
        assert err.details["node"] == node
    if problem:
        assert err.details["problem"] == problem
    return err


def test_seed_example_is_valid() -> None:
    nodes = validate_definition(SEED_EXAMPLE)
    assert [n.id for n in nodes] == ["check_health", "notify"]
    assert nodes[0].config == {"checker_names": ["cpu", "memory"]}


def test_nodes_come_back_in_execution_order_whatever_the_listing_order() -> None:
    nodes = validate_definition(cfg(
        {"id": "c", "type": "notify"},
        {"id": "a", "type": "context", "next": "b"},
        {"id": "b", "type": "intelligence", "next": "c"},
    ))
    assert [n.id for n in nodes] == ["a", "b", "c"]


def test_unknown_node_type_names_the_node() -> None:
    fails(cfg({"id": "enrich", "type": "enricher"}), "'enrich'", "unknown node type 'enricher'",
          node="enrich", problem="unknown_type")


def test_duplicate_node_id_names_the_node() -> None:
    fails(cfg({"id": "n1", "type": "context", "next": "n1x"}, {"id": "n1x", "type": "notify"},
              {"id": "n1", "type": "notify"}),
          "'n1'", "duplicate", node="n1", problem="duplicate_id")


def test_dangling_next_names_the_node_and_target() -> None:
    fails(cfg({"id": "check", "type": "context", "next": "notfy"}, {"id": "notify", "type": "notify"}),
          "'check'", "'notfy'", node="check", problem="dangling_next")


def test_cycle_is_rejected_and_named() -> None:
    err = fails(cfg({"id": "a", "type": "context", "next": "b"}, {"id": "b", "type": "transform",
                     "config": {"extract": {"x": "severity"}}, "next": "a"}),
                "cycle", problem="cycle")
    assert err.details["node"] in {"a", "b"}
    assert "a -> b -> a" in err.message or "b -> a -> b" in err.message


def test_self_loop_is_a_cycle() -> None:
    fails(cfg({"id": "loop", "type": "notify", "next": "loop"}), "'loop'", "cycle", node="loop")


def test_cycle_behind_an_entry_node() -> None:
    fails(cfg({"id": "start", "type": "context", "next": "x"},
              {"id": "x", "type": "intelligence", "next": "y"},
              {"id": "y", "type": "notify", "next": "x"}), "cycle", "x -> y -> x", problem="cycle")


def test_two_entry_nodes_name_the_unreachable_one() -> None:
    fails(cfg({"id": "a", "type": "context", "next": "n"}, {"id": "b", "type": "intelligence"},
              {"id": "n", "type": "notify"}),
          "'b'", "unreachable", "more than one entry node", node="b", problem="unreachable")


def test_two_nodes_merging_into_one_is_two_entries() -> None:
    fails(cfg({"id": "a", "type": "context", "next": "n"}, {"id": "b", "type": "intelligence", "next": "n"},
              {"id": "n", "type": "notify"}), "'b'", "unreachable", node="b")


@pytest.mark.parametrize(("node", "needles"), [
    ({"id": "ctx", "type": "context", "config": {"checker_names": ["cpu", "gpu"]}}, ["unknown checker 'gpu'"]),
    ({"id": "ctx", "type": "context", "config": {"checker_names": "cpu"}}, ["checker_names", "list"]),
    ({"id": "ctx", "type": "context", "config": {"checkers": ["cpu"]}}, ["checkers", "not permitted"]),
    ({"id": "ctx", "type": "intelligence", "config": {"provider": "bard ai!"}}, ["'bard ai!'", "neither a provider type"]),
    ({"id": "ctx", "type": "intelligence", "config": {"fallback": "yes"}}, ["fallback"]),
    ({"id": "ctx", "type": "notify", "config": {"drivers": ["slack", "sms"]}}, ["unknown notify driver 'sms'"]),
    ({"id": "ctx", "type": "notify", "config": {"channels": "ops"}}, ["channels"]),
    ({"id": "ctx", "type": "notify", "config": ["slack"]}, ["config must be an object"]),
    ({"id": "ctx", "type": "transform", "config": {}}, ["at least one of extract, filter, map"]),
    ({"id": "ctx", "type": "transform", "config": {"filter": {"field": "severity", "op": "like", "value": "x"}}},
     ["filter.op"]),
    ({"id": "ctx", "type": "transform", "config": {"filter": {"field": "a..b", "op": "eq", "value": 1}}},
     ["filter.field", "malformed"]),
    ({"id": "ctx", "type": "transform", "config": {"filter": {"field": "severity", "op": "in", "value": "x"}}},
     ["needs a list"]),
    ({"id": "ctx", "type": "transform", "config": {"filter": {"field": "severity", "op": "regex", "value": "("}}},
     ["does not compile"]),
    ({"id": "ctx", "type": "transform", "config": {"filter": {"field": "severity", "op": "eq"}}}, ["needs a value"]),
    ({"id": "ctx", "type": "transform", "config": {"extract": {"host": "alerts..0"}}}, ["extract", "malformed"]),
    ({"id": "ctx", "type": "transform", "config": {"extract": {"a.b": "severity"}}}, ["out_key"]),
    ({"id": "ctx", "type": "transform", "config": {"extract": {"incident": "severity"}}}, ["reserved"]),
    ({"id": "ctx", "type": "transform", "config": {"map": {"field": "incident.severity", "mapping": {}}}},
     ["out_key is required"]),
    ({"id": "ctx", "type": "transform", "config": {"map": {"field": "severity", "mapping": ["a"]}}},
     ["map.mapping"]),
])
def test_bad_node_config_names_the_node(node: dict[str, Any], needles: list[str]) -> None:
    fails(cfg(node), "'ctx'", *needles, node="ctx", problem="bad_config")


def test_empty_nodes() -> None:
    fails(cfg(), "no nodes", node=None, problem="empty")
    fails({"version": "1.0"}, "nodes", problem="empty")


def test_too_many_nodes() -> None:
    nodes = [{"id": f"n{i}", "type": "transform", "config": {"extract": {"x": "severity"}}, "next": f"n{i + 1}"}
             for i in range(MAX_NODES)]
    nodes.append({"id": f"n{MAX_NODES}", "type": "notify"})
    fails(cfg(*nodes), f"at most {MAX_NODES}", problem="too_many_nodes")
    validate_definition(cfg(*nodes[1:]))  # exactly 20 is fine


def test_wrong_top_level_types() -> None:
    fails(["nodes"], "must be an object")
    fails({"version": "2.0", "nodes": [{"id": "n", "type": "notify"}]}, "version '2.0'")
    fails({"nodes": [{"id": "n", "type": "notify"}], "edges": []}, "unknown key(s) edges")
    fails({"nodes": [{"id": "n", "type": "notify"}], "defaults": {"max_retries": "many"}}, "defaults.max_retries")
    fails(cfg("notify"), "node #1")
    fails(cfg({"type": "notify"}), "node #1", "id")
    fails(cfg({"id": "n", "type": "notify", "next": 3}), "'n'", "'next'", node="n")
    fails(cfg({"id": "n", "type": "notify", "nxt": "x"}), "'n'", "nxt", node="n")
    fails(cfg({"id": "bad id!", "type": "notify"}), "'bad id!'")


def test_ingest_must_be_the_entry_node() -> None:
    fails(cfg({"id": "ctx", "type": "context", "next": "in"}, {"id": "in", "type": "ingest"}),
          "'in'", "ingest", node="in")
    validate_definition(cfg({"id": "in", "type": "ingest", "next": "ctx"}, {"id": "ctx", "type": "context"}))


def test_validation_does_not_mutate_input() -> None:
    before = copy.deepcopy(SEED_EXAMPLE)
    validate_definition(SEED_EXAMPLE)
    assert before == SEED_EXAMPLE


def test_omitted_options_are_valid() -> None:
    nodes = validate_definition(cfg(
        {"id": "c", "type": "context", "config": {}, "next": "i"},
        {"id": "i", "type": "intelligence", "next": "n"},
        {"id": "n", "type": "notify", "config": {"channels": ["ops-slack"], "drivers": ["email", "pagerduty"]}},
    ))
    assert nodes[1].config == {}
    assert nodes[2].config == {"channels": ["ops-slack"], "drivers": ["email", "pagerduty"]}
