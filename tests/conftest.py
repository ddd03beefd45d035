"""Shared fixtures.  The moto table is built from template.yaml, so the
schema the tests use cannot drift from the one we deploy."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT / "layers" / "shared", ROOT / "local"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

WEBHOOK_TOKEN = "test-webhook-token"
ADMIN_TOKEN = "test-admin-token"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
        "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_NAMESPACE": "signalfire",
        "POWERTOOLS_SERVICE_NAME": "signalfire-test",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def moto_stack(aws_env: None, monkeypatch: pytest.MonkeyPatch):
    """moto with the template's table and token secrets; services reset."""
    import boto3
    from moto import mock_aws

    from signalfire import services
    from signalfire_local.stack import _serialize_dynamodb
    from signalfire_local.template import Template

    template = Template(ROOT / "template.yaml")
    with mock_aws():
        _serialize_dynamodb()
        tables = template.table_definitions()
        spec = tables["Table"]["create"]
        boto3.client("dynamodb").create_table(**spec)
        sm = boto3.client("secretsmanager")
        sm.create_secret(Name="sf/webhook", SecretString=WEBHOOK_TOKEN)
        sm.create_secret(Name="sf/admin", SecretString=ADMIN_TOKEN)
        sm.create_secret(Name="sf/signing", SecretString="{}")
        monkeypatch.setenv("SIGNALFIRE_SIGNING_SECRET", "sf/signing")
        monkeypatch.setenv("SIGNALFIRE_TABLE", spec["TableName"])
        monkeypatch.setenv("SIGNALFIRE_WEBHOOK_TOKEN_SECRET", "sf/webhook")
        monkeypatch.setenv("SIGNALFIRE_ADMIN_TOKEN_SECRET", "sf/admin")
        monkeypatch.setenv("SIGNALFIRE_LOCAL", "true")
        services.reset()
        yield {"table": spec["TableName"], "template": template}
        services.reset()


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


@pytest.fixture
def lambda_context() -> FakeContext:
    return FakeContext()


def http_event(method: str, path: str, body: Any = None, *, token: str | None = WEBHOOK_TOKEN,
               query: dict[str, str] | None = None, route_key: str | None = None,
               path_params: dict[str, str] | None = None,
               extra_headers: dict[str, str] | None = None) -> dict[str, Any]:
    """An API Gateway HTTP API (2.0) event, as the local stack builds it."""
    from signalfire_local.server import build_event

    headers = {"content-type": "application/json", "host": "localhost"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    headers.update(extra_headers or {})
    raw = body if isinstance(body, bytes) else (b"" if body is None else json.dumps(body).encode())
    from urllib.parse import urlencode

    return build_event(route_key or f"{method} {path}", method, path, urlencode(query or {}), headers, raw,
                       path_params or {}, "127.0.0.1")


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


@pytest.fixture
def dynamodb_calls(moto_stack: dict) -> CallCounter:
    from signalfire import aws

    counter = CallCounter()
    aws.client("dynamodb").meta.events.register("before-call.dynamodb.*", counter)
    return counter


def load_events_dir() -> dict[str, Any]:
    return {p.name: json.loads(p.read_text()) for p in (ROOT / "events").glob("*.json")}


os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
