"""The local Step Functions adapter, and the real statemachine/pipeline.asl.json
running in moto's interpreter with the real stage handlers.

The adapter leans on moto internals (it replaces moto's Lambda invoke), so
it has its own tests: the toy machine checks dispatch, retry by error class
name and catch; the pipeline tests check what a run needs end to end:
presets, retries with attempts recorded, failure recording, the AI
fallback, resume without duplicate deliveries, and a filter that skips.

The DynamoDB table is built from template.yaml's ``Table`` properties, and
the retry settings are small (IntervalSeconds 1, BackoffRate 1) to keep
the tests fast.
"""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from stackclient import PRESET_STAGES, until

from signalfire_local import stepfunctions
from signalfire_local.template import Function
from support import ROOT, table_spec

MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
TABLE = "signalfire-functional"
STAGE_FUNCTIONS = {"CheckFunctionArn": "check", "AnalyzeFunctionArn": "analyze", "NotifyFunctionArn": "notify",
                   "TransformFunctionArn": "transform"}
MAX_RETRIES = 3


@pytest.fixture(autouse=True)
def _env(aws_env):
    yield


# ---------------------------------------------------------------- the adapter on a toy machine


class FlakyError(Exception):
    pass


class FatalError(Exception):
    pass


def _run_toy(definition: dict, handler, *, by_logical_id: bool) -> dict:
    with mock_aws(config=MOTO_CONFIG):
        if by_logical_id:  # how the local stack calls it: template functions by logical id
            fn = Function(logical_id="Worker", code_uri=Path("."), handler="app.h")
            stepfunctions.install_lambda_dispatcher({"Worker": handler}, {"Worker": fn})
            stepfunctions.create_functions({"Worker": fn})
        else:  # the simple form: function name -> handler
            stepfunctions.install_lambda_dispatcher({"Worker": handler})
            stepfunctions.create_functions(["Worker"])
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = sfn.create_state_machine(name="t", definition=json.dumps(definition),
                                       roleArn=stepfunctions.role_arn())["stateMachineArn"]
        ex = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"n": 1}))["executionArn"]
        for _ in range(200):
            desc = sfn.describe_execution(executionArn=ex)
            if desc["status"] != "RUNNING":
                return desc
            time.sleep(0.05)
    raise AssertionError("execution did not finish")


def _toy(retry_on: list[str]) -> dict:
    return {"StartAt": "Work", "States": {
        "Work": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                 "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:Worker",
                                "Payload": {"n.$": "$.n", "retry.$": "$$.State.RetryCount"}},
                 "ResultSelector": {"out.$": "$.Payload"}, "ResultPath": "$.result",
                 "Retry": [{"ErrorEquals": retry_on, "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 1}],
                 "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
                 "End": True},
        "Caught": {"Type": "Pass", "End": True}}}


@pytest.mark.parametrize("by_logical_id", [False, True])
def test_dispatches_and_retries_by_class_name(by_logical_id):
    seen: list[int] = []

    def handler(event, context):
        seen.append(event["retry"])
        assert context.function_name == "Worker" and context.memory_limit_in_mb > 0
        assert context.invoked_function_arn.endswith(":function:Worker") and context.aws_request_id
        assert context.get_remaining_time_in_millis() > 0
        if len(seen) < 3:
            raise FlakyError("not yet")
        return {"ok": True, "n": event["n"]}

    desc = _run_toy(_toy(["FlakyError"]), handler, by_logical_id=by_logical_id)
    assert desc["status"] == "SUCCEEDED"
    assert json.loads(desc["output"])["result"]["out"] == {"ok": True, "n": 1}
    assert seen == [0, 1, 2]


def test_unmatched_error_is_caught_with_its_class_name():
    def handler(event, context):
        raise FatalError("broken for good")

    desc = _run_toy(_toy(["FlakyError"]), handler, by_logical_id=False)
    out = json.loads(desc["output"])
    assert desc["status"] == "SUCCEEDED" and out["error"]["Error"] == "FatalError"
    cause = json.loads(out["error"]["Cause"])
    assert cause["errorMessage"] == "broken for good" and isinstance(cause["stackTrace"], list)


# ---------------------------------------------------------------- executions take turns


@pytest.fixture
def turns():
    """Two turns; restored to no limit afterwards (the fixtures outside the local stack have none)."""
    stepfunctions.limit_running_executions(2)
    yield
    stepfunctions.limit_running_executions(None)


def _start_toys(handler, count: int, definition: dict | None = None) -> tuple[Any, list[str]]:
    stepfunctions.install_lambda_dispatcher({"Worker": handler})
    stepfunctions.create_functions(["Worker"])
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    arn = sfn.create_state_machine(name="turns", definition=json.dumps(definition or _toy(["FlakyError"])),
                                   roleArn=stepfunctions.role_arn())["stateMachineArn"]
    return sfn, [sfn.start_execution(stateMachineArn=arn, name=f"turn-{i}", input=json.dumps({"n": i}))["executionArn"]
                 for i in range(count)]


def _wait_all(sfn, arns: list[str]) -> list[dict]:
    def finished() -> list[dict] | None:
        found = [sfn.describe_execution(executionArn=a) for a in arns]
        return found if all(d["status"] != "RUNNING" for d in found) else None

    return until(finished, timeout=30, what="executions to finish", every=0.05)


def test_at_most_the_limit_of_executions_evaluate_at_once(turns):
    import threading

    gate, lock = threading.Event(), threading.Lock()
    inside: list[int] = []
    most = [0]

    def handler(event, context):
        with lock:
            inside.append(event["n"])
            most[0] = max(most[0], len(inside))
        gate.wait(10)
        with lock:
            inside.remove(event["n"])
        return {"n": event["n"]}

    earlier = set(threading.enumerate())  # an earlier test's execution may still be finishing
    with mock_aws(config=MOTO_CONFIG):
        sfn, arns = _start_toys(handler, 5)
        until(lambda: len(inside) >= 2, timeout=10, what="two executions inside", every=0.02)
        time.sleep(0.3)  # a third execution, if it could start, would be inside by now
        assert len(inside) == 2
        assert [sfn.describe_execution(executionArn=a)["status"] for a in arns] == ["RUNNING"] * 5  # started, waiting
        evaluating = [t for t in threading.enumerate()
                      if t.name.endswith("(_execution_logic)") and t not in earlier]
        assert len(evaluating) == 2  # the three waiting ones are queue entries, not threads
        gate.set()
        done = _wait_all(sfn, arns)
    assert [d["status"] for d in done] == ["SUCCEEDED"] * 5
    assert most[0] == 2


def test_a_backlog_that_drains_without_new_starts_leaves_no_finished_threads(turns):
    """moto lists every worker thread in TMP_THREADS; a finished one keeps its
    execution's environment alive through its closure.  Queued executions that
    run after the last start (a storm's backlog draining) must not stay listed."""
    import threading

    from moto.stepfunctions.parser import utils

    gate = threading.Event()

    def handler(event, context):
        gate.wait(10)
        return {"n": event["n"]}

    with mock_aws(config=MOTO_CONFIG):
        sfn, arns = _start_toys(handler, 6)  # the last start: 2 evaluating, 4 queued
        gate.set()
        done = _wait_all(sfn, arns)
        deadline = time.monotonic() + 10
        while True:  # the last execution's end prunes the list just after _wait_all sees it done
            dead = [t for t in utils.TMP_THREADS if not t.is_alive()]
            if len(dead) <= 1 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    assert [d["status"] for d in done] == ["SUCCEEDED"] * 6
    assert len(dead) <= 1, [t.name for t in dead]  # at most the one whose end pruned the others


def test_a_start_looks_its_name_up_instead_of_scanning_every_execution(turns):
    """StartExecution's name check answers as moto's scan does (same name and
    input while running: the same execution; different input, or finished:
    ExecutionAlreadyExists) from an index that follows the machine's list,
    so a start does not cost more with every execution queued before it."""
    import threading

    from botocore.exceptions import ClientError

    from signalfire_local import motofixes

    gate = threading.Event()

    def handler(event, context):
        gate.wait(10)
        return {"n": event["n"]}

    with mock_aws(config=MOTO_CONFIG):
        rebuilds = motofixes.NAMES.rebuilds
        sfn, arns = _start_toys(handler, 30)  # 2 evaluating, 28 queued
        assert motofixes.NAMES.rebuilds - rebuilds == 1  # built once, then kept up to date: no scan per start
        machine = arns[0].replace(":execution:", ":stateMachine:").rsplit(":", 1)[0]
        again = sfn.start_execution(stateMachineArn=machine, name="turn-7", input=json.dumps({"n": 7}))
        assert again["executionArn"] == arns[7]  # idempotent while running
        with pytest.raises(ClientError, match="ExecutionAlreadyExists"):
            sfn.start_execution(stateMachineArn=machine, name="turn-7", input=json.dumps({"n": 8}))
        gate.set()
        _wait_all(sfn, arns)
        with pytest.raises(ClientError, match="ExecutionAlreadyExists"):  # finished: refused
            sfn.start_execution(stateMachineArn=machine, name="turn-3", input=json.dumps({"n": 3}))
        fresh = sfn.start_execution(stateMachineArn=machine, name="turn-new", input=json.dumps({"n": 99}))
        assert _wait_all(sfn, [fresh["executionArn"]])[0]["status"] == "SUCCEEDED"
        assert motofixes.NAMES.rebuilds - rebuilds == 1


def test_a_retry_back_off_gives_the_turn_away(turns):
    """Two turns, two executions failing once (1 s back-off): a third gets a
    turn while they sleep, instead of waiting for them to finish."""
    import threading

    order: list[str] = []
    lock = threading.Lock()
    tries: dict[int, int] = {}

    def handler(event, context):
        with lock:
            tries[event["n"]] = tries.get(event["n"], 0) + 1
            order.append(f"{event['n']}:{tries[event['n']]}")
            first = tries[event["n"]] == 1
        if event["n"] < 2 and first:
            raise FlakyError("once")
        return {"n": event["n"]}

    with mock_aws(config=MOTO_CONFIG):
        sfn, arns = _start_toys(handler, 3)
        done = _wait_all(sfn, arns)
    assert [d["status"] for d in done] == ["SUCCEEDED"] * 3
    assert order.index("2:1") < max(order.index("0:2"), order.index("1:2"))


def test_a_stop_while_waiting_aborts_the_execution_when_its_turn_comes(turns):
    import threading

    gate = threading.Event()
    ran: list[int] = []

    def handler(event, context):
        ran.append(event["n"])
        gate.wait(10)
        return {"n": event["n"]}

    with mock_aws(config=MOTO_CONFIG):
        sfn, arns = _start_toys(handler, 3)
        until(lambda: len(ran) >= 2, timeout=10, what="two executions running", every=0.02)
        waiting = next(a for i, a in enumerate(arns) if i not in ran)
        sfn.stop_execution(executionArn=waiting, error="Stopped", cause="by the test")
        gate.set()
        done = {d["executionArn"]: d for d in _wait_all(sfn, arns)}
    assert done[waiting]["status"] == "ABORTED"
    assert sorted(ran) == sorted(i for i, a in enumerate(arns) if a != waiting)  # it never ran its task
    assert all(d["status"] == "SUCCEEDED" for a, d in done.items() if a != waiting)


def test_a_waiting_execution_is_its_record_alone_and_answers_as_a_running_one(turns):
    """A storm leaves thousands of executions waiting: each holds its record
    and its input text, no worker and no parsed input, until its turn.  It
    still answers DescribeExecution (RUNNING, its input) and
    GetExecutionHistory (no events yet) as a started one does, and runs its
    own input when the turn comes."""
    import threading

    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    gate = threading.Event()

    def handler(event, context):
        gate.wait(10)
        return {"n": event["n"]}

    with mock_aws(config=MOTO_CONFIG):
        sfn, arns = _start_toys(handler, 5)  # 2 evaluating, 3 waiting
        records = {e.exec_arn: e for sm in stepfunctions_parser_backends["123456789012"]["us-east-1"].state_machines
                   for e in sm.executions}
        waiting = [records[a] for a in arns[2:]]
        assert [e.exec_worker for e in waiting] == [None] * 3
        assert all("_signalfire_input" not in vars(e) for e in waiting)  # the text alone, parsed when read
        desc = sfn.describe_execution(executionArn=arns[4])
        assert desc["status"] == "RUNNING" and json.loads(desc["input"]) == {"n": 4}
        assert sfn.get_execution_history(executionArn=arns[4])["events"] == []
        gate.set()
        done = _wait_all(sfn, arns)
        history = sfn.get_execution_history(executionArn=arns[4])["events"]
    assert [d["status"] for d in done] == ["SUCCEEDED"] * 5
    assert [json.loads(d["output"])["result"]["out"] for d in done] == [{"n": i} for i in range(5)]
    assert history[0]["type"] == "ExecutionStarted" and history[-1]["type"] == "ExecutionSucceeded"


def test_executions_share_their_copy_of_the_machine_until_it_changes(turns):
    """Each execution runs the machine as it was when it started.  Executions
    started while the machine is unchanged share one copy of it; an update
    gives the executions started after it a copy of the new definition, and
    the ones already waiting keep the old one."""
    import threading

    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    gate = threading.Event()

    def handler(event, context):
        gate.wait(10)
        return {"n": event["n"]}

    first = _toy(["FlakyError"])
    second = json.loads(json.dumps(first))
    second["States"]["Caught"] = {"Type": "Pass", "Result": "second", "ResultPath": "$.version", "End": True}
    second["States"]["Work"].pop("End")
    second["States"]["Work"]["Next"] = "Caught"
    with mock_aws(config=MOTO_CONFIG):
        sfn, arns = _start_toys(handler, 4)  # 2 evaluating, 2 waiting
        machine = arns[0].replace(":execution:", ":stateMachine:").rsplit(":", 1)[0]
        sfn.update_state_machine(stateMachineArn=machine, definition=json.dumps(second))
        later = [sfn.start_execution(stateMachineArn=machine, name=f"later-{i}", input=json.dumps({"n": 10 + i}))
                 ["executionArn"] for i in range(2)]
        records = {e.exec_arn: e for sm in stepfunctions_parser_backends["123456789012"]["us-east-1"].state_machines
                   for e in sm.executions}
        copies = [records[a].state_machine for a in arns + later]
        gate.set()
        done = _wait_all(sfn, arns + later)
    assert all(c is copies[0] for c in copies[:4]) and copies[4] is copies[5]  # one copy per version
    assert copies[0] is not copies[4] and json.loads(copies[0].definition) == first
    assert [d["status"] for d in done] == ["SUCCEEDED"] * 6
    assert ["version" in json.loads(d["output"]) for d in done] == [False] * 4 + [True] * 2


def test_definition_substitutions_render_to_valid_json(tmp_path):
    asl = tmp_path / "m.asl.json"
    asl.write_text('{"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": ${Wait}, "End": true}}}')
    text = stepfunctions.render_definition(asl, {"Wait": 2})
    assert json.loads(text)["States"]["A"]["Seconds"] == 2
    spec_form = stepfunctions.render_definition({"definition_path": asl, "substitutions": {"Wait": "3"}})
    assert json.loads(spec_form)["States"]["A"]["Seconds"] == 3
    with pytest.raises(ValueError, match="Wait"):
        stepfunctions.render_definition(asl, {})


# ---------------------------------------------------------------- the real pipeline ASL


def _load_handler(name: str):
    path = ROOT / "functions" / name / "app.py"
    spec = importlib.util.spec_from_file_location(f"signalfire_functional_{name}_app", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lambda_handler


class Harness:
    def __init__(self, arn: str, outbox: Path) -> None:
        self.arn = arn
        self.outbox = outbox
        self.sfn = boto3.client("stepfunctions", region_name="us-east-1")
        self._seq = 0

    # -- given ---------------------------------------------------------------------

    def pipeline(self, name: str, nodes: list[dict[str, Any]], defaults: dict[str, Any] | None = None) -> None:
        from signalfire import services

        chained = [dict(n) for n in nodes]
        for a, b in zip(chained, chained[1:], strict=False):
            a["next"] = b["id"]
        services.pipeline_store().create(name, {"version": "1.0", "nodes": chained,
                                                **({"defaults": defaults} if defaults else {})})

    def host_check(self, host: str, checker: str, status: str, message: str = "") -> None:
        from checkbatch import store_results

        store_results(host, [(checker, status, message)])

    # -- when ----------------------------------------------------------------------

    def fire(self, pipeline: str | None, *, name: str | None = None, severity: str = "critical",
             status: str = "firing", description: str = "disk / is 97% full", host: str = "web-1") -> list[str]:
        """A generic webhook through ingest, then the launcher (as the ingest handler does)."""
        from signalfire import services
        from signalfire.alerts.drivers import parse_webhook
        from signalfire.alerts.ingest import IngestService

        self._seq += 1
        body = {"name": name or f"Probe{self._seq}", "severity": severity, "status": status,
                "description": description, "labels": {"host": host}}
        launcher = services.launcher()
        outcome = IngestService(services.alert_store()).process(parse_webhook(body, "generic"),
                                                               launcher.pipeline_for("generic", pipeline))
        return launcher.start_for(outcome)

    # -- then ----------------------------------------------------------------------

    def wait(self, run_id: str, execution: str | None = None, timeout: float = 60) -> dict[str, Any]:
        """The finished run, its stages (without the ingest stage) and its execution."""
        from signalfire import services

        ex_arn = self.arn.replace(":stateMachine:", ":execution:") + f":{execution or run_id}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            desc = self.sfn.describe_execution(executionArn=ex_arn)
            if desc["status"] != "RUNNING":
                run = services.run_store().get_run(run_id)
                stages = [s for s in services.run_store().stages(run_id) if s.stage != "INGEST"]
                return {"run": run, "stages": stages, "execution": desc}
            time.sleep(0.05)
        raise AssertionError(f"run {run_id} did not finish")

    def delivered(self, run_id: str) -> list[str]:
        if not self.outbox.exists():
            return []
        lines = [json.loads(x) for x in self.outbox.read_text().splitlines() if x.strip()]
        return [m["tags"]["node_id"] for m in lines if m["tags"]["run_id"] == run_id]


@pytest.fixture
def sf(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """moto with the template's table, the four stage functions dispatched to
    functions/*/app.py, and the real ASL with small retry intervals."""
    from signalfire import services

    outbox = tmp_path / "outbox.jsonl"
    for key, value in {"SIGNALFIRE_TABLE": TABLE, "SIGNALFIRE_LOCAL": "true", "SIGNALFIRE_LOCAL_OUTBOX": str(outbox),
                       "POWERTOOLS_METRICS_DISABLED": "true", "SIGNALFIRE_MAX_RETRIES_PER_STAGE": str(MAX_RETRIES),
                       "SIGNALFIRE_INTELLIGENCE_FALLBACK_ENABLED": "true",
                       "SIGNALFIRE_ENVIRONMENT": "test"}.items():
        monkeypatch.setenv(key, value)
    with mock_aws(config=MOTO_CONFIG):
        boto3.client("dynamodb", region_name="us-east-1").create_table(**table_spec(TABLE))
        names = {placeholder: f"signalfire-{fn}" for placeholder, fn in STAGE_FUNCTIONS.items()}
        stepfunctions.install_lambda_dispatcher({names[p]: _load_handler(fn) for p, fn in STAGE_FUNCTIONS.items()})
        arns = stepfunctions.create_functions(list(names.values()))
        arn = stepfunctions.create_state_machine(
            ROOT / "statemachine" / "pipeline.asl.json",
            {"TableName": TABLE, **{p: arns[n] for p, n in names.items()}, "StageRetryIntervalSeconds": 1,
             "StageBackoffRate": 1, "StageMaxRetries": MAX_RETRIES},
            name="signalfire-pipeline")
        monkeypatch.setenv("SIGNALFIRE_STATE_MACHINE_ARN", arn)
        services.reset()
        yield Harness(arn, outbox)
        services.reset()


PRESETS = PRESET_STAGES


def test_full_preset_end_to_end(sf):
    sf.host_check("web-1", "disk", "critical", "/ is 97% full")
    [run_id] = sf.fire("full")
    done = sf.wait(run_id)
    run, stages, execution = done["run"], done["stages"], done["execution"]
    assert execution["status"] == "SUCCEEDED"
    assert run.status == "NOTIFIED" and run.outcome == "COMPLETED" and run.current_stage == "NOTIFY"
    assert run.trace_id and run.started_at and run.completed_at and run.total_duration_ms is not None
    assert [(s.stage, s.status, s.attempt) for s in stages] == [
        ("CHECK", "SUCCEEDED", 1), ("ANALYZE", "SUCCEEDED", 1), ("NOTIFY", "SUCCEEDED", 1)]
    assert [s.idempotency_key for s in stages] == [f"{run_id}:{s.node_id}:1" for s in stages]
    # claim check: only references travel through the state machine
    out = json.loads(execution["output"])
    assert out["outputs"] == {s.node_id: s.output_ref for s in stages}
    assert all(ref == f"RUN#{run_id}/OUT#{node}" for node, ref in out["outputs"].items())
    assert run.checker_output_ref == stages[0].output_ref and run.intelligence_output_ref == stages[1].output_ref
    assert run.notify_output_ref == stages[2].output_ref and not run.intelligence_fallback_used
    assert stages[0].input_ref == run.normalized_payload_ref
    assert [b.input_ref for b in stages[1:]] == [a.output_ref for a in stages[:-1]]
    assert stages[0].output_snapshot["checks_run"] == 1 and stages[0].output_snapshot["checks_failed"] == 1
    recs = stages[1].output_snapshot["recommendations"]
    assert recs[0]["type"] == "disk" and {"type", "priority", "title", "description", "actions"} <= set(recs[0])
    assert sf.delivered(run_id) == ["notify"]


@pytest.mark.slow
def test_every_preset_runs_its_stages(sf):
    started = {preset: sf.fire(preset)[0] for preset in PRESETS}
    for preset, run_id in started.items():
        done = sf.wait(run_id)
        assert done["run"].status == "NOTIFIED" and done["run"].pipeline_name == preset, done["run"]
        assert [s.stage for s in done["stages"]] == PRESETS[preset]
        assert sf.delivered(run_id) == ["notify"]


def test_check_without_results_is_a_valid_answer(sf):
    [run_id] = sf.fire("health-checked", host="never-reported")
    check = sf.wait(run_id)["stages"][0]
    assert check.status == "SUCCEEDED" and check.output_snapshot["checks_run"] == 0
    assert check.output_snapshot["hosts_without_results"] == ["never-reported"]


def test_an_unchanged_repeat_starts_no_run(sf):
    assert len(sf.fire("direct", name="Same")) == 1
    assert sf.fire("direct", name="Same") == []
    [resolved] = sf.fire("direct", name="Same", status="resolved")
    run = sf.wait(resolved)["run"]
    assert run.trigger == "resolved" and run.outcome == "COMPLETED"


def test_stage_that_fails_twice_then_succeeds(sf):
    sf.pipeline("flaky", [{"id": "notify", "type": "notify", "config": {"fault": {"fail_times": 2}}}])
    [run_id] = sf.fire("flaky")
    done = sf.wait(run_id)
    run, stages = done["run"], done["stages"]
    assert run.status == "NOTIFIED" and run.outcome == "COMPLETED"
    assert [(s.attempt, s.status) for s in stages] == [(1, "FAILED"), (2, "FAILED"), (3, "SUCCEEDED")]
    assert stages[0].error_type == "StageRetryableError" and stages[0].error_retryable is True
    assert stages[0].error_stack and stages[0].duration_ms is not None
    assert [s.idempotency_key for s in stages] == [f"{run_id}:notify:{n}" for n in (1, 2, 3)]
    assert sf.delivered(run_id) == ["notify"]


def test_short_fault_form_in_the_execution_input(sf, monkeypatch):
    """``{"fail_times": N}`` / ``{"always_fail": true}`` straight in a node's
    config (the stored-definition form is ``{"fault": {...}}``)."""
    from signalfire import services
    from signalfire.runs.models import PipelineRun, RunStatus
    from signalfire.stages.runner import inject_fault
    from signalfire.timeutil import utcnow

    now = utcnow()
    run = PipelineRun(run_id="run_short", trace_id="tr_short", status=RunStatus.INGESTED, pipeline_name="custom",
                      nodes=[{"id": "notify", "type": "notify", "config": {"fail_times": 1}}],
                      created_at=now, updated_at=now)
    services.run_store().create_run(run)
    services.launcher().start_execution(run, 0, name=run.run_id)
    done = sf.wait(run.run_id)
    assert [(s.attempt, s.status) for s in done["stages"]] == [(1, "FAILED"), (2, "SUCCEEDED")]
    assert done["run"].status == "NOTIFIED"
    with pytest.raises(Exception, match="always"):
        inject_fault({"always_fail": True}, 7)
    monkeypatch.setenv("SIGNALFIRE_LOCAL", "false")
    inject_fault({"always_fail": True}, 1)  # ignored outside local mode and tests


def test_stage_that_always_fails_ends_the_run_failed(sf):
    sf.pipeline("broken", [{"id": "notify", "type": "notify", "config": {"fault": {"always": True}}}])
    [run_id] = sf.fire("broken")
    done = sf.wait(run_id)
    run, stages, execution = done["run"], done["stages"], done["execution"]
    assert execution["status"] == "FAILED"
    assert run.status == "FAILED" and run.outcome == "FAILED" and run.failed_index == 0
    assert run.last_error_type == "StageRetryableError" and run.last_error_retryable is True
    assert "injected fault" in run.last_error_message
    assert [s.attempt for s in stages] == list(range(1, MAX_RETRIES + 2)) and {s.status for s in stages} == {"FAILED"}
    assert sf.delivered(run_id) == []


def test_pipeline_max_retries_zero_fails_after_one_attempt(sf):
    """The ASL would retry StageMaxRetries (3) times; the definition's
    defaults.max_retries=0 makes the first retryable failure the final one."""
    sf.pipeline("no-retries", [{"id": "notify", "type": "notify", "config": {"fault": {"fail_times": 1}}}],
                defaults={"max_retries": 0})
    [run_id] = sf.fire("no-retries")
    done = sf.wait(run_id)
    run, stages, execution = done["run"], done["stages"], done["execution"]
    assert execution["status"] == "FAILED"
    assert [(s.attempt, s.status) for s in stages] == [(1, "FAILED")]  # one more attempt would have succeeded
    assert stages[0].error_type == "RetriesExhaustedError" and stages[0].error_retryable is False
    assert run.status == "FAILED" and run.last_error_type == "RetriesExhaustedError"
    assert run.last_error_retryable is False and "StageRetryableError" in run.last_error_message
    assert "max_retries=0" in run.last_error_message
    assert sf.delivered(run_id) == []


def test_pipeline_max_retries_caps_the_asl_retries(sf):
    sf.pipeline("one-retry", [{"id": "notify", "type": "notify", "config": {"fault": {"always": True}}}],
                defaults={"max_retries": 1})
    [run_id] = sf.fire("one-retry")
    done = sf.wait(run_id)
    assert [(s.attempt, s.error_type) for s in done["stages"]] == [
        (1, "StageRetryableError"), (2, "RetriesExhaustedError")]
    assert done["run"].status == "FAILED" and done["run"].last_error_type == "RetriesExhaustedError"


def test_pipeline_max_retries_within_the_cap_still_retries(sf):
    sf.pipeline("two-retries", [{"id": "notify", "type": "notify", "config": {"fault": {"fail_times": 2}}}],
                defaults={"max_retries": 2})
    [run_id] = sf.fire("two-retries")
    done = sf.wait(run_id)
    assert [(s.attempt, s.status) for s in done["stages"]] == [(1, "FAILED"), (2, "FAILED"), (3, "SUCCEEDED")]
    assert done["run"].status == "NOTIFIED" and sf.delivered(run_id) == ["notify"]


def test_pipeline_max_retries_above_the_deployment_is_refused(sf):
    from signalfire import services
    from signalfire.errors import ConfigurationError

    with pytest.raises(ConfigurationError) as exc:
        services.pipeline_store().create("too-many", {"version": "1.0", "defaults": {"max_retries": MAX_RETRIES + 1},
                                                      "nodes": [{"id": "notify", "type": "notify"}]})
    assert exc.value.http_status == 400 and exc.value.details["key"] == "defaults.max_retries"
    assert "StageMaxRetries" in exc.value.message and f"<= {MAX_RETRIES}" in exc.value.message


def test_configuration_error_is_not_retried(sf):
    sf.pipeline("misconfigured", [
        {"id": "notify", "type": "notify", "config": {"fault": {"always": True, "error": "config"}}}])
    [run_id] = sf.fire("misconfigured")
    done = sf.wait(run_id)
    assert done["run"].status == "FAILED" and done["run"].last_error_type == "ConfigurationError"
    assert done["run"].last_error_retryable is False
    assert [s.attempt for s in done["stages"]] == [1]


def test_ai_failure_falls_back_to_the_local_provider(sf):
    sf.pipeline("needs-openai", [{"id": "analyze", "type": "intelligence", "config": {"provider": "openai"}},
                                 {"id": "notify", "type": "notify", "config": {}}])
    [run_id] = sf.fire("needs-openai", description="memory usage at 99%, OOM killer active")
    done = sf.wait(run_id)
    run, stages = done["run"], done["stages"]
    assert done["execution"]["status"] == "SUCCEEDED"
    assert run.status == "NOTIFIED" and run.intelligence_fallback_used is True
    analyze = [s for s in stages if s.stage == "ANALYZE"]
    assert [(s.status, s.fallback) for s in analyze] == [("FAILED", False), ("SUCCEEDED", True)]
    assert analyze[0].error_type == "ConfigurationError"
    snap = analyze[1].output_snapshot
    assert snap["provider"] == "local" and snap["fallback_used"] is True
    assert snap["recommendations"][0]["type"] == "memory"
    assert sf.delivered(run_id) == ["notify"]
    [message] = [json.loads(x) for x in sf.outbox.read_text().splitlines() if run_id in x]
    assert "Analysis (local, fallback)" in message["text"]


def test_a_node_can_refuse_the_fallback(sf):
    sf.pipeline("openai-only", [
        {"id": "analyze", "type": "intelligence", "config": {"provider": "openai", "fallback": False}},
        {"id": "notify", "type": "notify", "config": {}}])
    [run_id] = sf.fire("openai-only")
    run = sf.wait(run_id)["run"]
    assert run.status == "FAILED" and run.last_error_type == "ConfigurationError"
    assert run.intelligence_fallback_used is False and run.last_error_retryable is False


def test_resume_after_the_cause_is_fixed_does_not_deliver_twice(sf, tmp_path):
    from signalfire import services
    from signalfire.errors import ConflictError
    from signalfire.runs.resume import resume_run

    broken = tmp_path / "downstream-broken"
    broken.write_text("x")
    sf.pipeline("two-step", [
        {"id": "first_notify", "type": "notify", "config": {}},
        {"id": "enrich", "type": "context", "config": {"fault": {"while_file_exists": str(broken)}}},
        {"id": "second_notify", "type": "notify", "config": {}},
    ])
    [run_id] = sf.fire("two-step")
    failed = sf.wait(run_id)["run"]
    assert failed.status == "FAILED" and failed.failed_index == 1
    assert sf.delivered(run_id) == ["first_notify"]

    broken.unlink()  # the cause is fixed
    assert resume_run(run_id, services.launcher()).status == "RETRYING"
    done = sf.wait(run_id, f"{run_id}-resume-1")
    run, stages = done["run"], done["stages"]
    started = json.loads(done["execution"]["input"])
    assert started["index"] == 1 and started["outputs"] == {"first_notify": f"RUN#{run_id}/OUT#first_notify"}
    assert run.status == "NOTIFIED" and run.outcome == "COMPLETED" and run.resume_count == 1
    assert run.total_attempts == 2
    assert sf.delivered(run_id) == ["first_notify", "second_notify"]
    assert len([s for s in stages if s.node_id == "first_notify"]) == 1  # not run again
    with pytest.raises(ConflictError):
        resume_run(run_id, services.launcher())  # only FAILED runs resume

    # A resume that runs a notify node again delivers nothing twice.
    services.run_store().update_run(run_id, {"status": "FAILED", "failed_index": 0})
    resume_run(run_id, services.launcher())
    again = sf.wait(run_id, f"{run_id}-resume-2")
    assert again["run"].status == "NOTIFIED"
    assert sf.delivered(run_id) == ["first_notify", "second_notify"]
    latest = [s for s in again["stages"] if s.node_id == "first_notify"][-1]
    assert latest.output_snapshot["channels_already_delivered"] == ["console"]


def test_transform_filter_skips_the_run(sf):
    sf.pipeline("critical-only", [
        {"id": "gate", "type": "transform",
         "config": {"filter": {"field": "severity", "op": "gte", "value": "critical"}}},
        {"id": "notify", "type": "notify", "config": {}},
    ])
    [skipped_id] = sf.fire("critical-only", severity="warning")
    skipped = sf.wait(skipped_id)
    assert skipped["execution"]["status"] == "SUCCEEDED"
    assert skipped["run"].status == "SKIPPED" and skipped["run"].outcome == "SKIPPED"
    assert "severity" in skipped["run"].skip_reason
    assert [s.status for s in skipped["stages"]] == ["SKIPPED"]
    assert sf.delivered(skipped_id) == []
    [passed_id] = sf.fire("critical-only", severity="critical")
    passed = sf.wait(passed_id)["run"]
    assert passed.status == "NOTIFIED" and passed.outcome == "COMPLETED"
