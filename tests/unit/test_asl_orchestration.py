"""The state machine and the Python code share each orchestration fact
through one source: run keys (runs/keys.py), the fallback rule
(pipelines/compile.py resolve_fallback), and the retry count (the template's
StageMaxRetries, which the ASL both retries with and hands to every stage)."""

from __future__ import annotations

import json
import re
from typing import Any

from template_loader import load_template

from signalfire.pipelines.compile import FALLBACK_FIELD, resolve_fallback
from signalfire.runs.keys import OPEN_INDEX_ATTRIBUTES, RUN_PK_FORMAT, RUN_SK, status_gsi
from signalfire.runs.models import PipelineRun
from support import ROOT

ASL = ROOT / "statemachine" / "pipeline.asl.json"
MAX_RETRIES = 7  # any value: what matters is that both places carry the same placeholder


def _states() -> dict[str, Any]:
    text = ASL.read_text().replace("${StageMaxRetries}", str(MAX_RETRIES))
    found: dict[str, Any] = {}

    def walk(states: dict[str, Any]) -> None:
        for name, state in states.items():
            found[name] = state
            for key in ("Iterator", "ItemProcessor"):
                if key in state:
                    walk(state[key]["States"])
            for branch in state.get("Branches", []):
                walk(branch["States"])

    walk(json.loads(re.sub(r"\$\{[A-Za-z0-9_]+\}", "1", text))["States"])
    return found


def _dynamodb_tasks() -> dict[str, dict[str, Any]]:
    return {n: s.get("Parameters") or s.get("Arguments") for n, s in _states().items()
            if ":::dynamodb:" in str(s.get("Resource", ""))}


def test_the_asl_writes_the_run_item_under_the_keys_python_uses():
    tasks = _dynamodb_tasks()
    assert len(tasks) >= 3
    for name, params in tasks.items():
        assert params["Key"]["PK"] == {"S.$": f"States.Format('{RUN_PK_FORMAT}', $.run_id)"}, name
        assert params["Key"]["SK"] == {"S": RUN_SK}, name


def test_what_the_asl_sets_on_a_run_is_a_run_field_and_the_status_index_matches():
    allowed = set(PipelineRun.model_fields) | {"GSI2PK", "last_error_cause"}
    for name, params in _dynamodb_tasks().items():
        names = params.get("ExpressionAttributeNames") or {}
        values = params.get("ExpressionAttributeValues") or {}
        sets = params["UpdateExpression"].split("REMOVE")[0].removeprefix("SET ")
        assigned = dict(part.split(" = ", 1) for part in (p.strip() for p in sets.split(",")) if " = " in part)
        for attr in assigned:
            attr = names.get(attr, attr)
            assert attr in allowed, f"{name} sets {attr!r}, which PipelineRun does not know"
        status = next((v for k, v in assigned.items() if names.get(k) == "status"), None)
        if status:
            assert values[":g2"]["S"] == status_gsi(values[status]["S"]), name


def test_every_asl_task_that_ends_a_run_takes_it_out_of_the_open_runs_index():
    ending = {n: p["UpdateExpression"] for n, p in _dynamodb_tasks().items()
              if re.search(r"\boutcome = ", p["UpdateExpression"])}
    assert set(ending) >= {"MarkCompleted", "MarkSkipped"} and len(ending) == 3, ending
    for name, expression in ending.items():
        removed = {a.strip() for a in expression.split("REMOVE", 1)[1].split(",")} if "REMOVE" in expression else set()
        assert set(OPEN_INDEX_ATTRIBUTES) <= removed, f"{name} ends the run but leaves it in the open-runs index"


def test_every_stage_is_told_the_retry_count_it_is_retried_with():
    stages = {n: s for n, s in _states().items() if s.get("Resource") == "arn:aws:states:::lambda:invoke"}
    assert len(stages) >= 5
    for name, state in stages.items():
        ours = [r for r in state["Retry"] if not all(e.startswith("Lambda.") for e in r["ErrorEquals"])]
        assert [r["MaxAttempts"] for r in ours] == [MAX_RETRIES], name
        assert state["Parameters"]["Payload"]["max_retries"] == MAX_RETRIES, name


def test_functions_and_state_machine_take_the_retry_count_from_one_parameter():
    resources = load_template(ROOT / "template.yaml")["Resources"]
    machine = next(r for r in resources.values() if r["Type"] == "AWS::Serverless::StateMachine")
    assert machine["Properties"]["DefinitionSubstitutions"]["StageMaxRetries"] == {"Ref": "StageMaxRetries"}
    env = load_template(ROOT / "template.yaml")["Globals"]["Function"]["Environment"]["Variables"]
    assert env["SIGNALFIRE_MAX_RETRIES_PER_STAGE"] == {"Ref": "StageMaxRetries"}


def test_the_asl_falls_back_on_the_flag_the_launcher_resolved():
    states = _states()
    assert states["Analyze"]["Catch"][0]["Next"] == "UseFallback"
    variables = {c["Variable"] for n in ("UseFallback", "FallbackSetting") for c in states[n]["Choices"]}
    assert variables == {f"$.current.node.{FALLBACK_FIELD}"}
    assert states["FallbackSetting"]["Choices"][0]["Next"] == "AnalyzeWithLocalProvider"
    assert "IntelligenceFallbackEnabled" not in ASL.read_text()


def test_the_fallback_rule_node_setting_first_then_the_deployment():
    nodes = [{"id": "a", "type": "intelligence", "config": {}},
             {"id": "b", "type": "intelligence", "config": {"fallback": False}},
             {"id": "c", "type": "intelligence", "config": {"fallback": True}},
             {"id": "d", "type": "notify", "config": {}}]
    on = resolve_fallback(nodes, True)
    off = resolve_fallback(nodes, False)
    assert [n.get(FALLBACK_FIELD) for n in on] == [True, False, True, None]
    assert [n.get(FALLBACK_FIELD) for n in off] == [False, False, True, None]
    assert "fallback" not in nodes[0], "the definition's nodes are not changed in place"
