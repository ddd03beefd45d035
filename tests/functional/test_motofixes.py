"""The moto fixes that keep `signalfire local` flat under traffic
(signalfire_local.motofixes): same answers as moto, less copying and keeping."""

from __future__ import annotations

import json
import re
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


def _tables():
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends["123456789012"]["us-east-1"].tables.values()


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


def test_the_index_is_built_one_item_at_a_time(gsi_table):
    """The first GSI query of a populated table (a `--data-dir` restart, a
    stack that never queried that index yet) builds the index from every
    item.  Items are held compact; built all at once (moto's all_items) a
    table of 2,000 alerts was 1.4 million objects at once, a peak the
    process kept.  Built one at a time, the peak is the index itself."""
    import tracemalloc

    ddb = gsi_table
    attrs = {f"a{n}": {"S": f"value number {n}"} for n in range(20)}
    for i in range(1500):
        ddb.put_item(TableName=TABLE, Item={"PK": {"S": f"p{i}"}, "SK": {"S": "META"}, **attrs,
                                            "GSI1PK": {"S": "rare" if i == 700 else "common"},
                                            "GSI1SK": {"S": f"{i:05d}"}})
    table = next(iter(_tables()))
    assert "_signalfire_gsi" not in vars(table)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        found = _gsi(ddb, "rare")
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert "_signalfire_gsi" in vars(table) and found == ["p700"]
    assert peak < 2_000_000, peak  # all 1,500 built at once (moto's all_items): 9.3 MB


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


def test_gsi_answers_equal_a_scan_over_random_writes(gsi_table):
    """The index (one key per value held alone, a dict once shared; string
    keys held as str) answers every query as a walk of the table does, over
    puts, updates, removals, deletes and transactions mixed at random."""
    import random

    ddb, rng = gsi_table, random.Random(8)
    values = ["open", "closed", "muted", "a#1"]

    def expected(value: str) -> list[str]:
        found = [i for i in ddb.scan(TableName=TABLE)["Items"] if i.get("GSI1PK", {}).get("S") == value]
        return [i["PK"]["S"] for i in sorted(found, key=lambda i: i["GSI1SK"]["S"])]

    for step in range(250):
        key = {"PK": {"S": f"k{rng.randrange(12)}"}, "SK": {"S": rng.choice(["META", "X"])}}
        value, order = {"S": rng.choice(values)}, {"S": f"{step:04d}"}
        op = rng.randrange(5)
        if op == 0:
            ddb.put_item(TableName=TABLE, Item={**key, "GSI1PK": value, "GSI1SK": order})
        elif op == 1:
            ddb.update_item(TableName=TABLE, Key=key, UpdateExpression="SET GSI1PK = :g, GSI1SK = :s",
                            ExpressionAttributeValues={":g": value, ":s": order})
        elif op == 2:
            ddb.update_item(TableName=TABLE, Key=key, UpdateExpression="REMOVE GSI1PK")
        elif op == 3:
            ddb.delete_item(TableName=TABLE, Key=key)
        else:
            ddb.transact_write_items(TransactItems=[{"Put": {"TableName": TABLE, "Item": {
                **key, "GSI1PK": value, "GSI1SK": order}}}])
        for v in values:
            assert _gsi(ddb, v) == expected(v), (step, v)


# -- 8. attribute values serialized directly -------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
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


# -- 12-14. per-call work: the same answers as moto's own path --------------------------------
#
# Each generated operation runs twice: on one table with the fixes, and on a
# twin table inside ``motofixes.moto_own_path()`` (moto's own update_item,
# deep copy and condition lexer).  Answers, errors and the items left must match.

_PLACEHOLDER = re.compile(r"[:#][A-Za-z0-9_]+")
_VALUES = {":zero": {"N": "0"}, ":one": {"N": "1"}, ":ten": {"N": "10"}, ":pre": {"S": "a"},
           ":p": {"S": "p"}, ":t": {"S": "S"}, ":open": {"S": "open"}, ":ack": {"S": "ack"},
           ":map": {"M": {"x": {"M": {"deep": {"N": "1"}}}}}, ":l": {"L": [{"N": "7"}]},
           ":tags": {"SS": ["p", "q"]}, ":s": {"S": "abc"}}
_NAMES = {"#st": "status", "#n": "n"}
_conditions = st.sampled_from([
    "attribute_exists(n)", "attribute_not_exists(PK)", "n > :zero", "#n >= :one", "n BETWEEN :zero AND :ten",
    "n IN (:zero, :one)", "size(s) < :ten", "begins_with(s, :pre)", "contains(tags, :p)", "#st = :open",
    "#st IN (:open, :ack)", "attribute_type(s, :t)", "m.x.deep = :one", "l[0] = :one", "n <> :one",
])
_condition = st.recursive(_conditions, lambda inner: st.one_of(
    st.builds(lambda a, b: f"{a} AND {b}", inner, inner), st.builds(lambda a, b: f"{a} OR {b}", inner, inner),
    st.builds(lambda a: f"NOT {a}", inner), st.builds(lambda a: f"({a})", inner)), max_leaves=4)
_set_actions = st.sampled_from([
    "n = :one", "n = n + :one", "n = if_not_exists(n, :zero) + :one", "m = :map", "m.x.deep = :ten",
    "l = list_append(if_not_exists(l, :l), :l)", "s = :s", "#st = :open", "l[0] = :ten",
])
_update_expression = st.one_of(
    st.lists(_set_actions, min_size=1, max_size=3, unique=True).map(lambda a: "SET " + ", ".join(a)),
    st.sampled_from(["ADD tags :tags", "DELETE tags :tags", "REMOVE m.x, s", "ADD n :one REMOVE l[0]",
                     "SET s = :s REMOVE #st", "REMOVE PK", "SET n = :one, n = :ten"]),
)


def _with_placeholders(params: dict, *texts: str) -> dict:
    used = {p for text in texts for p in _PLACEHOLDER.findall(text)}
    values = {k: v for k, v in _VALUES.items() if k in used}
    names = {k: v for k, v in _NAMES.items() if k in used}
    if values:
        params["ExpressionAttributeValues"] = values
    if names:
        params["ExpressionAttributeNames"] = names
    return params


_pks = st.sampled_from(["a", "b", "c"])


@st.composite
def _call(draw) -> tuple[str, dict]:
    kind = draw(st.sampled_from(["update", "update", "update", "put", "delete", "transact", "query"]))
    key = _key(draw(_pks))
    condition = draw(st.none() | _condition)
    if kind == "update":
        expression = draw(_update_expression)
        params = {"Key": key, "UpdateExpression": expression,
                  "ReturnValues": draw(st.sampled_from(["NONE", "ALL_NEW", "ALL_OLD", "UPDATED_NEW"]))}
        if condition:
            params["ConditionExpression"] = condition
        return "update_item", _with_placeholders(params, expression, condition or "")
    if kind == "put":
        item = {**key, "n": {"N": str(draw(st.integers(-2, 12)))}, "s": {"S": draw(st.sampled_from(["abc", "x"]))},
                "status": {"S": draw(st.sampled_from(["open", "ack", "closed"]))}}
        if draw(st.booleans()):
            item["tags"] = {"SS": ["p", "z"]}
        params = {"Item": item}
        if condition:
            params["ConditionExpression"] = condition
        return "put_item", _with_placeholders(params, condition or "")
    if kind == "delete":
        params = {"Key": key, "ReturnValues": "ALL_OLD"}
        if condition:
            params["ConditionExpression"] = condition
        return "delete_item", _with_placeholders(params, condition or "")
    if kind == "query":
        params = {"KeyConditionExpression": "PK = :pk", "ExpressionAttributeValues": {":pk": key["PK"]}}
        if condition:
            params = _with_placeholders(params, condition)
            params["ExpressionAttributeValues"][":pk"] = key["PK"]
            params["FilterExpression"] = condition
        return "query", params
    expression = draw(_update_expression)
    update = _with_placeholders({"Key": key, "UpdateExpression": expression}, expression, condition or "")
    if condition:
        update["ConditionExpression"] = condition
    check = draw(_condition)
    other = _with_placeholders({"Key": _key(draw(_pks)), "ConditionExpression": check}, check)
    return "transact_write_items", {"TransactItems": [{"Update": update}, {"ConditionCheck": other}]}


def _on(table: str, params: dict) -> dict:
    if "TransactItems" in params:
        return {"TransactItems": [{k: {**v, "TableName": table} for k, v in entry.items()}
                                  for entry in params["TransactItems"]]}
    return {**params, "TableName": table}


def _answer(client, method: str, params: dict, table: str):
    try:
        out = getattr(client, method)(**_on(table, params))
        out.pop("ResponseMetadata", None)
        return ("ok", json.loads(json.dumps(out, default=repr).replace(table, "T")))
    except client.exceptions.ClientError as error:
        return ("error", error.response["Error"]["Code"], error.response["Error"]["Message"].replace(table, "T"),
                error.response.get("CancellationReasons"))
    except Exception as error:  # noqa: BLE001 - moto's own exceptions must match too
        return ("raised", type(error).__name__, str(error).replace(table, "T"))


def _sorted_sets(value):
    if isinstance(value, dict):
        return {k: sorted(v) if k in ("SS", "NS", "BS") else _sorted_sets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_sorted_sets(v) for v in value]
    return value


@pytest.fixture
def twin_tables(aws_env):
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**table_spec("fixed"))
        client.create_table(**table_spec("own"))
        yield client


@pytest.fixture
def params_compared(monkeypatch):
    """Every request parsed both ways (fix 15 and moto's werkzeug path): the
    parameters a handler sees must be equal.  Returns the actions compared."""
    from moto.core.responses import BaseResponse

    (_, _, moto_parse), = [entry for entry in motofixes._PER_CALL if entry[1] == "parse_parameters"]
    fixed = BaseResponse.__dict__["parse_parameters"]
    compared: list[str] = []

    def both(self, request):
        moto_parse(self, request)
        theirs = self.params
        fixed(self, request)
        assert self.params == theirs and type(self.params) is type(theirs)
        compared.append(self._get_action())

    monkeypatch.setattr(BaseResponse, "parse_parameters", both)
    return compared


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(_call(), min_size=1, max_size=8))
def test_per_call_fixes_answer_exactly_as_moto_does(twin_tables, params_compared, calls):
    client = twin_tables
    for table in ("fixed", "own"):  # each example starts from the same items
        for item in client.scan(TableName=table)["Items"]:
            client.delete_item(TableName=table, Key={"PK": item["PK"], "SK": item["SK"]})
        client.put_item(TableName=table, Item={**_key("a"), "n": {"N": "1"}, "s": {"S": "abc"},
                                               "status": {"S": "open"}, "tags": {"SS": ["p", "q"]},
                                               "m": {"M": {"x": {"M": {"deep": {"N": "1"}}}}},
                                               "l": {"L": [{"N": "1"}, {"N": "2"}]}})
    for method, params in calls:
        fixed = _answer(client, method, params, "fixed")
        with motofixes.moto_own_path():
            own = _answer(client, method, params, "own")
        assert _sorted_sets(fixed) == _sorted_sets(own), (method, params)
    items = [sorted(json.dumps(_sorted_sets(i), sort_keys=True) for i in client.scan(TableName=t)["Items"])
             for t in ("fixed", "own")]
    assert items[0] == items[1]
    assert {method.title().replace("_", "") for method, _ in calls} <= set(params_compared)


def test_moto_own_path_really_is_moto_s(twin_tables):
    from moto.core.responses import BaseResponse
    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node

    (update_item, _, moto_code), answer = [entry for entry in motofixes._PER_CALL if entry[1] == "__code__"]
    assert answer[0].__qualname__ == "DynamoHandler.update_item" and answer[0].__code__ is not answer[2]
    fixed_code = update_item.__code__
    assert update_item.__qualname__ == "DynamoDBBackend.update_item" and fixed_code is not moto_code
    assert "__deepcopy__" in vars(Node)
    with motofixes.moto_own_path():
        assert "__deepcopy__" not in vars(Node)
        assert update_item.__code__ is moto_code and answer[0].__code__ is answer[2]
        assert not getattr(ConditionExpressionParser._lex_condition_expression, "_signalfire_fixed", False)
        assert not getattr(BaseResponse.parse_parameters, "_signalfire_fixed", False)
        assert not getattr(DepthFirstTraverser.process, "_signalfire_fixed", False)
    assert update_item.__code__ is fixed_code
    assert getattr(BaseResponse.parse_parameters, "_signalfire_fixed", False)


# -- 12, 17. UpdateItem copies the item only for a stream or an answer that reads it --------------------------------------------


def test_update_item_copies_the_item_only_for_a_stream_or_an_answer_that_reads_it(ddb, monkeypatch):
    from moto.dynamodb.models.dynamo_type import Item

    copies = []
    deepcopy = Item.__deepcopy__
    monkeypatch.setattr(Item, "__deepcopy__", lambda self, memo: copies.append(1) or deepcopy(self, memo))
    ddb.put_item(TableName=TABLE, Item={**_key("s"), "n": {"N": "1"}})
    for returned in ("NONE", "ALL_NEW"):
        ddb.update_item(TableName=TABLE, Key=_key("s"), UpdateExpression="SET n = n + :one",
                        ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues=returned)
    assert copies == []  # moto made two per update: the stream's (12) and the answer's (17)
    answer = ddb.update_item(TableName=TABLE, Key=_key("s"), UpdateExpression="SET n = n + :one",
                             ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="UPDATED_OLD")
    assert answer["Attributes"] == {"n": {"N": "3"}} and len(copies) == 1  # the old item, for the answer
    copies.clear()

    spec = {**table_spec("streamed"), "StreamSpecification": {"StreamEnabled": True,
                                                              "StreamViewType": "NEW_AND_OLD_IMAGES"}}
    arn = ddb.create_table(**spec)["TableDescription"]["LatestStreamArn"]
    ddb.put_item(TableName="streamed", Item={**_key("s"), "n": {"N": "1"}})
    copies.clear()
    ddb.update_item(TableName="streamed", Key=_key("s"), UpdateExpression="SET n = n + :one",
                    ExpressionAttributeValues={":one": {"N": "1"}})
    assert len(copies) == 1  # for the stream record
    streams = boto3.client("dynamodbstreams", region_name="us-east-1")
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    modify = [r for r in streams.get_records(ShardIterator=iterator)["Records"] if r["eventName"] == "MODIFY"]
    assert modify[0]["dynamodb"]["OldImage"]["n"] == {"N": "1"}  # the stream still gets the item as it was
    assert modify[0]["dynamodb"]["NewImage"]["n"] == {"N": "2"}


# -- 13. expression trees copied exactly, without the generic protocol ----------------------------


def _shape(root, original_ids: set[int]) -> list:
    """Every node of a tree as (class, attributes with nodes as positions),
    and whether any mutable part is shared with the original."""
    from moto.dynamodb.parsing.ast_nodes import Node

    order: dict[int, int] = {}
    todo, nodes = [root], []
    while todo:
        node = todo.pop()
        if id(node) in order:
            continue
        order[id(node)] = len(nodes)
        nodes.append(node)
        for value in vars(node).values():
            for v in (value if isinstance(value, list) else [value]):
                if isinstance(v, Node):
                    todo.append(v)

    def describe(value):
        if isinstance(value, Node):
            return ("node", order[id(value)])
        if isinstance(value, list):
            return ("list", id(value) in original_ids, [describe(v) for v in value])
        if hasattr(value, "__dict__") and not isinstance(value, type):
            return (type(value).__name__, id(value) in original_ids, repr(value))
        return value

    return [(type(n).__name__, id(n) in original_ids, sorted((k, describe(v)) for k, v in vars(n).items()))
            for n in nodes]


def _ids(root) -> set[int]:
    from moto.dynamodb.parsing.ast_nodes import Node

    seen, todo = set(), [root]
    while todo:
        obj = todo.pop()
        if id(obj) in seen or not (isinstance(obj, Node | list) or hasattr(obj, "__dict__")):
            continue
        seen.add(id(obj))
        todo.extend(obj if isinstance(obj, list) else vars(obj).values())
    return seen


@settings(max_examples=150, deadline=None)
@given(_update_expression)
def test_an_expression_tree_is_copied_exactly_as_deepcopy_does(expression):
    import copy

    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    with motofixes.moto_own_path():
        tree = UpdateExpressionParser.make(expression)
        tree.children[0].parent = tree  # a cycle through the root, as validators leave
        reference = copy.deepcopy(tree)
    fast = copy.deepcopy(tree)
    original = _ids(tree)
    assert _shape(fast, original) == _shape(reference, original)
    assert not any(shared for _, shared, _ in _shape(fast, original))  # no node of the original in the copy


# -- 14. condition expressions lexed once per text --------------------------------------------------


def test_a_condition_is_lexed_once_per_text_and_its_tokens_are_never_shared(ddb):
    from moto.dynamodb.comparisons import ConditionExpressionParser

    cache = ConditionExpressionParser._lex_condition_expression._signalfire_cache
    condition = "attribute_not_exists(PK) OR (#st IN (:open, :ack) AND n < :ten)"
    before = cache.cache_info()
    for i in range(4):
        ddb.update_item(TableName=TABLE, Key=_key("c"), UpdateExpression="SET #st = :open, n = :i",
                        ConditionExpression=condition, ExpressionAttributeNames={"#st": "status"},
                        ExpressionAttributeValues={":open": {"S": "open"}, ":ack": {"S": "ack"},
                                                   ":ten": {"N": "10"}, ":i": {"N": str(i * 4)}})
    after = cache.cache_info()
    assert after.misses - before.misses <= 1 and after.hits - before.hits >= 6  # response and model parse it
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):  # n is 12: the condition is evaluated
        ddb.update_item(TableName=TABLE, Key=_key("c"), UpdateExpression="SET n = :ten",
                        ConditionExpression=condition, ExpressionAttributeNames={"#st": "status"},
                        ExpressionAttributeValues={":open": {"S": "open"}, ":ack": {"S": "ack"},
                                                   ":ten": {"N": "10"}})
    parser = ConditionExpressionParser(condition, {"#st": "status"}, {":open": {"S": "open"}})
    first = parser._lex_condition_expression()
    first.popleft()
    first[0].children.append("changed")
    again = parser._lex_condition_expression()
    assert [t.text for t in again][:3] == ["attribute_not_exists", "(", "PK"]
    assert all(t.children == [] for t in again)


def test_a_reserved_word_in_a_condition_is_still_refused(ddb):
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as info:
        ddb.put_item(TableName=TABLE, Item=_key("r"), ConditionExpression="attribute_not_exists(Status)")
    assert "reserved keyword" in info.value.response["Error"]["Message"]
    ddb.put_item(TableName=TABLE, Item=_key("r"), ConditionExpression="attribute_not_exists(statuses)")
    assert _get(ddb, "r") == _key("r")


# -- 16. a traverser's processing map built once --------------------------------------------------


def test_a_validator_pass_builds_its_processing_map_once(ddb, monkeypatch):
    from moto.dynamodb.parsing.validators import ExpressionAttributeValueProcessor

    built = []
    mapping = ExpressionAttributeValueProcessor._processing_map
    monkeypatch.setattr(ExpressionAttributeValueProcessor, "_processing_map",
                        lambda self: built.append(id(self)) or mapping(self))
    ddb.put_item(TableName=TABLE, Item={**_key("v"), "n": {"N": "1"}})
    expression = "SET " + ", ".join(f"#f{i} = :f{i}" for i in range(8)) + " ADD n :one"
    ddb.update_item(TableName=TABLE, Key=_key("v"), UpdateExpression=expression,
                    ExpressionAttributeNames={f"#f{i}": f"f{i}" for i in range(8)},
                    ExpressionAttributeValues={**{f":f{i}": {"S": str(i)} for i in range(8)}, ":one": {"N": "1"}})
    assert len(built) == len(set(built)) == 1  # one validator, one pass of this kind: moto built it ~120 times
    item = _get(ddb, "v")
    assert item["n"] == {"N": "2"} and [item[f"f{i}"]["S"] for i in range(8)] == [str(i) for i in range(8)]
