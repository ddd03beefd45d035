"""The local Lambda dispatcher (it leans on moto internals, so it has its
own test): the real interpreter calls our handler, retries by error class
name, and catches into a fallback state."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from moto import mock_aws

from signalfire_local import stepfunctions
from signalfire_local.template import Function


class FlakyError(Exception):
    pass


class FatalError(Exception):
    pass


def _run(definition: dict, handler) -> dict:
    fn = Function(logical_id="Worker", code_uri=__import__("pathlib").Path("."), handler="app.h")
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}):
        stepfunctions.install_lambda_dispatcher({"Worker": handler}, {"Worker": fn})
        stepfunctions.create_functions({"Worker": fn})
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        role = boto3.client("iam", region_name="us-east-1").get_role(RoleName="signalfire-local")["Role"]["Arn"]
        arn = sfn.create_state_machine(name="t", definition=json.dumps(definition), roleArn=role)["stateMachineArn"]
        ex = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"n": 1}))["executionArn"]
        for _ in range(120):
            desc = sfn.describe_execution(executionArn=ex)
            if desc["status"] != "RUNNING":
                return desc
            time.sleep(0.1)
    raise AssertionError("execution did not finish")


def _machine(retry_on: list[str]) -> dict:
    return {"StartAt": "Work", "States": {
        "Work": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                 "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:Worker",
                                "Payload": {"n.$": "$.n", "retry.$": "$$.State.RetryCount"}},
                 "ResultSelector": {"out.$": "$.Payload"}, "ResultPath": "$.result",
                 "Retry": [{"ErrorEquals": retry_on, "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 1}],
                 "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
                 "End": True},
        "Caught": {"Type": "Pass", "End": True}}}


@pytest.fixture(autouse=True)
def _env(aws_env):
    yield


def test_dispatches_and_retries_by_class_name():
    seen: list[int] = []

    def handler(event, context):
        seen.append(event["retry"])
        assert context.function_name == "Worker"
        if len(seen) < 3:
            raise FlakyError("not yet")
        return {"ok": True, "n": event["n"]}

    desc = _run(_machine(["FlakyError"]), handler)
    assert desc["status"] == "SUCCEEDED"
    assert json.loads(desc["output"])["result"]["out"] == {"ok": True, "n": 1}
    assert seen == [0, 1, 2]


def test_unmatched_error_is_caught_with_its_class_name():
    def handler(event, context):
        raise FatalError("broken for good")

    desc = _run(_machine(["FlakyError"]), handler)
    out = json.loads(desc["output"])
    assert desc["status"] == "SUCCEEDED" and out["error"]["Error"] == "FatalError"
    assert json.loads(out["error"]["Cause"])["errorMessage"] == "broken for good"


def test_definition_substitutions_render_to_valid_json(tmp_path):
    asl = tmp_path / "m.asl.json"
    asl.write_text('{"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": ${Wait}, "End": true}}}')
    text = stepfunctions.render_definition({"definition_path": asl, "substitutions": {"Wait": "2"}})
    assert json.loads(text)["States"]["A"]["Seconds"] == 2
