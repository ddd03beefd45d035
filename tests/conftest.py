"""Shared fixtures.  The moto table is built from template.yaml, so the
schema the tests use cannot drift from the one we deploy."""

from __future__ import annotations

import os

import pytest

from support import ADMIN_TOKEN, ROOT, WEBHOOK_TOKEN, CallCounter, FakeContext, table_spec

os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")


@pytest.fixture(scope="session", autouse=True)
def _moto_as_the_local_stack_runs_it() -> None:
    """The moto fixes `signalfire local` installs (signalfire_local.motofixes),
    installed for every test, so in-process tests run the same emulator."""
    from signalfire_local import motofixes

    motofixes.install()


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
    """moto with the template's table and secrets (under their template
    names); services reset; every handler the tests call runs under its
    template role (signalfire_local.iam): a call its Policies do not allow
    raises AccessDenied, as on AWS."""
    import boto3
    from moto import mock_aws

    from signalfire import services
    from signalfire_local import iam
    from signalfire_local.stack import _serialize_dynamodb
    from signalfire_local.template import Template

    template = Template(ROOT / "template.yaml")
    secrets = template.secrets()
    enforcer = iam.Enforcer.from_template(template)
    with mock_aws():
        _serialize_dynamodb()
        spec = table_spec()
        boto3.client("dynamodb").create_table(**spec)
        sm = boto3.client("secretsmanager")
        for logical, value in (("WebhookTokenSecret", WEBHOOK_TOKEN), ("AdminTokenSecret", ADMIN_TOKEN),
                               ("SigningKeysSecret", "{}")):
            sm.create_secret(Name=secrets[logical], SecretString=value)
        monkeypatch.setenv("SIGNALFIRE_SIGNING_SECRET", secrets["SigningKeysSecret"])
        monkeypatch.setenv("SIGNALFIRE_TABLE", spec["TableName"])
        monkeypatch.setenv("SIGNALFIRE_WEBHOOK_TOKEN_SECRET", secrets["WebhookTokenSecret"])
        monkeypatch.setenv("SIGNALFIRE_ADMIN_TOKEN_SECRET", secrets["AdminTokenSecret"])
        monkeypatch.setenv("SIGNALFIRE_SECRET_CACHE_SECONDS", "0")  # each read is checked against its reader
        monkeypatch.setenv("SIGNALFIRE_LOCAL", "true")
        # The template's state machine exists (StartExecution really records an
        # execution, idempotent by name) but moto does not run it here: the
        # orchestration tests use the local stack for that.
        from signalfire_local import stepfunctions

        machine = stepfunctions.create_state_machine(template.state_machines()["PipelineStateMachine"])
        monkeypatch.setenv("SIGNALFIRE_STATE_MACHINE_ARN", machine)
        iam.install(enforcer)
        services.reset()
        try:
            yield {"table": spec["TableName"], "template": template, "state_machine": machine, "iam": enforcer,
                   "secrets": secrets}
        finally:
            iam.install(None)
            services.reset()


@pytest.fixture
def lambda_context() -> FakeContext:
    return FakeContext()


@pytest.fixture
def dynamodb_calls(moto_stack: dict) -> CallCounter:
    from signalfire import aws

    counter = CallCounter()
    aws.client("dynamodb").meta.events.register("before-call.dynamodb.*", counter)
    return counter


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Longest files first: the slow end-to-end modules, then the other
    end-to-end ones, then the rest, each file's tests kept together and in
    order.  `make test` runs files on parallel workers (pytest-xdist,
    ``--dist loadfile --no-loadscope-reorder``): a long pole that starts
    first ends with the others instead of after them (docs/testing.md)."""
    def rank(item: pytest.Item) -> int:
        e2e = item.get_closest_marker("e2e") is not None
        slow = item.get_closest_marker("slow") is not None
        return (0 if slow else 1) if e2e else (2 if slow else 3)

    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return  # one worker: the files' own order (see docs/testing.md, "Parallel workers")
    files: dict[str, int] = {}
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        files[path] = min(files.get(path, 9), rank(item))
    order = {path: i for i, path in enumerate(files)}
    items.sort(key=lambda item: (files[item.nodeid.split("::", 1)[0]], order[item.nodeid.split("::", 1)[0]]))
