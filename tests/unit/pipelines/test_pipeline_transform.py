"""Transform semantics: extract, map, filter (pure functions)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from signalfire.errors import ConfigurationError
from signalfire.pipelines.transform import apply_transform, compare, resolve_path

CONTEXT: dict[str, Any] = {
    "incident": {"id": "inc_1", "severity": "critical", "title": "Disk full"},
    "alerts": [
        {"name": "DiskFull", "labels": {"host": "web-1", "env": "prod"}, "value": 97.5},
        {"name": "DiskFull", "labels": {"host": "web-2", "env": "prod"}, "value": 91},
    ],
    "source": "grafana",
    "severity": "warning",
    "outputs": {"check_health": {"checks_failed": 2, "checks_run": 5}},
}


def run(config: dict[str, Any], context: dict[str, Any] | None = None):
    return apply_transform(config, copy.deepcopy(context if context is not None else CONTEXT))


# -- paths ---------------------------------------------------------------------------


def test_paths() -> None:
    assert resolve_path(CONTEXT, "incident.severity") == "critical"
    assert resolve_path(CONTEXT, "alerts.0.labels.host") == "web-1"
    assert resolve_path(CONTEXT, "alerts[1].labels.host") == "web-2"
    assert resolve_path(CONTEXT, "alerts.-1.value") == 91
    assert resolve_path(CONTEXT, "alerts.5.labels.host") is None
    assert resolve_path(CONTEXT, "incident.severity.x") is None
    assert resolve_path(CONTEXT, "outputs.check_health.checks_failed") == 2
    # a node id is looked up in outputs when it is not a context key
    assert resolve_path(CONTEXT, "check_health.checks_failed") == 2


# -- extract -------------------------------------------------------------------------


def test_extract_adds_values_and_does_not_mutate_input() -> None:
    before = copy.deepcopy(CONTEXT)
    result = apply_transform({"extract": {"host": "alerts.0.labels.host", "sev": "incident.severity",
                                          "missing": "incident.nope"}}, CONTEXT)
    assert before == CONTEXT
    assert not result.skipped and result.reason == ""
    assert result.context["host"] == "web-1" and result.context["sev"] == "critical"
    assert result.context["missing"] is None
    assert result.values == {"host": "web-1", "sev": "critical", "missing": None}
    assert result.context["incident"] == CONTEXT["incident"]


def test_extracted_containers_are_copies() -> None:
    result = run({"extract": {"labels": "alerts.0.labels"}})
    result.context["labels"]["host"] = "changed"
    assert result.context["alerts"][0]["labels"]["host"] == "web-1"


# -- map -----------------------------------------------------------------------------


def test_map_hit_default_and_passthrough() -> None:
    cfg = {"map": {"field": "incident.severity", "mapping": {"critical": "page", "warning": "ticket"},
                   "default": "log", "out_key": "route"}}
    assert run(cfg).context["route"] == "page"
    ctx = copy.deepcopy(CONTEXT)
    ctx["incident"]["severity"] = "info"
    assert run(cfg, ctx).context["route"] == "log"
    no_default = {"map": {"field": "incident.severity", "mapping": {"warning": "ticket"}, "out_key": "route"}}
    assert run(no_default).context["route"] == "critical"  # unchanged value


def test_map_in_place_for_a_top_level_field() -> None:
    result = run({"map": {"field": "source", "mapping": {"grafana": "grafana-cloud"}}})
    assert result.context["source"] == "grafana-cloud"
    assert CONTEXT["source"] == "grafana"


def test_map_numbers_and_null_default() -> None:
    assert run({"map": {"field": "check_health.checks_failed", "mapping": {"2": "two"},
                        "out_key": "n"}}).context["n"] == "two"
    result = run({"map": {"field": "incident.nope", "mapping": {"x": "y"}, "default": None, "out_key": "n"}})
    assert result.context["n"] is None


# -- filter --------------------------------------------------------------------------


def flt(field: str, op: str, value: Any = None, **kw: Any) -> dict[str, Any]:
    spec = {"field": field, "op": op, **kw}
    if value is not None or op not in ("exists",):
        spec["value"] = value
    return {"filter": spec}


def test_false_filter_skips_with_reason() -> None:
    result = run(flt("source", "eq", "datadog"))
    assert result.skipped is True
    assert "source" in result.reason and "eq" in result.reason and "'grafana'" in result.reason
    assert run(flt("source", "eq", "grafana")).skipped is False


@pytest.mark.parametrize(("field", "op", "value", "passes"), [
    ("incident.severity", "gte", "warning", True),     # critical >= warning
    ("incident.severity", "gte", "critical", True),
    ("severity", "gte", "critical", False),            # warning < critical
    ("severity", "gte", "info", True),
    ("severity", "lte", "warning", True),
    ("severity", "lte", "info", False),
    ("incident.severity", "lte", "warning", False),
    ("severity", "gte", "WARNING", True),              # case-insensitive words
    ("source", "gte", "warning", False),               # not a severity: no match
    ("alerts.0.value", "gte", 90, True),
    ("alerts.1.value", "gte", 95, False),
    ("alerts.1.value", "lte", "91", True),             # numeric strings compare as numbers
    ("incident.missing", "gte", "info", False),
])
def test_gte_lte(field: str, op: str, value: Any, passes: bool) -> None:
    assert run(flt(field, op, value)).skipped is (not passes)


@pytest.mark.parametrize(("field", "op", "value", "passes"), [
    ("source", "ne", "grafana", False),
    ("source", "ne", "datadog", True),
    ("incident.nope", "ne", "x", True),
    ("incident.nope", "eq", "x", False),
    ("source", "in", ["grafana", "datadog"], True),
    ("source", "in", ["zabbix"], False),
    ("source", "not_in", ["zabbix"], True),
    ("source", "not_in", ["grafana"], False),
    ("check_health.checks_failed", "eq", 2.0, True),
    ("check_health.checks_failed", "in", [1, 2], True),
    ("alerts.0.labels.host", "regex", r"^web-\d+$", True),
    ("alerts.0.labels.host", "regex", r"^db-", False),
    ("alerts.0.value", "regex", r"^97", True),
    ("incident.nope", "regex", ".*", False),
])
def test_other_ops(field: str, op: str, value: Any, passes: bool) -> None:
    assert run(flt(field, op, value)).skipped is (not passes)


def test_exists() -> None:
    assert run(flt("alerts.0.labels.env", "exists")).skipped is False
    result = run(flt("alerts.0.labels.team", "exists"))
    assert result.skipped is True and "exists" in result.reason
    assert run(flt("alerts.0.labels.team", "exists", False)).skipped is False


def test_ops_apply_in_order_extract_map_filter() -> None:
    config = {
        "extract": {"host": "alerts.0.labels.host"},
        "map": {"field": "host", "mapping": {"web-1": "frontend"}, "default": "other", "out_key": "tier"},
        "filter": {"field": "tier", "op": "eq", "value": "backend"},
    }
    result = run(config)
    assert result.skipped and "tier" in result.reason
    assert result.context["tier"] == "frontend"
    assert result.values == {"host": "web-1", "tier": "frontend"}


def test_compare() -> None:
    assert compare("critical", "warning") == 1
    assert compare("info", "warning") == -1
    assert compare("warning", "Warning") == 0
    assert compare(10, "9") == 1
    assert compare("b", "a") == 1
    assert compare({"x": 1}, 3) is None


def test_bad_config_raises_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="filter.op"):
        apply_transform({"filter": {"field": "x", "op": "like", "value": 1}}, {})
    with pytest.raises(ConfigurationError):
        apply_transform({}, {})
