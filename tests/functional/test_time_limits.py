"""The HTTP API waits 30 s at most (a hard quota).  The functions behind it
stop before that, their AWS clients' whole retry budget fits inside, and a
request that runs out of time answers 503 itself without sending anything
more - never a 5xx from API Gateway while our write still lands."""

from __future__ import annotations

from handler_calls import api, handler
from support import ROOT, FakeContext, http_event

HTTP_API_TIMEOUT_SECONDS = 30  # "Maximum integration timeout: 30 seconds, cannot be increased"


def _functions() -> dict:
    from signalfire_local.template import Template

    return Template(ROOT / "template.yaml").functions()


def test_functions_behind_the_http_api_stop_before_it_does():
    from signalfire_local.template import Template

    template = Template(ROOT / "template.yaml")
    routed = {r.function for r in template.routes()}
    assert routed >= {"IngestFunction", "ApiFunction"}
    functions = _functions()
    for logical in routed:
        assert functions[logical].timeout < HTTP_API_TIMEOUT_SECONDS, logical


def test_one_aws_call_with_all_its_retries_fits_the_function_timeout(aws_env):
    from signalfire import aws
    from signalfire.handlers.resolver import ANSWER_MARGIN_SECONDS

    timeout = min(f.timeout for f in _functions().values())
    assert timeout > aws.CALL_BUDGET_SECONDS + ANSWER_MARGIN_SECONDS
    config = aws.client("dynamodb").meta.config
    assert (config.connect_timeout, config.read_timeout) == (aws.CONNECT_TIMEOUT_SECONDS, aws.READ_TIMEOUT_SECONDS)
    assert config.retries["total_max_attempts"] == aws.MAX_ATTEMPTS


class ShortContext(FakeContext):
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def get_remaining_time_in_millis(self) -> int:
        return self.ms


def test_a_request_out_of_time_answers_503_and_sends_nothing(moto_stack):
    from signalfire import aws

    sent: list[str] = []
    for service in ("dynamodb", "secretsmanager", "stepfunctions"):
        aws.client(service).meta.events.register("before-send", lambda **kw: sent.append("x"))
    event = http_event("POST", "/alerts/webhook/", {"name": "Late"})
    reply = handler("IngestFunction")(event, ShortContext(3_000))
    assert reply["statusCode"] == 503 and "retry" in reply["body"]
    assert sent == []  # the guard stops the attempt before it is sent
    assert api("GET", "/alerts/").json["count"] == 0  # and nothing landed
    # With the function's full time the same request goes through.
    ok = handler("IngestFunction")(event, ShortContext(25_000))
    assert ok["statusCode"] == 202


def test_the_workflow_type_can_change_on_a_stack_update_and_express_logs():
    """StateMachineType changes need a replacement, and CloudFormation cannot
    replace a resource with a custom name: so no fixed Name.  Express keeps no
    history: its events go to a log group."""
    from signalfire_local.template import load_yaml

    doc = load_yaml(ROOT / "template.yaml")
    machine = doc["Resources"]["PipelineStateMachine"]["Properties"]
    assert "Name" not in machine and machine["Type"] == {"Ref": "WorkflowType"}
    assert doc["Parameters"]["WorkflowType"]["AllowedValues"] == ["STANDARD", "EXPRESS"]
    logging = machine["Logging"]
    assert logging["IncludeExecutionData"] is False
    group = logging["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"]
    assert doc["Resources"][group["Fn::GetAtt"][0]]["Type"] == "AWS::Logs::LogGroup"
    statements = [p for p in machine["Policies"] if "Statement" in p]
    assert any("logs:CreateLogDelivery" in s["Action"] for p in statements for s in p["Statement"])
    # Nothing may name the machine by a fixed ARN either.
    assert "stateMachine:${AWS::StackName}" not in (ROOT / "template.yaml").read_text()


def _pipeline(nodes: list[dict]) -> dict:
    return {"version": "1.0", "nodes": nodes}


def test_express_refuses_a_definition_past_five_minutes_when_it_is_saved(moto_stack, monkeypatch):
    from signalfire import services

    monkeypatch.setenv("SIGNALFIRE_WORKFLOW_TYPE", "EXPRESS")
    services.reset()
    long = _pipeline([{"id": "ctx", "type": "context", "config": {}, "next": "ai"},
                      {"id": "ai", "type": "intelligence", "config": {}, "next": "tell"},
                      {"id": "tell", "type": "notify", "config": {}}])
    r = api("POST", "/pipelines/", body={"name": "too-long", "config": long})
    assert r.status == 400 and "'ai'" in r.json["message"] and "300 s" in r.json["message"], r
    assert r.json["details"]["node"] == "ai"
    assert api("GET", "/pipelines/too-long").status == 404  # nothing saved
    dry = api("POST", "/pipelines/validate", body=long)
    assert dry.status == 400 and dry.json["details"]["node"] == "ai"
    short = _pipeline([{"id": "tell", "type": "notify", "config": {}}])
    ok = api("POST", "/pipelines/", body={"name": "short", "config": short})
    assert ok.status == 201, ok
    assert api("POST", "/pipelines/validate", body=short).json["worst_case_seconds"] <= 300
    grown = api("PUT", "/pipelines/short", body={"config": long})
    assert grown.status == 400 and grown.json["details"]["node"] == "ai"
    assert api("GET", "/pipelines/short").json["config"] == api("GET", "/pipelines/short").json["config"]


def test_standard_accepts_the_same_definition(moto_stack):
    long = _pipeline([{"id": "ctx", "type": "context", "config": {}, "next": "ai"},
                      {"id": "ai", "type": "intelligence", "config": {}, "next": "tell"},
                      {"id": "tell", "type": "notify", "config": {}}])
    assert api("POST", "/pipelines/", body={"name": "standard-long", "config": long}).status == 201
