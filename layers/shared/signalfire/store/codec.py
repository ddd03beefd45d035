"""DynamoDB attribute (de)serialisation, DynamoDB's value limits, and page tokens.

This is the one place where Python values become DynamoDB attribute values,
so it is the one place that knows what DynamoDB refuses (docs/aws-fidelity.md
cites the AWS pages):

- numbers: at most 38 significant digits, magnitude between 1E-130 and
  9.9999999999999999999999999999999999999E+125 (or zero); no NaN/Infinity;
- documents (maps and lists) nest at most 32 levels, the attribute itself
  counting as level 1 (so an attribute holds at most 31 nested maps/lists
  around its innermost scalar);
- attribute names (and map keys) are 1 byte to 64 KB of UTF-8;
- strings are UTF-8, so a lone surrogate (``"\\ud800"`` is valid JSON) cannot
  be sent: it is replaced by U+FFFD, the only value this codec changes;
- an item is at most 400 KB, names and values included;
- key values: partition keys 1-2048 bytes, sort keys 1-1024 bytes.

Every other refusal raises :class:`UnstorableValueError` (HTTP 400) naming
the field and the limit, or :class:`ItemTooLargeError` (HTTP 413), before
anything is sent.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer

from signalfire.errors import BadRequestError, ItemTooLargeError, UnstorableValueError
from signalfire.text import clean_text

MAX_ITEM_BYTES = 400 * 1024
MAX_NESTING = 32
MAX_NUMBER_DIGITS = 38
MIN_NUMBER_EXPONENT = -130  # smallest magnitude 1E-130
MAX_NUMBER_EXPONENT = 125  # largest magnitude 9.99..E+125
MAX_NAME_BYTES = 64 * 1024 - 1
MAX_PARTITION_KEY_BYTES = 2048
MAX_SORT_KEY_BYTES = 1024

_ser = TypeSerializer()
_de = TypeDeserializer()
# Wide enough to hold any exact value we accept, so no operation below rounds.
_CTX = Context(prec=1000, Emin=-999999, Emax=999999)


def _where(path: str) -> str:
    return path or "value"


def to_number(value: int | float | Decimal, path: str = "") -> Decimal:
    """``value`` as a Decimal DynamoDB stores exactly, or UnstorableValueError."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UnstorableValueError(f"{_where(path)}: {value!r} is not a number DynamoDB can store (no NaN or Infinity)")
        number = Decimal(repr(value))
    elif isinstance(value, int):
        number = Decimal(value)
    else:
        number = value
    if not number.is_finite():
        raise UnstorableValueError(f"{_where(path)}: {number} is not a number DynamoDB can store (no NaN or Infinity)")
    if number.is_zero():
        return Decimal(0)
    digits = number.normalize(_CTX).as_tuple().digits
    if len(digits) > MAX_NUMBER_DIGITS:
        raise UnstorableValueError(
            f"{_where(path)}: a number with {len(digits)} significant digits; DynamoDB keeps at most "
            f"{MAX_NUMBER_DIGITS} (send it as a string)")
    exponent = number.adjusted()
    if not MIN_NUMBER_EXPONENT <= exponent <= MAX_NUMBER_EXPONENT:
        raise UnstorableValueError(
            f"{_where(path)}: {number:.3E} is outside the magnitudes DynamoDB stores "
            "(1E-130 to 9.99E+125, or 0); send it as a string")
    return number


def _name(key: Any, path: str) -> str:
    if not isinstance(key, str):
        key = str(key)
    key = clean_text(key)
    size = len(key.encode("utf-8"))
    if size == 0:
        raise UnstorableValueError(f"{_where(path)}: an empty key; DynamoDB attribute names need at least 1 character")
    if size > MAX_NAME_BYTES:
        raise UnstorableValueError(f"{_where(path)}: a key of {size} bytes; DynamoDB attribute names are under 64 KB")
    return key


def to_dynamo(value: Any, path: str = "", level: int = 1) -> Any:
    """``value`` converted into what boto3's serializer accepts and DynamoDB
    stores; ``level`` is the nesting level of ``value`` (a top-level
    attribute is level 1)."""
    if value is None or isinstance(value, bool | bytes | bytearray | Binary):
        return value
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, int | float | Decimal):
        return to_number(value, path)
    if isinstance(value, dict | list | tuple):
        if level >= MAX_NESTING:  # its elements would sit past level 32
            raise UnstorableValueError(
                f"{_where(path)}: nested deeper than the {MAX_NESTING} levels DynamoDB stores")
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for k, v in value.items():
                name = _name(k, path)
                out[name] = to_dynamo(v, f"{path}.{name}" if path else name, level + 1)
            return out
        return [to_dynamo(v, f"{path}[{i}]", level + 1) for i, v in enumerate(value)]
    if isinstance(value, set | frozenset):
        return {to_dynamo(v, path, level) for v in value}
    raise TypeError(f"{_where(path)}: cannot store a {type(value).__name__} in DynamoDB")


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Binary):
        return value.value  # type: ignore[attr-defined,no-any-return]
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [_from_dynamo(v) for v in value]
    return value


# -- sizes (DynamoDB's item size rules) ---------------------------------------------------


def value_size(value: Any) -> int:
    """Bytes a converted value takes in an item (the rules of DynamoDB's
    "item size and format" page): strings and binaries their length, numbers
    about one byte per two significant digits plus one, null and booleans one,
    maps and lists 3 bytes plus one byte and the size of each element (and,
    in maps, the element's name)."""
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    if isinstance(value, bytes | bytearray):
        return len(value)
    if isinstance(value, Binary):
        return len(value.value)  # type: ignore[attr-defined]
    if isinstance(value, Decimal):
        digits = len(value.normalize(_CTX).as_tuple().digits) if not value.is_zero() else 1
        return (digits + 1) // 2 + 1
    if isinstance(value, dict):
        return 3 + sum(1 + len(k.encode("utf-8")) + value_size(v) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return 3 + sum(1 + value_size(v) for v in value)
    return len(str(value).encode("utf-8"))


def item_size(converted: dict[str, Any]) -> int:
    """The size DynamoDB counts against its 400 KB limit for an item already
    passed through :func:`to_dynamo` (names plus values)."""
    return sum(len(k.encode("utf-8")) + value_size(v) for k, v in converted.items())


def _check_key_value(name: str, value: Any) -> None:
    if not isinstance(value, str):
        return
    if name in ("PK", "SK") or (name.startswith("GSI") and name.endswith(("PK", "SK"))):
        limit = MAX_PARTITION_KEY_BYTES if name.endswith("PK") else MAX_SORT_KEY_BYTES
        size = len(value.encode("utf-8"))
        if size == 0 or size > limit:
            raise UnstorableValueError(f"{name}: a key value of {size} bytes; DynamoDB takes 1 to {limit} bytes")


def key_fits(pk: str, sk: str) -> bool:
    """Whether (pk, sk) is a key DynamoDB accepts at all (else no such item can exist)."""
    p, s = len(pk.encode("utf-8", "surrogatepass")), len(sk.encode("utf-8", "surrogatepass"))
    return 0 < p <= MAX_PARTITION_KEY_BYTES and 0 < s <= MAX_SORT_KEY_BYTES and clean_text(pk + sk) == pk + sk


# -- the entry points -------------------------------------------------------------------


def serialize(item: dict[str, Any]) -> dict[str, Any]:
    """Attribute values for keys, expression values or partial items (no size check)."""
    return {name: _ser.serialize(to_dynamo(v, name)) for name, v in item.items() if v is not None}


def serialize_item(item: dict[str, Any]) -> dict[str, Any]:
    """A whole item: converted, key values checked, and refused with
    ItemTooLargeError (413) if it would pass DynamoDB's 400 KB."""
    converted: dict[str, Any] = {}
    for raw_name, v in item.items():
        if v is None:
            continue
        name = _name(raw_name, raw_name)
        converted[name] = to_dynamo(v, name)
        _check_key_value(name, converted[name])
    size = item_size(converted)
    if size > MAX_ITEM_BYTES:
        biggest = sorted(converted, key=lambda k: value_size(converted[k]), reverse=True)[:3]
        raise ItemTooLargeError(
            f"this record would take {size} bytes in DynamoDB, over its {MAX_ITEM_BYTES}-byte (400 KB) item "
            f"limit; largest fields: {', '.join(biggest)}",
            details={"item_bytes": size, "limit_bytes": MAX_ITEM_BYTES})
    return {name: _ser.serialize(v) for name, v in converted.items()}


def serialize_value(value: Any) -> dict[str, Any]:
    return dict(_ser.serialize(to_dynamo(value)))


def deserialize(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _from_dynamo(_de.deserialize(v)) for k, v in item.items()}


# -- JSON kept as bytes -----------------------------------------------------------------


def pack_json(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON bytes, exactly as sent: numbers of any
    size, any nesting and lone surrogates survive (they are escaped), which a
    DynamoDB map could not hold.  Used for vendor payloads we keep verbatim."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=True).encode("utf-8", "surrogatepass")


def unpack_json(data: bytes) -> Any:
    return json.loads(data.decode("utf-8", "surrogatepass"))


# -- page tokens ------------------------------------------------------------------------


def encode_token(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    raw = json.dumps(deserialize(last_key), separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str | None, expected_keys: set[str] | None = None) -> dict[str, Any] | None:
    """The start key a previous page's ``next_token`` names.  A token we did
    not make (wrong shape, other key names, key values DynamoDB would refuse)
    is a 400, never a DynamoDB ValidationException."""
    if not token:
        return None
    bad = BadRequestError("next_token is not valid: pass back the value a previous page returned")
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode())
    except (ValueError, UnicodeError, binascii.Error, RecursionError):
        raise bad from None
    if not isinstance(data, dict) or not data or not all(isinstance(v, str) for v in data.values()):
        raise bad
    if expected_keys is not None and set(data) != expected_keys:
        raise bad
    try:
        for name, value in data.items():
            _check_key_value(name, value)
            if clean_text(value) != value or not value:
                raise bad
        return serialize(data)
    except (UnstorableValueError, InvalidOperation):
        raise bad from None
