"""Text normalisation shared by the models and the store codec (a leaf)."""

from __future__ import annotations

from typing import Any


def clean_text(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (pairs are joined).

    JSON allows ``"\\ud800"``, but no UTF-8 encoder (DynamoDB's, a log line's,
    an HTTP answer's) can carry a lone surrogate.
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def truncate_utf8(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes (on a character boundary),
    saying how much was cut."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    note = f" … [truncated: {len(data)} bytes, the limit is {limit}; the full text is in the raw payload]"
    keep = max(0, limit - len(note.encode("utf-8")))
    return data[:keep].decode("utf-8", "ignore") + note


def clean_json(value: Any) -> Any:
    """``value`` (parsed JSON) with :func:`clean_text` applied to every string
    and key; numbers and nesting untouched."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_json(v) for v in value]
    return value
