"""Handlers and the state machine run under their template roles
(signalfire_local.iam): a call the role does not allow raises AccessDenied
exactly as on AWS, and never reaches moto."""

from __future__ import annotations

import json
import time
from pathlib import Path

import boto3
import pytest

from handler_calls import api, webhook
from signalfire_local import iam
from signalfire_local.iam import Principal, Statement
from signalfire_local.template import Template
from support import ROOT, WEBHOOK_TOKEN, table_spec

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/t"


@pytest.fixture
def dynamo(aws_env: None):
    from moto import mock_aws

    with mock_aws():
        enforcer = iam.Enforcer({"Reader": Principal("Reader", [
            Statement("Allow", ("dynamodb:GetItem",), resources=(TABLE,))])})
        iam.install(enforcer)
        try:
            client = boto3.session.Session().client("dynamodb")
            client.create_table(**table_spec("t"))
            yield client, enforcer
        finally:
            iam.install(None)


def test_a_call_the_role_does_not_allow_raises_access_denied_and_changes_nothing(dynamo) -> None:
    from botocore.exceptions import ClientError

    client, enforcer = dynamo
    with iam.acting_as("Reader"):
        assert "Item" not in client.get_item(TableName="t", Key={"PK": {"S": "a"}, "SK": {"S": "META"}})  # allowed
        with pytest.raises(ClientError) as info:
            client.put_item(TableName="t", Item={"PK": {"S": "a"}, "SK": {"S": "META"}})
    error = info.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert ("is not authorized to perform: dynamodb:PutItem on resource: "
            f"{TABLE} because no identity-based policy allows") in error["Message"]
    assert "Item" not in client.get_item(TableName="t", Key={"PK": {"S": "a"}, "SK": {"S": "META"}})  # never reached moto
    assert [(d.principal, d.action, d.allowed) for d in enforcer.decisions] == [
        ("Reader", "dynamodb:GetItem", True), ("Reader", "dynamodb:PutItem", False)]


def test_calls_outside_any_handler_are_not_attributed_and_pass(dynamo) -> None:
    client, enforcer = dynamo
    client.put_item(TableName="t", Item={"PK": {"S": "setup"}, "SK": {"S": "META"}})
    assert list(enforcer.decisions) == []


def test_a_cached_secret_is_still_checked_against_the_reader(aws_env: None) -> None:
    """One process hosts every function locally: a secret cached by a reader
    that may read it must not pass to one that may not (on AWS each function
    has its own cache, filled only by reads its role allowed)."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
    from moto import mock_aws

    arn = iam.secret_arn("signalfire/WebhookTokenSecret")
    with mock_aws():
        enforcer = iam.Enforcer({
            "Reader": Principal("Reader", [Statement("Allow", ("secretsmanager:GetSecretValue",), resources=(arn,))]),
            "Other": Principal("Other", [Statement("Allow", ("dynamodb:GetItem",), resources=(TABLE,))]),
        })
        iam.install(enforcer)
        try:
            boto3.client("secretsmanager").create_secret(Name="signalfire/WebhookTokenSecret", SecretString="s3cret")
            provider = SecretsProvider(boto3_client=boto3.session.Session().client("secretsmanager"))
            with iam.acting_as("Reader"):
                assert provider.get("signalfire/WebhookTokenSecret", max_age=300) == "s3cret"  # now cached
            with iam.acting_as("Other"), pytest.raises(GetParameterError) as info:
                provider.get("signalfire/WebhookTokenSecret", max_age=300)
            with iam.acting_as("Reader"):  # the reader still gets it from the cache
                assert provider.get("signalfire/WebhookTokenSecret", max_age=300) == "s3cret"
        finally:
            iam.install(None)
    assert "AccessDeniedException" in str(info.value) and "secretsmanager:GetSecretValue" in str(info.value)
    assert "s3cret" not in str(info.value)
    reads = [(d.principal, d.allowed) for d in enforcer.decisions if d.action == "secretsmanager:GetSecretValue"]
    assert ("Other", False) in reads and reads.count(("Reader", True)) >= 2


# -- the handlers, under the template's roles ------------------------------------------------


def test_a_webhook_token_on_a_management_route_is_403_and_a_wrong_one_401(moto_stack: dict) -> None:
    r = api("GET", "/incidents/", token=WEBHOOK_TOKEN)
    assert r.status == 403 and "admin token" in r.json["message"]
    assert api("GET", "/incidents/", token="wrong").status == 401
    read = {d.resource.rsplit(":", 1)[-1] for d in moto_stack["iam"].decisions
            if d.principal == "ApiFunction" and d.action == "secretsmanager:GetSecretValue"}
    assert read == {"signalfire/AdminTokenSecret", "signalfire/WebhookTokenSecret"}
    assert all(d.allowed for d in moto_stack["iam"].decisions)


def test_without_the_webhook_secret_grant_the_api_function_fails_as_on_aws(moto_stack: dict) -> None:
    """What the template had before: ApiFunction could not read the webhook
    token secret.  That is the deployment's fault, not the caller's and not a
    passing one: a 500 naming the missing grant (never 503 "retry later",
    never 401/403), with no secret in the answer."""
    roles = iam.principals(moto_stack["template"])
    api_role = roles["ApiFunction"]
    api_role.statements = [s for s in api_role.statements if not s.resources[0].endswith("WebhookTokenSecret")]
    enforcer = iam.Enforcer(roles)
    iam.install(enforcer)
    reply = api("GET", "/incidents/", token=WEBHOOK_TOKEN)
    assert reply.status == 500, reply.json
    assert reply.json["error"] == "DeploymentConfigurationError"
    assert "misconfigured" in reply.json["message"]
    assert reply.json["details"] == {"missing_grant": "secretsmanager:GetSecretValue", "secret": "webhook token"}
    assert WEBHOOK_TOKEN not in json.dumps(reply.json) and "arn:aws" not in json.dumps(reply.json)
    denied = [(d.action, d.resource.rsplit(":", 1)[-1]) for d in enforcer.decisions if not d.allowed]
    assert denied == [("secretsmanager:GetSecretValue", "signalfire/WebhookTokenSecret")]
    # the admin token is still checked first and still works: only the webhook secret is unreadable
    assert api("GET", "/incidents/").status == 200


def test_a_webhook_runs_under_the_ingest_role_and_uses_only_what_it_grants(moto_stack: dict) -> None:
    assert webhook({"name": "IamProbe", "labels": {"host": "h"}}).status == 202
    used = moto_stack["iam"].used()
    assert set(used) == {"IngestFunction"}
    assert {a for a, _ in used["IngestFunction"]} >= {"dynamodb:PutItem", "secretsmanager:GetSecretValue"}
    assert not [d for d in moto_stack["iam"].decisions if not d.allowed]


# -- the state machine's own service integrations -------------------------------------------


def _toy_update_machine() -> dict:
    return {"StartAt": "Mark", "States": {"Mark": {
        "Type": "Task", "Resource": "arn:aws:states:::dynamodb:updateItem", "End": True,
        "Parameters": {"TableName": "t", "Key": {"PK": {"S": "run"}, "SK": {"S": "META"}},
                       "UpdateExpression": "SET #s = :s", "ExpressionAttributeNames": {"#s": "status"},
                       "ExpressionAttributeValues": {":s": {"S": "DONE"}}}}}}


@pytest.mark.parametrize(("granted", "status"), [(("dynamodb:UpdateItem",), "SUCCEEDED"),
                                                 (("dynamodb:GetItem",), "FAILED")])
def test_a_task_the_state_machine_role_does_not_allow_fails_with_access_denied(
        aws_env: None, granted: tuple[str, ...], status: str) -> None:
    from moto import mock_aws

    from signalfire_local import stepfunctions

    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}):
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(**table_spec("t"))
        enforcer = iam.Enforcer({"Machine": Principal("Machine", [Statement("Allow", granted, resources=(TABLE,))])},
                                interpreter_role="Machine")
        iam.install(enforcer)
        try:
            sfn = boto3.client("stepfunctions", region_name="us-east-1")
            arn = sfn.create_state_machine(name="m", definition=json.dumps(_toy_update_machine()),
                                           roleArn=stepfunctions.role_arn())["stateMachineArn"]
            execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
            for _ in range(200):
                desc = sfn.describe_execution(executionArn=execution)
                if desc["status"] != "RUNNING":
                    break
                time.sleep(0.05)
        finally:
            iam.install(None)
        assert desc["status"] == status
        item = ddb.get_item(TableName="t", Key={"PK": {"S": "run"}, "SK": {"S": "META"}}).get("Item")
        if status == "FAILED":
            assert "AccessDenied" in desc.get("error", "") + desc.get("cause", "")
            assert item is None  # the denied write never happened
        else:
            assert item == {"PK": {"S": "run"}, "SK": {"S": "META"}, "status": {"S": "DONE"}}
        assert [(d.principal, d.action) for d in enforcer.decisions] == [("Machine", "dynamodb:UpdateItem")]


def test_the_template_roles_are_narrowed_to_what_is_called(moto_stack: dict) -> None:
    template: Template = moto_stack["template"]
    roles = iam.principals(template)
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/" + moto_stack["table"]
    for name, role in roles.items():  # nobody scans or deletes the table's items wholesale
        assert not role.allows("dynamodb:Scan", table), name
        assert not role.allows("dynamodb:DeleteTable", table), name
    machine = roles["PipelineStateMachine"]
    assert machine.allows("dynamodb:UpdateItem", table)
    assert not machine.allows("dynamodb:PutItem", table) and not machine.allows("dynamodb:GetItem", table)
    for stage in ("CheckFunction", "AnalyzeFunction", "NotifyFunction", "TransformFunction"):
        assert not roles[stage].allows("states:StartExecution", "*"), stage
    assert not roles["IngestFunction"].allows("ssm:GetParameter", "*")
    assert Path(ROOT / "template.yaml").read_text().count("DynamoDBCrudPolicy") == 0
