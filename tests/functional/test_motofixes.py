"""The moto fixes that keep `signalfire local` flat under traffic
(signalfire_local.motofixes): same answers as moto, less copying and keeping."""

from __future__ import annotations

import json
import threading
import time

import boto3
import pytest
from moto import mock_aws

from signalfire_local import motofixes

TABLE = "fixes"


@pytest.fixture
def ddb(aws_env):
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"},
                                                  {"AttributeName": "SK", "AttributeType": "S"}],
                            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"},
                                       {"AttributeName": "SK", "KeyType": "RANGE"}])
        yield client


def _key(pk: str) -> dict:
    return {"PK": {"S": pk}, "SK": {"S": "META"}}


def _get(ddb, pk: str) -> dict | None:
    return ddb.get_item(TableName=TABLE, Key=_key(pk)).get("Item")


@pytest.fixture
def no_table_copies(monkeypatch):
    """Fail the test if anything deep-copies a whole table."""
    from moto.dynamodb.models.table import Table

    def refuse(self, memo):
        raise AssertionError("a whole table was deep-copied")

    monkeypatch.setattr(Table, "__deepcopy__", refuse, raising=False)


def test_transaction_writes_without_copying_the_table(ddb, no_table_copies):
    for i in range(50):
        ddb.put_item(TableName=TABLE, Item={**_key(f"old{i}"), "n": {"N": "1"}})
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": TABLE, "Item": {**_key("new"), "v": {"S": "x"}},
                 "ConditionExpression": "attribute_not_exists(PK)"}},
        {"Update": {"TableName": TABLE, "Key": _key("old1"), "UpdateExpression": "SET n = n + :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}}}},
        {"Delete": {"TableName": TABLE, "Key": _key("old2")}},
    ])
    assert _get(ddb, "new")["v"] == {"S": "x"}
    assert _get(ddb, "old1")["n"] == {"N": "2"}
    assert _get(ddb, "old2") is None


def test_failed_transaction_rolls_back_every_item_it_touched(ddb, no_table_copies):
    ddb.put_item(TableName=TABLE, Item={**_key("a"), "n": {"N": "1"}})
    ddb.put_item(TableName=TABLE, Item={**_key("b"), "n": {"N": "1"}})
    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": TABLE, "Item": {**_key("c"), "v": {"S": "new"}}}},
            {"Update": {"TableName": TABLE, "Key": _key("a"), "UpdateExpression": "SET n = :nine",
                        "ExpressionAttributeValues": {":nine": {"N": "9"}}}},
            {"Delete": {"TableName": TABLE, "Key": _key("b")}},
            {"ConditionCheck": {"TableName": TABLE, "Key": _key("missing"),
                                "ConditionExpression": "attribute_exists(PK)"}},
        ])
    assert _get(ddb, "c") is None
    assert _get(ddb, "a")["n"] == {"N": "1"}
    assert _get(ddb, "b")["n"] == {"N": "1"}


def test_model_instances_are_not_kept(ddb):
    from moto.dynamodb.models.dynamo_type import Item

    for i in range(20):
        ddb.put_item(TableName=TABLE, Item={**_key(f"k{i}"), "n": {"N": str(i)}})
    assert Item.instances_tracked == []


# ---------------------------------------------------------------- Step Functions

MOTO_SFN = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
MACHINE = {
    "StartAt": "Label",
    "States": {
        "Label": {"Type": "Pass", "Parameters": {"label.$": "States.Format('RUN#{}', $.id)", "id.$": "$.id"},
                  "Next": "Check"},
        "Check": {"Type": "Choice", "Choices": [{"Variable": "$.id", "NumericGreaterThan": -1, "Next": "Done"}],
                  "Default": "Done"},
        "Done": {"Type": "Succeed"},
    },
}


def _machine(sfn) -> str:
    return sfn.create_state_machine(name="toy", definition=json.dumps(MACHINE),
                                    roleArn="arn:aws:iam::123456789012:role/x")["stateMachineArn"]


def _wait(sfn, arns: list[str]) -> list[dict]:
    deadline = time.monotonic() + 60
    while True:
        found = [sfn.describe_execution(executionArn=a) for a in arns]
        if all(d["status"] != "RUNNING" for d in found) or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_concurrent_executions_share_one_parsed_program(aws_env):
    with mock_aws(config=MOTO_SFN):
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = _machine(sfn)
        arns: list[str] = []
        lock = threading.Lock()

        def start(i: int) -> None:
            out = sfn.start_execution(stateMachineArn=arn, name=f"run{i}", input=json.dumps({"id": i}))
            with lock:
                arns.append(out["executionArn"])

        threads = [threading.Thread(target=start, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        results = _wait(sfn, arns)
        assert [r["status"] for r in results] == ["SUCCEEDED"] * 16
        for r in results:
            out = json.loads(r["output"])
            assert out["label"] == f"RUN#{out['id']}"  # each execution saw its own input


def test_finished_executions_are_bounded(aws_env, monkeypatch):
    monkeypatch.setattr(motofixes, "FINISHED_EXECUTIONS_KEPT", 3)
    with mock_aws(config=MOTO_SFN):
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = _machine(sfn)
        arns = [sfn.start_execution(stateMachineArn=arn, name=f"e{i}", input=json.dumps({"id": i}))["executionArn"]
                for i in range(8)]
        deadline = time.monotonic() + 60
        while len(sfn.list_executions(stateMachineArn=arn)["executions"]) > 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        kept = sfn.list_executions(stateMachineArn=arn)["executions"]
        assert len(kept) == 3
        assert {e["status"] for e in kept} == {"SUCCEEDED"}
        assert sfn.describe_execution(executionArn=kept[0]["executionArn"])["status"] == "SUCCEEDED"
        assert set(arns) >= {e["executionArn"] for e in kept}
