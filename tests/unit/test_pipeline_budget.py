"""The worst-case run duration (pipelines/budget.py) follows the ASL and the
template, and a definition past the Express limit is refused naming the node."""

from __future__ import annotations

import json
import re

import pytest

from signalfire.errors import ConfigurationError
from signalfire.pipelines import budget
from signalfire.pipelines.compile import compile_definition
from signalfire.pipelines.presets import PRESETS
from support import ROOT


def _asl() -> dict:
    text = (ROOT / "statemachine" / "pipeline.asl.json").read_text()
    # Placeholders become strings so the document parses; their names are checked below.
    text = re.sub(r'"\$\{(\w+)\}"', r'"__\1__"', text)
    return json.loads(re.sub(r"\$\{(\w+)\}", r'"__\1__"', text))


def test_the_budget_names_the_task_states_and_retriers_the_asl_has():
    states = _asl()["States"]
    lambda_tasks = {name for name, s in states.items()
                    if s["Type"] == "Task" and s["Resource"] == "arn:aws:states:::lambda:invoke"}
    assert lambda_tasks == set(budget.TASK_FUNCTION)
    assert set(budget.NODE_TASK.values()) | {budget.FALLBACK_TASK} == lambda_tasks
    for name in lambda_tasks:
        service, stage = states[name]["Retry"][:2]
        assert (service["IntervalSeconds"], service["MaxAttempts"], service["BackoffRate"]) == budget.SERVICE_RETRY
        assert all(e.startswith("Lambda.") for e in service["ErrorEquals"])
        assert (stage["IntervalSeconds"], stage["MaxAttempts"], stage["BackoffRate"]) == (
            "__StageRetryIntervalSeconds__", "__StageMaxRetries__", "__StageBackoffRate__")
        assert len(states[name]["Retry"]) == 2 and "TimeoutSeconds" not in states[name]  # the function's timeout bounds it
    dynamo = [s for s in states.values() if s["Type"] == "Task" and ":dynamodb:" in s["Resource"]]
    for s in dynamo:
        assert [(r["IntervalSeconds"], r["MaxAttempts"], r["BackoffRate"]) for r in s["Retry"]] == [budget.SERVICE_RETRY]


def test_the_budget_timeouts_are_the_template_function_timeouts():
    from signalfire_local.template import Template

    functions = Template(ROOT / "template.yaml").functions()
    by_name = {"check": "CheckFunction", "analyze": "AnalyzeFunction", "notify": "NotifyFunction",
               "transform": "TransformFunction"}
    from signalfire.settings import Settings

    timeouts = Settings().workflow_limits().timeouts
    for short, logical in by_name.items():
        assert functions[logical].timeout == timeouts[short], short


def test_retry_delays_follow_interval_and_backoff():
    assert budget.retry_delays(2, 3, 2) == 2 + 4 + 8
    assert budget.retry_delays(1, 0, 2) == 0


def test_every_preset_fits_a_standard_workflow():
    limits = budget.WorkflowLimits(workflow_type="STANDARD")
    for name, preset in PRESETS.items():
        assert budget.check_duration(compile_definition(preset), limits) < budget.STANDARD_LIMIT_SECONDS, name


def test_express_refuses_the_node_that_passes_five_minutes():
    limits = budget.WorkflowLimits(workflow_type="EXPRESS", max_retries=3)
    nodes = compile_definition(PRESETS["full"])
    with pytest.raises(ConfigurationError) as exc:
        budget.check_duration(nodes, limits)
    assert exc.value.details["node"] == next(n["id"] for n in nodes if n["type"] == "intelligence")
    assert "300 s" in exc.value.message and exc.value.http_status == 400


def test_express_accepts_a_pipeline_that_fits():
    limits = budget.WorkflowLimits(workflow_type="EXPRESS", max_retries=1, retry_interval_seconds=1)
    nodes = compile_definition(PRESETS["local-monitor"])
    seconds = budget.check_duration(nodes, limits)
    # check: 2 x 30 s + 1 s wait + quick retries; notify: 2 x 60 s + 1 s + quick; two run records.
    assert seconds == pytest.approx(2 * 30 + 1 + 10 + 2 * 60 + 1 + 10 + 2 * (1 + 10))
    assert seconds <= budget.EXPRESS_LIMIT_SECONDS


def test_fallback_counts_only_where_it_can_run():
    limits = budget.WorkflowLimits(workflow_type="EXPRESS", fallback_enabled=False)
    node = {"id": "ai", "type": "intelligence", "config": {}}
    assert budget.node_tasks(node, limits) == ["Analyze"]
    assert budget.node_tasks({**node, "config": {"fallback": True}}, limits) == ["Analyze", budget.FALLBACK_TASK]
    on = budget.WorkflowLimits(fallback_enabled=True)
    assert budget.node_tasks({**node, "config": {"fallback": False}}, on) == ["Analyze"]


def test_stated_max_retries_above_the_deployment_is_refused():
    limits = budget.WorkflowLimits(max_retries=2)
    config = {"defaults": {"max_retries": 3}, "nodes": [{"id": "n", "type": "notify"}]}
    with pytest.raises(ConfigurationError) as exc:
        budget.check_defaults(config, compile_definition(config), limits)
    assert exc.value.http_status == 400 and exc.value.details["key"] == "defaults.max_retries"
    assert "StageMaxRetries" in exc.value.message
    budget.check_defaults({**config, "defaults": {"max_retries": 2}}, [], limits)
    budget.check_defaults({"nodes": []}, [], limits)  # unstated: capped at run time, not refused


def test_a_stated_timeout_shorter_than_a_stage_function_is_kept_as_its_deadline():
    """timeout_seconds is applied (the deadline of each stage's outbound calls),
    so a value below a function's Timeout is no longer refused; it travels on
    every compiled node, and the worst case still counts the Timeout."""
    limits = budget.WorkflowLimits()  # analyze: 120 s, notify: 60 s
    config = {"defaults": {"timeout_seconds": 5}, "nodes": [
        {"id": "ai", "type": "intelligence", "next": "n"}, {"id": "n", "type": "notify"}]}
    nodes = compile_definition(config)
    budget.check_defaults(config, nodes, limits)
    assert [n["timeout_seconds"] for n in nodes] == [5, 5]
    assert budget.worst_case(nodes, limits) == budget.worst_case([{**n, "timeout_seconds": 300} for n in nodes],
                                                                 limits)


def test_worst_case_counts_the_pipeline_retry_cap():
    limits = budget.WorkflowLimits(max_retries=3)
    node = {"id": "n", "type": "notify", "config": {}}
    capped = budget.worst_case([{**node, "max_retries": 0}], limits)[0][1]
    full = budget.worst_case([node], limits)[0][1]
    assert full - capped == pytest.approx(3 * 60 + budget.retry_delays(2, 3, 2))


def test_at_run_start_a_preset_past_the_express_limit_is_refused_naming_it_and_the_limit():
    from signalfire.pipelines.presets import PRESETS

    express = budget.WorkflowLimits(workflow_type="EXPRESS")
    fits = {name: budget.workflow_fit(compile_definition(p), express) for name, p in PRESETS.items()}
    assert {n for n, f in fits.items() if f.fits} == {"direct"}  # at the default 3 retries
    for name in ("full", "ai-analyzed", "local-smart"):
        with pytest.raises(ConfigurationError) as exc:
            budget.check_runnable(name, compile_definition(PRESETS[name]), express)
        assert exc.value.http_status == 400 and f"pipeline {name!r} cannot run" in exc.value.message
        assert exc.value.details["pipeline"] == name and exc.value.details["limit_seconds"] == 300
        assert not fits[name].fits and fits[name].first_node_past_limit == exc.value.details["node"] == "analyze"
    budget.check_runnable("full", compile_definition(PRESETS["full"]), budget.WorkflowLimits())  # STANDARD
    one_retry = budget.WorkflowLimits(workflow_type="EXPRESS", max_retries=1)
    assert budget.workflow_fit(compile_definition(PRESETS["local-monitor"]), one_retry).fits
