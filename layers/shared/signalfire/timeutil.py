"""Time helpers: every timestamp we store is an ISO-8601 UTC string."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime | None) -> str | None:
    """Render ``dt`` as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (sortable as a string)."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: Any) -> datetime | None:
    """Parse the time formats monitoring tools send.

    Accepts ISO-8601 strings (with ``Z``, offsets, or none = UTC), epoch
    seconds or milliseconds (int, float or numeric string).  Returns ``None``
    for empty values and Go's zero time (``0001-01-01T00:00:00Z``), which
    Alertmanager sends for "not ended".
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.strip().lstrip("-").replace(".", "", 1).isdigit()):
        num = float(value)
        if num <= 0:
            return None
        if num > 1e11:  # milliseconds
            num /= 1000.0
        try:
            return datetime.fromtimestamp(num, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None  # beyond year 9999 (or what the platform's clock can hold)
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("0001-01-01"):
            return None
        # Zabbix macros give "2024.05.01 10:12:30": dots are date separators there.
        if re.match(r"^\d{4}\.\d{2}\.\d{2}", text):
            for fmt in ("%Y.%m.%d %H:%M:%S", "%Y.%m.%d"):
                try:
                    return datetime.strptime(text, fmt).replace(tzinfo=UTC)
                except ValueError:
                    continue
            return None
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        # Go/RFC3339Nano may carry nanoseconds: Python takes at most 6 digits.
        if "." in text:
            head, _, rest = text.partition(".")
            digits = ""
            i = 0
            while i < len(rest) and rest[i].isdigit():
                digits += rest[i]
                i += 1
            text = f"{head}.{digits[:6].ljust(6, '0')}{rest[i:]}" if digits else head + rest[i:]
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            for fmt in ("%Y.%m.%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y.%m.%d"):
                try:
                    dt = datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
            else:
                return None
        return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    return None
