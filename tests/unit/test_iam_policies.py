"""IAM evaluation for the local stack (signalfire_local.iam): policy
expansion with samtranslator, request -> (action, resource), Allow/Deny,
and AccessDenied raised by botocore exactly as AWS answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from signalfire_local import iam
from signalfire_local.iam import Principal, Statement, required
from signalfire_local.template import Template

ROOT = Path(__file__).resolve().parents[2]
TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/t"


@pytest.fixture(scope="module")
def template() -> Template:
    return Template(ROOT / "template.yaml")


def test_sam_policy_templates_expand_as_sam_expands_them(template: Template) -> None:
    statements = iam.expand_policies(template, [{"DynamoDBCrudPolicy": {"TableName": "t"}},
                                                {"LambdaInvokePolicy": {"FunctionName": "F"}}], "X")
    crud, invoke = statements
    assert "dynamodb:PutItem" in crud.actions and "dynamodb:Scan" in crud.actions
    assert crud.resources == (TABLE, f"{TABLE}/index/*")
    assert invoke.actions == ("lambda:InvokeFunction",)
    assert invoke.resources == ("arn:aws:lambda:us-east-1:123456789012:function:F*",)


def test_a_secret_ref_is_its_arn_and_inline_statements_resolve(template: Template) -> None:
    doc = {"Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                          "Resource": {"Ref": "WebhookTokenSecret"}}]}
    (statement,) = iam.expand_policies(template, [doc], "X")
    assert statement.resources == (
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:signalfire/WebhookTokenSecret",)


@pytest.mark.parametrize("policy", ["AmazonDynamoDBFullAccess", {"NoSuchPolicyTemplate": {}}, {"A": 1, "B": 2}])
def test_a_policy_the_local_stack_cannot_expand_is_refused(template: Template, policy: object) -> None:
    with pytest.raises(iam.PolicyError, match=r"X\.Policies\[0\]"):
        iam.expand_policies(template, [policy], "X")


@pytest.mark.parametrize(("service", "operation", "params", "expected"), [
    ("dynamodb", "PutItem", {"TableName": "t"}, [("dynamodb:PutItem", TABLE)]),
    ("dynamodb", "Query", {"TableName": "t", "IndexName": "GSI1"}, [("dynamodb:Query", f"{TABLE}/index/GSI1")]),
    ("dynamodb", "TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": "t"}}, {"Update": {"TableName": "t"}}, {"ConditionCheck": {"TableName": "t"}}]},
     [("dynamodb:PutItem", TABLE), ("dynamodb:UpdateItem", TABLE), ("dynamodb:ConditionCheckItem", TABLE)]),
    ("dynamodb", "BatchGetItem", {"RequestItems": {"t": {}}}, [("dynamodb:BatchGetItem", TABLE)]),
    ("lambda", "Invoke", {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:F:$LATEST"},
     [("lambda:InvokeFunction", "arn:aws:lambda:us-east-1:123456789012:function:F")]),
    ("secretsmanager", "GetSecretValue", {"SecretId": "signalfire/x"},
     [("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:123456789012:secret:signalfire/x")]),
    ("ssm", "GetParameter", {"Name": "/signalfire/intelligence/k"},
     [("ssm:GetParameter", "arn:aws:ssm:us-east-1:123456789012:parameter/signalfire/intelligence/k")]),
    ("states", "StartExecution", {"stateMachineArn": "arn:sm"}, [("states:StartExecution", "arn:sm")]),
    ("cloudwatch", "PutMetricData", {}, [("cloudwatch:PutMetricData", "*")]),
])
def test_a_request_needs_the_actions_and_resources_aws_checks(service: str, operation: str, params: dict,
                                                              expected: list) -> None:
    assert required(service, operation, params) == expected


def test_allow_deny_wildcards_and_case_as_iam_evaluates_them() -> None:
    role = Principal("F", [
        Statement("Allow", ("dynamodb:*",), resources=(f"{TABLE}*",)),
        Statement("Deny", ("dynamodb:DeleteItem",), resources=("*",)),
        Statement("Allow", not_actions=("s3:*",), resources=("arn:aws:sqs:*:*:q?",)),
    ])
    assert role.allows("dynamodb:PutItem", TABLE)
    assert role.allows("DynamoDB:putitem", f"{TABLE}/index/GSI1")  # actions ignore case
    assert not role.allows("dynamodb:DeleteItem", TABLE)  # an explicit Deny wins
    assert not role.allows("dynamodb:PutItem", TABLE.upper())  # resources do not ignore case
    assert not role.allows("dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:123456789012:table/other")
    assert role.allows("sqs:SendMessage", "arn:aws:sqs:us-east-1:1:q1")
    assert not role.allows("sqs:SendMessage", "arn:aws:sqs:us-east-1:1:q12")
    assert not role.allows("s3:GetObject", "arn:aws:sqs:us-east-1:1:q1")  # NotAction


def test_every_role_of_the_template_expands(template: Template) -> None:
    roles = iam.principals(template)
    functions = set(template.of_type("AWS::Serverless::Function"))
    assert functions | {"PipelineStateMachine"} == set(roles)
    for name in functions:  # what SAM attaches by itself
        assert roles[name].allows("logs:PutLogEvents", "arn:aws:logs:us-east-1:1:log-group:x")


def test_the_pipeline_asl_asks_only_what_its_role_grants(template: Template) -> None:
    from signalfire_local.stepfunctions import render_definition

    spec = template.state_machines()["PipelineStateMachine"]
    needs = iam.asl_requirements(json.loads(render_definition(spec)))
    actions = {action for _, action, _ in needs}
    assert actions == {"lambda:InvokeFunction", "dynamodb:UpdateItem"}
    assert iam.state_machine_problems(template) == []


def test_a_state_machine_role_without_its_tasks_grants_is_refused(template: Template, tmp_path: Path) -> None:
    text = (ROOT / "template.yaml").read_text()
    narrowed = text.replace("        - LambdaInvokePolicy: { FunctionName: !Ref NotifyFunction }\n", "")
    assert narrowed != text
    path = tmp_path / "template.yaml"
    path.write_text(narrowed)
    (tmp_path / "statemachine").symlink_to(ROOT / "statemachine")
    problems = iam.state_machine_problems(Template(path))
    assert problems and all("lambda:InvokeFunction" in p and "NotifyFunction" in p for p in problems)
