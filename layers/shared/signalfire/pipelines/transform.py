"""Transform nodes: pure functions over the run context.

The run context is a plain JSON dict the state machine carries between
nodes, e.g.::

    {"incident": {...}, "alerts": [{...}], "source": "grafana", "severity": "critical",
     "outputs": {"check_health": {...}, "analyze": {...}},   # earlier nodes, by node id
     "host": "web-1"}                                          # added by an extract

A transform node's ``config`` holds one or more operations, applied in the
order extract -> map -> filter:

``extract`` ``{"extract": {"host": "alerts.0.labels.host", "sev": "incident.severity"}}``
    Resolves each dotted path and stores the value under the key (``None``
    when the path does not resolve).

``map`` ``{"map": {"field": "severity", "mapping": {"critical": "page"}, "default": "ticket", "out_key": "route"}}``
    Looks the field's value up in ``mapping`` (keys are strings; a number is
    looked up as its text, ``true``/``false``/``null`` as those words).  No
    match: ``default`` if given, else the value unchanged.  ``out_key`` may be
    omitted when ``field`` is a top-level key (the value is replaced in place).

``filter`` ``{"filter": {"field": "severity", "op": "gte", "value": "warning"}}``
    When the condition is FALSE the run ends as SKIPPED, with the reason.
    Operators: ``eq``/``ne`` (numbers compare numerically, strings exactly),
    ``in``/``not_in`` (value is a list), ``gte``/``lte`` (severity words rank
    critical > warning > info, case-insensitively; otherwise numbers -
    numeric strings included - or else strings), ``exists`` (the path resolves
    to a non-null value; ``"value": false`` inverts it) and ``regex`` (Python
    ``re.search`` on a string/number value).  A missing field makes
    ``eq``/``in``/``gte``/``lte``/``regex`` false and ``ne``/``not_in`` true.

Paths: dotted segments, digits index lists (``alerts.0.labels.host``, or
``alerts[0].labels.host``; ``-1`` is the last item).  A path's first segment
is looked up in the context, then in ``context["outputs"]`` - so
``check_health.checks_failed`` and ``outputs.check_health.checks_failed`` are
the same value.  Keys ``incident``, ``alerts`` and ``outputs`` cannot be
written by a transform.

Nothing here does I/O or mutates its input: the result holds a new context.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from signalfire.errors import ConfigurationError
from signalfire.pipelines.models import FilterSpec, MapSpec, TransformConfig, parse_path

SEVERITY_RANK: dict[str, int] = {"critical": 3, "warning": 2, "info": 1}
_MISSING = object()


@dataclass(frozen=True)
class TransformResult:
    context: dict[str, Any]
    skipped: bool = False
    reason: str = ""
    #: The keys this transform wrote, with their values (what a run records as the node's output).
    values: dict[str, Any] = field(default_factory=dict)


# --- paths ------------------------------------------------------------------------------


def resolve_path(context: dict[str, Any], path: str) -> Any:
    """The value at ``path`` or ``None`` when it does not resolve."""
    value = _lookup(context, path)
    return None if value is _MISSING else value


def _lookup(context: dict[str, Any], path: str) -> Any:
    segments = parse_path(path)
    head = str(segments[0])
    if head in context:
        current: Any = context[head]
    elif isinstance(context.get("outputs"), dict) and head in context["outputs"]:
        current = context["outputs"][head]
    else:
        return _MISSING
    for seg in segments[1:]:
        if isinstance(current, dict):
            key = str(seg)
            if key not in current:
                return _MISSING
            current = current[key]
        elif isinstance(current, list) and isinstance(seg, int):
            if not -len(current) <= seg < len(current):
                return _MISSING
            current = current[seg]
        else:
            return _MISSING
    return current


# --- comparisons --------------------------------------------------------------------


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _as_number(v: Any) -> float | None:
    if _is_number(v):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v.strip())
        except ValueError:
            return None
    return None


def _severity(v: Any) -> int | None:
    return SEVERITY_RANK.get(v.strip().lower()) if isinstance(v, str) else None


def _equal(actual: Any, expected: Any) -> bool:
    if _is_number(actual) and _is_number(expected):
        return float(actual) == float(expected)
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected
    return bool(actual == expected)


def compare(actual: Any, expected: Any) -> int | None:
    """-1/0/1 ordering of ``actual`` against ``expected``, or None if they do not
    compare.  Severity words first, then numbers, then strings."""
    want = _severity(expected)
    if want is not None:
        have = _severity(actual)
        return None if have is None else (have > want) - (have < want)
    a, b = _as_number(actual), _as_number(expected)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    if isinstance(actual, str) and isinstance(expected, str):
        return (actual > expected) - (actual < expected)
    return None


def evaluate_filter(spec: FilterSpec, context: dict[str, Any]) -> tuple[bool, Any]:
    """(condition holds, the field's value)."""
    raw = _lookup(context, spec.field)
    actual = None if raw is _MISSING else raw
    op, value = spec.op, spec.value
    if op == "exists":
        want = True if value is None else bool(value)
        return (actual is not None) == want, actual
    if op == "eq":
        return actual is not None and _equal(actual, value), actual
    if op == "ne":
        return actual is None or not _equal(actual, value), actual
    if op == "in":
        return actual is not None and any(_equal(actual, v) for v in value), actual
    if op == "not_in":
        return actual is None or not any(_equal(actual, v) for v in value), actual
    if op in ("gte", "lte"):
        order = compare(actual, value) if actual is not None else None
        if order is None:
            return False, actual
        return (order >= 0 if op == "gte" else order <= 0), actual
    if op == "regex":
        if isinstance(actual, str):
            text = actual
        elif _is_number(actual):
            text = json.dumps(actual)
        else:
            return False, actual
        return re.search(value, text) is not None, actual
    raise ConfigurationError(f"unknown filter op {op!r}")  # pragma: no cover - the model forbids it


def _map_key(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else str(value)


def apply_map(spec: MapSpec, context: dict[str, Any]) -> tuple[str, Any]:
    raw = _lookup(context, spec.field)
    actual = None if raw is _MISSING else raw
    key = _map_key(actual)
    if raw is not _MISSING and key in spec.mapping:
        result = spec.mapping[key]
    elif spec.has_default:
        result = spec.default
    else:
        result = actual
    return str(spec.out_key), copy.deepcopy(result)


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- the node --------------------------------------------------------------------------


def parse_transform(config: dict[str, Any]) -> TransformConfig:
    try:
        return TransformConfig.model_validate(config or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ()))
        msg = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        raise ConfigurationError(f"transform config{'.' + loc if loc else ''}: {msg}") from None


def apply_transform(config: dict[str, Any], context: dict[str, Any]) -> TransformResult:
    """Apply a transform node's ``config`` to the run ``context``.

    Returns the new context (the input is not modified), whether the run must
    end as SKIPPED (a filter was false) and why, and the values written.
    """
    spec = parse_transform(config)
    ctx = dict(context)
    written: dict[str, Any] = {}
    if spec.extract:
        for out_key, path in spec.extract.items():
            written[out_key] = copy.deepcopy(resolve_path(context, path))
        ctx.update(written)
    if spec.map is not None:
        key, value = apply_map(spec.map, ctx)
        ctx[key] = value
        written[key] = value
    if spec.filter is not None:
        holds, actual = evaluate_filter(spec.filter, ctx)
        if not holds:
            f = spec.filter
            shown = "" if f.op == "exists" and "value" not in f.model_fields_set else f" {_short(f.value)}"
            reason = f"filter {f.field} {f.op}{shown} is false ({f.field} = {_short(actual)})"
            return TransformResult(context=ctx, skipped=True, reason=reason, values=written)
    return TransformResult(context=ctx, skipped=False, reason="", values=written)
