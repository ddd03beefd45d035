"""The local server waits for a function as API Gateway does, at most the
HTTP API's 30 s (then 503); and the local Lambda context counts down from
the function's Timeout like Lambda's, from when an environment takes the
event."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

from signalfire_local import server
from signalfire_local.stack import LambdaContext


class FakeStack:
    def __init__(self, timeout: float, behaviour: Any) -> None:
        self.functions = {"Fn": SimpleNamespace(timeout=timeout)}
        self.behaviour = behaviour
        self.finished = threading.Event()

    def invoke(self, function: str, event: dict) -> Any:
        try:
            return self.behaviour()
        finally:
            self.finished.set()


def test_an_answer_in_time_is_passed_on():
    stack = FakeStack(25, lambda: {"statusCode": 202})
    assert server.invoke_within(stack, "Fn", {}) == (200, {"statusCode": 202})  # type: ignore[arg-type]


def test_a_crash_is_api_gateways_500():
    def boom() -> None:
        raise RuntimeError("handler bug")

    assert server.invoke_within(FakeStack(25, boom), "Fn", {})[0] == 500  # type: ignore[arg-type]


def test_past_the_http_apis_30_seconds_is_a_503(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(server, "APIGW_TIMEOUT_SECONDS", 0.2)
    stack = FakeStack(900, lambda: time.sleep(2))
    assert server.invoke_within(stack, "Fn", {}) == (503, None)  # type: ignore[arg-type]
    assert not stack.finished.is_set()  # answered without waiting for the handler


def test_the_local_lambda_context_counts_down_from_the_function_timeout():
    fn = SimpleNamespace(name="Fn", arn="arn:aws:lambda:us-east-1:123456789012:function:Fn", memory=512, timeout=25)
    context = LambdaContext(fn)  # type: ignore[arg-type]
    first = context.get_remaining_time_in_millis()
    assert 24_000 < first <= 25_000
    time.sleep(0.05)
    assert context.get_remaining_time_in_millis() < first
    time.sleep(0.05)
    context.start()  # the pool restarts the clock when an environment takes the event
    assert context.get_remaining_time_in_millis() > 24_000
