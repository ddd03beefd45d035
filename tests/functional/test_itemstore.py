"""Items held compact (signalfire_local.itemstore): every write path answers
exactly as moto does with its own item objects, and a stored item is one
bytes object, not an object per attribute.

The reference is moto itself in the same process: a twin table whose
``items`` are put back to moto's own ``defaultdict(dict)``, so its items are
moto's ``Item`` objects throughout.  Every operation runs on both tables;
answers, errors, reads and GSI queries must match.
"""

from __future__ import annotations

import gc
import zlib
from collections import defaultdict
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from signalfire_local import itemstore

COMPACT, PLAIN = "compact", "plain"


def _create(client: Any, name: str) -> None:
    client.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("PK", "SK", "G", "GS")],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{"IndexName": "GSI", "Projection": {"ProjectionType": "ALL"},
                                 "KeySchema": [{"AttributeName": "G", "KeyType": "HASH"},
                                               {"AttributeName": "GS", "KeyType": "RANGE"}]}])


def _moto_table(name: str) -> Any:
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends["123456789012"]["us-east-1"].tables[name]


@pytest.fixture
def twins(aws_env, monkeypatch):
    # a fresh preset dictionary, learnt from the first 2 KB: items are stored
    # both ways (before it is learnt, and with it) in each test
    monkeypatch.setattr(itemstore, "DICTIONARY_BYTES", 2048)
    monkeypatch.setattr(itemstore, "DICTIONARY", itemstore._Dictionary())
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        _create(client, COMPACT)
        _create(client, PLAIN)
        assert isinstance(_moto_table(COMPACT).items, itemstore._Partitions)
        _moto_table(PLAIN).items = defaultdict(dict)  # moto's own storage: the reference
        yield client


def _normalize(value: Any) -> Any:
    """Answers of the two tables, comparable: table names out, sets sorted."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "ResponseMetadata":
                continue
            if k in ("SS", "NS", "BS") and isinstance(v, list):
                out[k] = sorted(v)
            elif k in (COMPACT, PLAIN):
                out["TABLE"] = _normalize(v)
            else:
                out[k] = _normalize(v)
        return out
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    if isinstance(value, str):
        return value.replace(COMPACT, "TABLE").replace(PLAIN, "TABLE")
    return value


def _with_table(op: dict[str, Any], table: str) -> dict[str, Any]:
    """``op`` (written for table "T") addressed to ``table``."""
    def sub(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: (table if k == "TableName" else sub(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [sub(v) for v in value]
        return value

    op = sub(op)
    if "RequestItems" in op:
        op["RequestItems"] = {table: op["RequestItems"]["T"]}
    return op


def _call(client: Any, method: str, params: dict[str, Any], table: str) -> Any:
    try:
        return ("ok", _normalize(getattr(client, method)(**_with_table(params, table))))
    except client.exceptions.ClientError as error:
        return ("error", error.response["Error"]["Code"], _normalize(error.response.get("CancellationReasons")))
    except Exception as error:  # noqa: BLE001 - moto's own bugs (REMOVE m.x on a list: TypeError) must match too
        return ("raised", type(error).__name__)


def _both(client: Any, method: str, **params: Any) -> Any:
    compact = _call(client, method, params, COMPACT)
    plain = _call(client, method, params, PLAIN)
    assert compact == plain, (method, params)
    return compact


def _everything(client: Any) -> list[Any]:
    """Every item by scan, by key, and by GSI value, from both tables (equal)."""
    seen = _both(client, "scan", TableName="T")
    for item in seen[1]["Items"]:
        _both(client, "get_item", TableName="T", Key={"PK": item["PK"], "SK": item["SK"]}, ConsistentRead=True)
        _both(client, "query", TableName="T", KeyConditionExpression="PK = :p",
              ExpressionAttributeValues={":p": item["PK"]})
    for g in ("g0", "g1", "g2"):
        _both(client, "query", TableName="T", IndexName="GSI", KeyConditionExpression="G = :g",
              ExpressionAttributeValues={":g": {"S": g}})
    return seen[1]["Items"]


# -- the operations, generated --------------------------------------------------------

_pk = st.sampled_from(["a", "b", "c"])
_sk = st.sampled_from(["1", "2"])
_scalar = st.one_of(
    st.builds(lambda v: {"S": v}, st.text(max_size=6)),
    st.builds(lambda v: {"N": str(v)}, st.integers(-1000, 1000)),
    st.builds(lambda v: {"BOOL": v}, st.booleans()),
    st.just({"NULL": True}),
    st.builds(lambda v: {"B": v}, st.binary(min_size=1, max_size=4)),
    st.builds(lambda v: {"SS": v}, st.lists(st.text(min_size=1, max_size=3), min_size=1, max_size=3, unique=True)),
    st.builds(lambda v: {"NS": v}, st.lists(st.integers(0, 50).map(str), min_size=1, max_size=3, unique=True)),
)
_value = st.recursive(_scalar, lambda inner: st.one_of(
    st.builds(lambda v: {"M": v}, st.dictionaries(st.sampled_from(["x", "y", "z"]), inner, max_size=3)),
    st.builds(lambda v: {"L": v}, st.lists(inner, max_size=3))), max_leaves=8)


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


@st.composite
def _item(draw: Any) -> dict[str, Any]:
    item = {**_key(draw(_pk), draw(_sk)), **draw(st.dictionaries(st.sampled_from(["m", "n", "s", "l"]), _value,
                                                                 max_size=3))}
    if draw(st.booleans()):
        item["G"] = {"S": draw(st.sampled_from(["g0", "g1", "g2"]))}
        item["GS"] = {"S": draw(st.sampled_from(["1", "2", "3"]))}
    return item


_updates = st.sampled_from([
    ("SET m = :map", {":map": {"M": {"x": {"M": {"deep": {"N": "1"}}}, "y": {"L": [{"S": "a"}]}}}}),
    ("SET m.x.deep = :v", {":v": {"S": "changed"}}),  # nested SET (fails when m.x is absent, on both)
    ("SET m.y = list_append(m.y, :l)", {":l": {"L": [{"N": "7"}]}}),
    ("REMOVE m.x, s", {}),
    ("ADD n :one", {":one": {"N": "1"}}),
    ("ADD tags :t", {":t": {"SS": ["p", "q"]}}),
    ("DELETE tags :t", {":t": {"SS": ["p"]}}),
    ("SET G = :g, GS = :s", {":g": {"S": "g1"}, ":s": {"S": "9"}}),
    ("REMOVE G", {}),
    ("SET n = if_not_exists(n, :zero) + :one", {":zero": {"N": "0"}, ":one": {"N": "1"}}),
])


@st.composite
def _operation(draw: Any) -> tuple[str, dict[str, Any]]:
    kind = draw(st.sampled_from(["put", "update", "delete", "transact", "batch"]))
    if kind == "put":
        params: dict[str, Any] = {"TableName": "T", "Item": draw(_item())}
        if draw(st.booleans()):
            params["ConditionExpression"] = "attribute_not_exists(PK)"
        return "put_item", params
    if kind == "update":
        expression, values = draw(_updates)
        params = {"TableName": "T", "Key": _key(draw(_pk), draw(_sk)), "UpdateExpression": expression,
                  "ReturnValues": draw(st.sampled_from(["NONE", "ALL_NEW", "ALL_OLD", "UPDATED_NEW"]))}
        if values:
            params["ExpressionAttributeValues"] = values
        return "update_item", params
    if kind == "delete":
        return "delete_item", {"TableName": "T", "Key": _key(draw(_pk), draw(_sk)),
                               "ReturnValues": draw(st.sampled_from(["NONE", "ALL_OLD"]))}
    if kind == "batch":
        requests = []
        seen = set()
        for _ in range(draw(st.integers(1, 4))):
            if draw(st.booleans()):
                item = draw(_item())
                ident = (item["PK"]["S"], item["SK"]["S"])
                request = {"PutRequest": {"Item": item}}
            else:
                ident = (draw(_pk), draw(_sk))
                request = {"DeleteRequest": {"Key": _key(*ident)}}
            if ident not in seen:  # DynamoDB refuses two requests for one key
                seen.add(ident)
                requests.append(request)
        return "batch_write_item", {"RequestItems": {"T": requests}}
    entries = []
    seen = set()
    for _ in range(draw(st.integers(1, 4))):
        pk, sk = draw(_pk), draw(_sk)
        if (pk, sk) in seen:  # DynamoDB refuses two operations on one item
            continue
        seen.add((pk, sk))
        op = draw(st.sampled_from(["Put", "Update", "Delete", "ConditionCheck"]))
        if op == "Put":
            entries.append({"Put": {"TableName": "T", "Item": {**draw(_item()), **_key(pk, sk)}}})
        elif op == "Update":
            expression, values = draw(_updates)
            update: dict[str, Any] = {"TableName": "T", "Key": _key(pk, sk), "UpdateExpression": expression}
            if values:
                update["ExpressionAttributeValues"] = values
            entries.append({"Update": update})
        elif op == "Delete":
            entries.append({"Delete": {"TableName": "T", "Key": _key(pk, sk)}})
        else:  # the check that fails rolls every other entry back
            entries.append({"ConditionCheck": {"TableName": "T", "Key": _key(pk, sk),
                                               "ConditionExpression": draw(st.sampled_from(
                                                   ["attribute_exists(PK)", "attribute_not_exists(PK)"]))}})
    return "transact_write_items", {"TransactItems": entries}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_operation(), min_size=1, max_size=12))
def test_every_write_path_answers_as_moto_does(twins, operations):
    client = twins
    for key in [_key(p, s) for p in "abc" for s in "12"]:  # start each example empty
        client.delete_item(TableName=COMPACT, Key=key)
        client.delete_item(TableName=PLAIN, Key=key)
    for method, params in operations:
        _both(client, method, **params)
        _everything(client)


def test_a_rolled_back_transaction_leaves_items_and_index_as_they_were(twins):
    client = twins
    for table in (COMPACT, PLAIN):
        client.put_item(TableName=table, Item={**_key("a", "1"), "G": {"S": "g0"}, "GS": {"S": "1"},
                                               "m": {"M": {"x": {"L": [{"N": "1"}]}}}})
    before = _everything(client)
    result = _both(client, "transact_write_items", TransactItems=[
        {"Update": {"TableName": "T", "Key": _key("a", "1"),
                    "UpdateExpression": "SET G = :g, m.x[0] = :v REMOVE GS",
                    "ExpressionAttributeValues": {":g": {"S": "g1"}, ":v": {"S": "new"}}}},
        {"Put": {"TableName": "T", "Item": {**_key("b", "1"), "G": {"S": "g1"}, "GS": {"S": "2"}}}},
        {"ConditionCheck": {"TableName": "T", "Key": _key("c", "1"), "ConditionExpression": "attribute_exists(PK)"}},
    ])
    assert result[0] == "error" and result[1] == "TransactionCanceledException"
    assert _everything(client) == before


def test_stored_items_are_bytes_not_an_object_per_attribute(twins):
    from moto.dynamodb.models.dynamo_type import DynamoType

    client = twins
    attrs = {f"a{i}": {"S": f"value {i}"} for i in range(10)}
    attrs["nested"] = {"M": {"l": {"L": [{"N": "1"}, {"M": {"k": {"S": "v"}}}]}}}

    def objects() -> int:
        gc.collect()
        return sum(1 for o in gc.get_objects() if type(o) is DynamoType)

    grown = {}
    for table in (COMPACT, PLAIN):
        start = objects()
        for i in range(200):
            client.put_item(TableName=table, Item={**_key(f"p{i}", "1"), **attrs})
        client.update_item(TableName=table, Key=_key("p0", "1"), UpdateExpression="SET a0 = :v",
                           ExpressionAttributeValues={":v": {"S": "x"}})
        grown[table] = objects() - start
    # moto's own storage: an object per attribute and nested value (16 per item), plus keys
    assert grown[PLAIN] >= 200 * 16
    # compact: what is left per item is its keys (the hash and range key of the mapping)
    assert grown[COMPACT] <= 200 * 3
    stored = [v for partition in dict.values(_moto_table(COMPACT).items) for v in dict.values(partition)]
    assert len(stored) == 200 and all(type(v) is bytes for v in stored)
    assert itemstore.DICTIONARY.data is not None and stored[-1][0] == 1  # the later ones with the dictionary
    raw = itemstore.DICTIONARY.decompress(stored[-1])
    assert len(stored[-1]) < len(zlib.compress(raw, 1)) / 2  # what the dictionary is for
    assert client.get_item(TableName=COMPACT, Key=_key("p0", "1"))["Item"]["a0"] == {"S": "x"}


def test_reads_leave_items_compact(twins):
    client = twins
    client.put_item(TableName=COMPACT, Item={**_key("a", "1"), "G": {"S": "g0"}, "GS": {"S": "1"}})
    client.get_item(TableName=COMPACT, Key=_key("a", "1"))
    client.query(TableName=COMPACT, IndexName="GSI", KeyConditionExpression="G = :g",
                 ExpressionAttributeValues={":g": {"S": "g0"}})
    client.scan(TableName=COMPACT)
    partition = dict.__getitem__(_moto_table(COMPACT).items, next(iter(dict.keys(_moto_table(COMPACT).items))))
    assert [type(v) for v in dict.values(partition)] == [bytes]
    assert itemstore._LIVE == []


def test_items_written_outside_a_call_are_compacted_in_bounded_batches(twins, monkeypatch):
    """``--data-dir`` replays its journal straight into moto's tables: those
    items do not wait, as objects, for the first API call."""
    monkeypatch.setattr(itemstore, "LIVE_LIMIT", 10)
    table = _moto_table(COMPACT)
    for i in range(35):
        table.put_item({**_key(f"r{i}", "1"), "v": {"N": str(i)}}, overwrite=True)
    assert len(itemstore._LIVE) <= 10
    live = sum(1 for p in dict.values(table.items) for v in dict.values(p) if type(v) is not bytes)
    assert live <= 10
    assert twins.get_item(TableName=COMPACT, Key=_key("r34", "1"))["Item"]["v"] == {"N": "34"}


def test_reads_of_missing_keys_and_deletes_leave_no_empty_partitions(twins):
    """moto's defaultdict kept an empty partition for every hash key ever read."""
    client = twins
    client.put_item(TableName=COMPACT, Item={**_key("kept", "1"), "v": {"S": "x"}})
    client.put_item(TableName=COMPACT, Item={**_key("gone", "1"), "v": {"S": "x"}})
    for i in range(50):
        client.get_item(TableName=COMPACT, Key=_key(f"missing{i}", "1"))
        with pytest.raises(client.exceptions.ConditionalCheckFailedException):
            client.update_item(TableName=COMPACT, Key=_key(f"never{i}", "1"), UpdateExpression="SET v = :v",
                               ConditionExpression="attribute_exists(PK)", ExpressionAttributeValues={":v": {"S": "y"}})
    client.delete_item(TableName=COMPACT, Key=_key("gone", "1"))
    partitions = _moto_table(COMPACT).items
    assert [k.value for k in dict.keys(partitions)] == ["kept"]
    assert client.describe_table(TableName=COMPACT)["Table"]["ItemCount"] == 1
    assert client.scan(TableName=COMPACT)["Count"] == 1


def _blob(table: str, pk: str, sk: str) -> bytes:
    from moto.dynamodb.models.dynamo_type import DynamoType

    partition = dict.__getitem__(_moto_table(table).items, DynamoType({"S": pk}))
    value = dict.__getitem__(partition, DynamoType({"S": sk}))
    assert type(value) is bytes
    return value


def test_an_item_read_by_a_write_and_left_unchanged_keeps_its_bytes(twins, monkeypatch):
    """A failed conditional write (every repeat of a known alert), a
    transaction's backup and its ConditionCheck read items they do not
    change: those keep the bytes they had instead of being compressed again."""
    client = twins
    for i in range(120):  # past the dictionary's learning: the items are stored with it
        client.put_item(TableName=COMPACT, Item={**_key(f"RUN#{i}", "META"), "v": {"S": "x" * 50},
                                                 "m": {"M": {"k": {"SS": ["a", "b"]}}}})
    assert itemstore.DICTIONARY.data is not None
    before = _blob(COMPACT, "RUN#119", "META")
    assert before[0] == 1
    compressed: list[bytes] = []
    compress = itemstore.DICTIONARY.compress

    def counting(raw: bytes, kind: Any = ("", "")) -> bytes:
        compressed.append(raw)
        return compress(raw, kind)

    monkeypatch.setattr(itemstore.DICTIONARY, "compress", counting)
    with pytest.raises(client.exceptions.ConditionalCheckFailedException):
        client.put_item(TableName=COMPACT, Item={**_key("RUN#119", "META"), "v": {"S": "y"}},
                        ConditionExpression="attribute_not_exists(PK)")
    with pytest.raises(client.exceptions.ConditionalCheckFailedException):
        client.update_item(TableName=COMPACT, Key=_key("RUN#119", "META"), UpdateExpression="SET v = :v",
                           ConditionExpression="v = :other",
                           ExpressionAttributeValues={":v": {"S": "y"}, ":other": {"S": "z"}})
    client.transact_write_items(TransactItems=[
        {"ConditionCheck": {"TableName": COMPACT, "Key": _key("RUN#119", "META"),
                            "ConditionExpression": "attribute_exists(PK)"}},
        {"Put": {"TableName": COMPACT, "Item": {**_key("RUN#new", "META"), "v": {"S": "n"}}}},
    ])
    assert _blob(COMPACT, "RUN#119", "META") is before  # the very same bytes, never recompressed
    assert len(compressed) == 1  # only the transaction's new item
    assert _blob(COMPACT, "RUN#new", "META")[0] == 1
    # a real change is compressed, and reads back changed
    client.update_item(TableName=COMPACT, Key=_key("RUN#119", "META"), UpdateExpression="SET v = :v",
                       ExpressionAttributeValues={":v": {"S": "changed"}})
    assert _blob(COMPACT, "RUN#119", "META") is not before and len(compressed) == 2
    got = client.get_item(TableName=COMPACT, Key=_key("RUN#119", "META"))["Item"]
    assert got["v"] == {"S": "changed"} and got["m"] == {"M": {"k": {"SS": ["a", "b"]}}}
    assert itemstore._ORIGIN == {}  # nothing held once the call has ended


def test_the_dictionary_holds_samples_of_every_kind_of_item(twins):
    """Learnt from a few items of each kind seen (keys up to their first
    '#'), not from the first items in a row, which can all be one kind."""
    client = twins
    client.put_item(TableName=COMPACT, Item={**_key("RARE#1", "META"), "rare_attribute_name": {"S": "r"}})
    for i in range(150):  # a run of one kind, more than the dictionary holds
        client.put_item(TableName=COMPACT, Item={**_key(f"COMMON#{i}", "STAGE#1"),
                                                 "common_attribute_name": {"S": "c" * 40}})
    data = itemstore.DICTIONARY.data
    assert data is not None
    assert b"rare_attribute_name" in data and b"common_attribute_name" in data
    assert data.count(b"common_attribute_name") == itemstore.SAMPLES_PER_KIND
    # and a later rare item compresses against it
    client.put_item(TableName=COMPACT, Item={**_key("RARE#2", "META"), "rare_attribute_name": {"S": "r"}})
    blob = _blob(COMPACT, "RARE#2", "META")
    assert blob[0] == 1 and len(blob) < len(zlib.compress(itemstore.DICTIONARY.decompress(blob), 1)) / 2
