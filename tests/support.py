"""Helpers shared by the test suites (importable as ``support``)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from signalfire_local.routing import Match, Router

ROOT = Path(__file__).resolve().parents[1]
WEBHOOK_TOKEN = "test-webhook-token"
ADMIN_TOKEN = "test-admin-token"


def table_spec(table_name: str | None = None) -> dict[str, Any]:
    """CreateTable arguments for the template's table, the one way every test
    builds its moto table (so the schema cannot drift from what we deploy)."""
    from signalfire_local.template import Template

    spec = dict(Template(ROOT / "template.yaml").table_definitions()["Table"]["create"])
    if table_name:
        spec["TableName"] = table_name
    return spec


class FakeContext:
    function_name = "test"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
    memory_limit_in_mb = 512
    aws_request_id = "req-1"
    log_group_name = "/aws/lambda/test"
    log_stream_name = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 30000


@cache
def router() -> Router:
    """The HTTP API routes of template.yaml, selected as API Gateway selects them."""
    from signalfire_local.routing import router_for
    from signalfire_local.template import load_yaml

    return router_for(load_yaml(ROOT / "template.yaml"))


def route(method: str, path: str) -> Match:
    """The route API Gateway picks for ``method path`` (fails the test on a 404)."""
    found = router().select(method, path.split("?", 1)[0])
    assert found is not None, f"{method} {path}: no route in template.yaml (API Gateway answers 404)"
    return found


def http_event(method: str, path: str, body: Any = None, *, token: str | None = WEBHOOK_TOKEN,
               query: dict[str, str] | None = None,
               extra_headers: dict[str, str] | None = None) -> dict[str, Any]:
    """An API Gateway HTTP API (2.0) event as AWS sends it: routeKey and
    pathParameters come from the route template.yaml's routes select."""
    from urllib.parse import urlencode

    from signalfire_local.server import build_event

    found = route(method, path)
    headers = {"content-type": "application/json", "host": "localhost"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    headers.update(extra_headers or {})
    raw = body if isinstance(body, bytes) else (b"" if body is None else json.dumps(body).encode())
    return build_event(found.route_key, method, path, urlencode(query or {}), headers, raw,
                       found.path_parameters, "127.0.0.1")


class CallCounter:
    """Counts the AWS API calls our code makes (botocore before-call events)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, event_name: str = "", **kwargs: Any) -> None:
        self.calls.append(event_name.split(".")[-1])

    def writes(self) -> list[str]:
        return [c for c in self.calls if c in {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems",
                                               "BatchWriteItem"}]

    def reset(self) -> None:
        self.calls.clear()


def load_events_dir() -> dict[str, Any]:
    return {p.name: json.loads(p.read_text()) for p in (ROOT / "events").glob("*.json")}
