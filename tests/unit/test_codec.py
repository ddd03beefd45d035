"""store/codec.py against DynamoDB's documented limits (docs/aws-fidelity.md
cites the pages): what it accepts, it stores exactly; what DynamoDB refuses,
it refuses with a 4xx naming the field, before any call is made."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signalfire.errors import BadRequestError, ItemTooLargeError, UnstorableValueError
from signalfire.store import codec

# DynamoDB's Number: up to 38 significant digits, positive magnitudes from
# 1E-130 to 9.9999999999999999999999999999999999999E+125 (negatives alike).
LARGEST = Decimal("9.9999999999999999999999999999999999999E+125")
SMALLEST = Decimal("1E-130")


def storable_decimals() -> st.SearchStrategy[Decimal]:
    digits = st.integers(min_value=1, max_value=10**38 - 1)
    # Built from text: Decimal arithmetic would round to the default context's 28 digits.
    return st.builds(lambda d, e, neg: Decimal(f"{'-' if neg else ''}{d}E{e}"), digits,
                     st.integers(-130, 125 - 37), st.booleans()).filter(
        lambda n: SMALLEST <= abs(n) <= LARGEST)


@given(storable_decimals())
def test_every_number_dynamodb_stores_survives_exactly(n: Decimal) -> None:
    stored = codec.serialize({"n": n})["n"]["N"]
    assert Decimal(stored) == n


@given(st.integers(min_value=10**38, max_value=10**60))
def test_integers_past_38_digits_are_refused_with_the_limit_named(n: int) -> None:
    if len(str(n).rstrip("0")) <= 38:
        return  # 10**40 has one significant digit: storable
    with pytest.raises(UnstorableValueError, match="38"):
        codec.serialize({"count": n})


@given(st.integers(min_value=-400, max_value=-131) | st.integers(min_value=126, max_value=400))
def test_magnitudes_outside_dynamodb_range_are_refused(exp: int) -> None:
    with pytest.raises(UnstorableValueError, match="1E-130"):
        codec.serialize({"x": Decimal(f"1E{exp}")})


@pytest.mark.parametrize("value", [SMALLEST, Decimal("-1E-130"), LARGEST, Decimal("-9.9999999999999999999999999999999999999E+125"), 0, 0.0, 10**37, 1e125, 1e-130, True])
def test_the_edges_of_the_range_are_accepted(value: object) -> None:
    assert codec.serialize({"x": value})


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), 1e-200, 10**41 + 1,
                                   Decimal("1E-131"), Decimal("1E+126"), Decimal("NaN")])
def test_values_dynamodb_refuses_are_a_400(value: object) -> None:
    with pytest.raises(UnstorableValueError) as exc:
        codec.serialize({"tags": {"weight": value}})
    assert exc.value.http_status == 400 and "tags.weight" in exc.value.message


def _nest(levels: int) -> object:
    value: object = "leaf"
    for _ in range(levels):
        value = {"n": value}
    return value


def test_nesting_stops_at_dynamodb_32_levels() -> None:
    # The attribute counts as level 1: 31 nested maps inside it are the most DynamoDB takes.
    assert codec.serialize({"doc": _nest(31)})
    with pytest.raises(UnstorableValueError, match="32 levels"):
        codec.serialize({"doc": _nest(32)})


@given(st.text())
def test_any_text_becomes_utf8_dynamodb_can_carry(text: str) -> None:
    stored = codec.serialize({text or "k": text})
    (name, value), = stored.items()
    name.encode("utf-8")
    value["S"].encode("utf-8")


@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"])))
def test_text_without_lone_surrogates_is_stored_unchanged(text: str) -> None:
    assert codec.serialize({"t": text})["t"]["S"] == text


def test_a_lone_surrogate_becomes_the_replacement_character() -> None:
    assert codec.serialize({"labels": {"\ud800": "v\udc00"}})["labels"]["M"] == {"\ufffd": {"S": "v\ufffd"}}
    assert codec.clean_text("\ud83d\ude00") == "😀"  # a valid pair is joined, not replaced


def test_an_empty_map_key_is_refused() -> None:
    with pytest.raises(UnstorableValueError, match="empty key"):
        codec.serialize({"labels": {"": "x"}})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=4),
    max_leaves=30)


@settings(max_examples=200)
@given(st.dictionaries(st.text(min_size=1, max_size=10), json_values, min_size=1, max_size=6))
def test_item_size_counts_like_dynamodb(item: dict) -> None:
    """Never under the bytes of names and string values (DynamoDB counts both), and
    a round trip through the serializer gives the same value back."""
    converted = {k: codec.to_dynamo(v, k) for k, v in item.items()}
    size = codec.item_size(converted)
    texts = sum(len(k.encode()) for k in converted) + sum(
        len(v.encode()) for v in converted.values() if isinstance(v, str))
    assert size >= texts
    back = codec.deserialize(codec.serialize(item))
    assert back == json.loads(json.dumps({k: v for k, v in item.items() if v is not None}))


def test_an_item_over_400_kb_is_a_413_naming_the_limit_and_the_field() -> None:
    fits = {"PK": "A", "SK": "B", "body": "x" * (400 * 1024 - 100)}
    assert codec.serialize_item(fits)
    with pytest.raises(ItemTooLargeError) as exc:
        codec.serialize_item({"PK": "A", "SK": "B", "body": "x" * (400 * 1024)})
    assert exc.value.http_status == 413 and "400 KB" in exc.value.message and "body" in exc.value.message


def test_key_values_past_dynamodb_lengths_are_refused() -> None:
    with pytest.raises(UnstorableValueError, match="2048"):
        codec.serialize_item({"PK": "p" * 2049, "SK": "s"})
    with pytest.raises(UnstorableValueError, match="1024"):
        codec.serialize_item({"PK": "p", "SK": "s", "GSI1SK": "s" * 1025})
    assert not codec.key_fits("p" * 2049, "s") and not codec.key_fits("p", "") and codec.key_fits("p", "s")


@given(st.binary(min_size=1, max_size=200))
def test_any_forged_page_token_is_a_400_or_a_key(raw: bytes) -> None:
    token = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    try:
        key = codec.decode_token(token, expected_keys={"PK", "SK"})
    except BadRequestError:
        return
    assert key is not None and set(key) == {"PK", "SK"}


def test_page_tokens_round_trip_and_other_shapes_are_refused() -> None:
    key = codec.serialize({"PK": "ALERT#1", "SK": "META"})
    token = codec.encode_token(key)
    assert codec.decode_token(token, expected_keys={"PK", "SK"}) == key
    for forged in ({"PK": "x"}, {"PK": "", "SK": ""}, {"PK": "x", "SK": "y", "extra": "z"}, {"PK": 1, "SK": "y"}):
        text = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode()
        with pytest.raises(BadRequestError):
            codec.decode_token(text, expected_keys={"PK", "SK"})


@given(json_values)
def test_raw_json_is_kept_exactly(value: object) -> None:
    assert codec.unpack_json(codec.pack_json(value)) == value


def test_raw_json_keeps_what_a_dynamodb_map_cannot() -> None:
    raw = {"big": 10**50, "tiny": 1e-200, "deep": _nest(40), "\ud800": "x"}
    assert codec.unpack_json(codec.pack_json(raw)) == raw
