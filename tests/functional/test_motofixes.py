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
from support import table_spec

TABLE = "fixes"


@pytest.fixture
def ddb(aws_env):
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**table_spec(TABLE))  # the template's table: PK/SK and GSI1-3
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


def test_executions_dropped_from_the_list_are_released(aws_env, monkeypatch):
    """Each execution's copy of its machine used to copy the machine's list
    of executions too, so every execution kept the ones before it alive."""
    import gc

    from moto.stepfunctions.parser.backend.execution import Execution

    monkeypatch.setattr(motofixes, "FINISHED_EXECUTIONS_KEPT", 3)
    with mock_aws(config=MOTO_SFN):
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = _machine(sfn)
        arns = []
        for i in range(12):
            arns.append(sfn.start_execution(stateMachineArn=arn, name=f"r{i}",
                                            input=json.dumps({"id": i}))["executionArn"])
            _wait(sfn, arns[-1:])
        deadline = time.monotonic() + 30
        alive = 12
        while time.monotonic() < deadline:
            gc.collect()
            alive = sum(1 for o in gc.get_objects() if type(o) is Execution)
            if alive <= 4:
                break
            time.sleep(0.1)
        assert alive <= 4  # the 3 kept, and at most one a worker thread still holds
        assert _wait(sfn, arns[-1:])[0]["status"] == "SUCCEEDED"


# ---------------------------------------------------------------- queries by key


@pytest.fixture
def gsi_table(aws_env):
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**table_spec(TABLE))
        yield client


def _gsi(ddb, value: str) -> list[str]:
    items = ddb.query(TableName=TABLE, IndexName="GSI1", KeyConditionExpression="GSI1PK = :g",
                      ExpressionAttributeValues={":g": {"S": value}})["Items"]
    return [i["PK"]["S"] for i in items]


def test_queries_look_only_at_the_key_they_name(gsi_table, monkeypatch):
    ddb = gsi_table
    for i in range(30):
        ddb.put_item(TableName=TABLE, Item={"PK": {"S": f"p{i % 3}"}, "SK": {"S": f"s{i:02d}"},
                                            "GSI1PK": {"S": f"g{i % 5}"}, "GSI1SK": {"S": f"{i:02d}"}})
    _gsi(ddb, "g0")  # builds the index once
    walked = []
    original = motofixes._ORIGINAL_ALL_ITEMS
    monkeypatch.setattr(motofixes, "_ORIGINAL_ALL_ITEMS", lambda table: walked.append(1) or original(table))
    page = ddb.query(TableName=TABLE, KeyConditionExpression="PK = :p AND begins_with(SK, :s)",
                     ExpressionAttributeValues={":p": {"S": "p1"}, ":s": {"S": "s1"}}, ScanIndexForward=False)
    assert [i["SK"]["S"] for i in page["Items"]] == ["s19", "s16", "s13", "s10"]
    assert _gsi(ddb, "g2") == ["p2", "p1", "p0", "p2", "p1", "p0"]  # GS order 02, 07, 12, 17, 22, 27
    assert walked == []  # neither query walked the table


def test_gsi_answers_follow_every_write_path(gsi_table):
    ddb = gsi_table
    key = {"PK": {"S": "a"}, "SK": {"S": "META"}}
    ddb.put_item(TableName=TABLE, Item={**key, "GSI1PK": {"S": "open"}, "GSI1SK": {"S": "1"}})
    assert _gsi(ddb, "open") == ["a"]
    ddb.update_item(TableName=TABLE, Key=key, UpdateExpression="SET GSI1PK = :g",
                    ExpressionAttributeValues={":g": {"S": "closed"}})
    assert (_gsi(ddb, "open"), _gsi(ddb, "closed")) == ([], ["a"])
    ddb.update_item(TableName=TABLE, Key={"PK": {"S": "b"}, "SK": {"S": "META"}},  # an upsert
                    UpdateExpression="SET GSI1PK = :g, GSI1SK = :s",
                    ExpressionAttributeValues={":g": {"S": "closed"}, ":s": {"S": "2"}})
    assert _gsi(ddb, "closed") == ["a", "b"]
    with pytest.raises(ddb.exceptions.TransactionCanceledException):
        ddb.transact_write_items(TransactItems=[
            {"Update": {"TableName": TABLE, "Key": key, "UpdateExpression": "SET GSI1PK = :g",
                        "ExpressionAttributeValues": {":g": {"S": "open"}}}},
            {"ConditionCheck": {"TableName": TABLE, "Key": {"PK": {"S": "zz"}, "SK": {"S": "META"}},
                                "ConditionExpression": "attribute_exists(PK)"}},
        ])
    assert (_gsi(ddb, "open"), _gsi(ddb, "closed")) == ([], ["a", "b"])  # rolled back, index too
    ddb.transact_write_items(TransactItems=[{"Delete": {"TableName": TABLE, "Key": key}}])
    ddb.batch_write_item(RequestItems={TABLE: [{"PutRequest": {"Item": {"PK": {"S": "c"}, "SK": {"S": "META"},
                                                                        "GSI1PK": {"S": "closed"}, "GSI1SK": {"S": "3"}}}}]})
    assert _gsi(ddb, "closed") == ["b", "c"]


# -- 8. attribute values serialized directly -------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_text = st.text(max_size=8)
# Names are never empty in DynamoDB; moto's own serializer also mishandles an
# empty map key (it writes the member into the parent), which the direct path does not.
_name = st.text(min_size=1, max_size=8)
_number = st.integers(-10**6, 10**6).map(str)
_scalar = st.one_of(
    st.builds(lambda v: {"S": v}, _text), st.builds(lambda v: {"N": v}, _number),
    st.builds(lambda v: {"B": v}, st.binary(max_size=8)), st.builds(lambda v: {"BOOL": v}, st.booleans()),
    st.just({"NULL": True}), st.builds(lambda v: {"SS": v}, st.lists(_text, min_size=1, max_size=3, unique=True)),
    st.builds(lambda v: {"NS": v}, st.lists(_number, min_size=1, max_size=3, unique=True)),
    st.builds(lambda v: {"BS": v}, st.lists(st.binary(max_size=4), min_size=1, max_size=3, unique=True)),
)
_value = st.recursive(_scalar, lambda inner: st.one_of(
    st.builds(lambda v: {"M": v}, st.dictionaries(_name, inner, max_size=3)),
    st.builds(lambda v: {"L": v}, st.lists(inner, max_size=3))), max_leaves=12)


def _serialize_get_item(item: dict, *, original: bool) -> dict:
    from moto.core.responses import get_service_model
    from moto.core.serialize import BaseJSONSerializer, JSONSerializer, XFormedAttributePicker

    operation = get_service_model("dynamodb").operation_model("GetItem")
    fast = BaseJSONSerializer._serialize_type_structure
    if original:
        BaseJSONSerializer._serialize_type_structure = fast._signalfire_original
    try:
        out = JSONSerializer(operation_model=operation, value_picker=XFormedAttributePicker()).serialize({"Item": item})
    finally:
        BaseJSONSerializer._serialize_type_structure = fast
    return json.loads(out["body"])


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_name, _value, min_size=1, max_size=4))
def test_attribute_values_serialize_exactly_as_moto_does(item):
    assert getattr(__import__("moto.core.serialize").core.serialize.BaseJSONSerializer
                   ._serialize_type_structure, "_signalfire_fixed", False)
    assert _serialize_get_item(item, original=False) == _serialize_get_item(item, original=True)


def test_every_attribute_type_round_trips_through_the_direct_path(ddb):
    item = {**_key("all"), "s": {"S": "x"}, "n": {"N": "1.5"}, "b": {"B": b"\x00\xff"}, "t": {"BOOL": False},
            "z": {"NULL": True}, "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2"]}, "bs": {"BS": [b"a", b"b"]},
            "m": {"M": {"l": {"L": [{"S": "y"}, {"M": {"b": {"B": b"\x01"}}}, {"NS": ["3"]}]}}}}
    ddb.put_item(TableName=TABLE, Item=item)
    got = _get(ddb, "all")
    assert {k: v for k, v in got.items() if k not in ("ss", "ns", "bs")} == \
        {k: v for k, v in item.items() if k not in ("ss", "ns", "bs")}
    assert sorted(got["ss"]["SS"]) == ["a", "b"] and sorted(got["ns"]["NS"]) == ["1", "2"]
    assert sorted(got["bs"]["BS"]) == [b"a", b"b"]


# -- 9. an item is measured once, against the same limit ------------------------------------


def test_an_item_is_measured_once_not_once_per_attribute(ddb, monkeypatch):
    from moto.dynamodb.models.dynamo_type import DynamoType

    calls = []
    size = DynamoType.size
    monkeypatch.setattr(DynamoType, "size", lambda self: calls.append(1) or size(self))
    attrs = {f"a{i}": {"S": "v"} for i in range(300)}
    ddb.put_item(TableName=TABLE, Item={**_key("wide"), **attrs})
    assert len(_get(ddb, "wide")) == 302
    assert len(calls) < 3 * 302  # per-set measuring made it about 302 * 301 / 2


def test_the_item_size_limit_still_holds(ddb):
    from botocore.exceptions import ClientError

    ddb.put_item(TableName=TABLE, Item={**_key("big"), "a": {"S": "x" * 200_000}, "b": {"S": "y" * 190_000}})
    with pytest.raises(ClientError) as info:
        ddb.put_item(TableName=TABLE, Item={**_key("bigger"), "a": {"S": "x" * 200_000}, "b": {"S": "y" * 210_000}})
    assert "Item size has exceeded the maximum allowed size" in info.value.response["Error"]["Message"]
    assert _get(ddb, "bigger") is None


# -- 10. response class methods listed once per class ----------------------------------------


def test_response_methods_are_listed_once_per_class(ddb, monkeypatch):
    import inspect

    ddb.list_tables()  # DynamoHandler's methods are known from here on
    walked = []
    getmembers = inspect.getmembers
    monkeypatch.setattr(inspect, "getmembers", lambda *a, **k: walked.append(1) or getmembers(*a, **k))
    for i in range(5):
        ddb.put_item(TableName=TABLE, Item=_key(f"m{i}"))
        assert _get(ddb, f"m{i}") == _key(f"m{i}")
    assert walked == []


# -- 11. an UpdateExpression is parsed once per text -----------------------------------------


def test_an_update_expression_is_parsed_once_and_its_tree_is_never_changed(ddb):
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    cache = UpdateExpressionParser.make._signalfire_cache
    expression = "SET n = if_not_exists(n, :zero) + :one, l = list_append(if_not_exists(l, :empty), :item) REMOVE gone"
    values = {":zero": {"N": "0"}, ":one": {"N": "1"}, ":empty": {"L": []}}
    before = cache.cache_info()
    for round_ in range(3):
        for pk in ("u1", "u2"):
            ddb.update_item(TableName=TABLE, Key=_key(pk), UpdateExpression=expression,
                            ExpressionAttributeValues={**values, ":item": {"L": [{"S": f"{pk}-{round_}"}]}})
    after = cache.cache_info()
    assert after.misses - before.misses <= 1 and after.hits - before.hits >= 5
    for pk in ("u1", "u2"):  # each update applied to its own item, as often as it was sent
        item = _get(ddb, pk)
        assert item["n"] == {"N": "3"}
        assert item["l"] == {"L": [{"S": f"{pk}-{r}"} for r in range(3)]}
