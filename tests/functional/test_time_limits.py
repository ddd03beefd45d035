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
    event = http_event("POST", "/alerts/webhook/", {"name": "Late"}, route_key="POST /alerts/webhook/")
    reply = handler("IngestFunction")(event, ShortContext(3_000))
    assert reply["statusCode"] == 503 and "retry" in reply["body"]
    assert sent == []  # the guard stops the attempt before it is sent
    assert api("GET", "/alerts/").json["count"] == 0  # and nothing landed
    # With the function's full time the same request goes through.
    ok = handler("IngestFunction")(event, ShortContext(25_000))
    assert ok["statusCode"] == 202
