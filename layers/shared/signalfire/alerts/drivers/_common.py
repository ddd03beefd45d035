"""Small helpers shared by the webhook drivers (private to this package).

Every helper is total: given any JSON value it returns a value of the promised
type instead of raising, so a driver only raises what it means to raise
(``self.reject(...)``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from signalfire.alerts.hosts import host_from_label
from signalfire.alerts.models import AlertStatus, ParsedAlert, ParsedPayload, Severity
from signalfire.timeutil import parse_time

if TYPE_CHECKING:
    from signalfire.alerts.drivers.base import BaseAlertDriver

# Template placeholders a vendor left unexpanded: Zabbix sends "{EVENT.RECOVERY.ID}"
# literally in a problem message, a Datadog template can leave "$HOSTNAME".
_PLACEHOLDER = re.compile(r"^(\{[A-Z0-9_.$#:]+\}|\$[A-Z][A-Z0-9_]*|\{\{[^}]*\}\})$")

_DOTTED_DATE = re.compile(r"^\d{4}\.\d{2}\.\d{2}( \d{2}:\d{2}:\d{2})?$")

NAME_MAX = 1024
FINGERPRINT_MAX = 512


def is_unset(value: Any) -> bool:
    """None, empty/blank string, an unexpanded template placeholder, or Zabbix's
    ``*UNKNOWN*`` (what it expands a macro without a value to)."""
    if value is None:
        return True
    if isinstance(value, str):
        text = value.strip()
        return not text or bool(_PLACEHOLDER.match(text)) or text.lower() in {"null", "*unknown*"}
    return False


def text(value: Any, default: str = "") -> str:
    """A scalar as a stripped string; containers and unset values give ``default``."""
    if is_unset(value) or isinstance(value, dict | list | tuple | set):
        return default
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def first_text(mapping: Any, *keys: str, default: str = "") -> str:
    """The first key of ``mapping`` holding a usable scalar."""
    if not isinstance(mapping, dict):
        return default
    for key in keys:
        val = text(mapping.get(key))
        if val:
            return val
    return default


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def flat(value: Any) -> str:
    """Any JSON value as one string (containers as compact JSON)."""
    if isinstance(value, dict | list):
        try:
            return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
        except (TypeError, ValueError):
            return str(value)
    return text(value)


def str_map(mapping: Any) -> dict[str, str]:
    """A dict as str -> str, dropping unset values, flattening nested ones."""
    out: dict[str, str] = {}
    for key, val in as_dict(mapping).items():
        if is_unset(val):
            continue
        rendered = flat(val)
        if rendered:
            out[str(key)] = rendered
    return out


def parse_tags(value: Any) -> dict[str, str]:
    """Tags in the shapes vendors send, as a str -> str dict.

    Accepts a dict, a list of ``"k:v"`` / ``"k=v"`` strings or ``{"key","value"}``
    objects, or one comma-separated string.  Bare tags (no value) are collected,
    comma-joined, under ``"tags"``.
    """
    if isinstance(value, dict):
        return str_map(value)
    items: Iterable[Any]
    if isinstance(value, str):
        items = [part for part in value.split(",")]
    elif isinstance(value, list):
        items = value
    else:
        return {}
    out: dict[str, str] = {}
    bare: list[str] = []
    for item in items:
        if isinstance(item, dict):
            key = first_text(item, "key", "tag", "name")
            if key:
                out[key] = first_text(item, "value")
            continue
        tag = text(item)
        if not tag:
            continue
        for sep in (":", "="):
            if sep in tag:
                key, _, val = tag.partition(sep)
                if key.strip():
                    out[key.strip()] = val.strip()
                    break
        else:
            bare.append(tag)
    if bare:
        out["tags"] = ",".join(bare)
    return out


def host_from_instance(instance: Any) -> str:
    """The host in an ``instance``-style value (one rule for everyone: alerts/hosts.py)."""
    return host_from_label(text(instance))


def safe_time(value: Any) -> datetime | None:
    """:func:`parse_time` that never raises; also takes epoch micro/nanoseconds
    (OpsGenie ``updatedAt`` is in nanoseconds)."""
    if is_unset(value) or isinstance(value, dict | list | bool):
        return None
    try:
        if isinstance(value, int | float) or (isinstance(value, str) and value.strip().isdigit()):
            num = float(value)
            while num > 1e14:  # micro- or nanoseconds -> milliseconds
                num /= 1000.0
            return parse_time(num)
        if isinstance(value, str) and _DOTTED_DATE.match(value.strip()):
            # Zabbix "2024.05.01 10:12:30": parse_time mistakes the dots for a
            # fractional-seconds separator, so read it here.
            stamp = value.strip()
            fmt = "%Y.%m.%d %H:%M:%S" if " " in stamp else "%Y.%m.%d"
            return datetime.strptime(stamp, fmt).replace(tzinfo=UTC)
        return parse_time(value)
    except (ValueError, OverflowError, OSError, TypeError):
        return None


def clip(value: str, limit: int = NAME_MAX) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def alert_list(driver: BaseAlertDriver, payload: dict[str, Any]) -> list[Any]:
    """The payload's ``alerts``, which must be a non-empty list."""
    alerts = payload.get("alerts")
    if not isinstance(alerts, list):
        raise driver.reject("'alerts' must be a list of alert objects")
    if not alerts:
        raise driver.reject("'alerts' is empty: nothing to ingest")
    return alerts


def alertmanager_envelope(driver: BaseAlertDriver, payload: dict[str, Any], alerts: list[ParsedAlert],
                          default_version: str = "") -> ParsedPayload:
    """A ParsedPayload from the group fields Alertmanager's webhook defines
    (and Grafana's unified alerting reuses): version, groupKey, receiver, externalURL."""
    return ParsedPayload(
        alerts=alerts,
        source=driver.name,
        version=text(payload.get("version"), default_version),
        group_key=text(payload.get("groupKey")),
        receiver=text(payload.get("receiver")),
        external_url=text(payload.get("externalURL")),
        raw_payload=payload,
    )


def vendor_fingerprint(driver: BaseAlertDriver, vendor_id: str) -> str:
    """``"<driver>:<vendor id>"``: the vendor's stable id, namespaced so numeric
    ids from two vendors cannot collide; hashed when too long."""
    fp = f"{driver.name}:{vendor_id}"
    return fp if len(fp) <= FINGERPRINT_MAX else driver.fingerprint_of(driver.name, vendor_id)


def set_host(labels: dict[str, str], *candidates: Any) -> None:
    """Set ``labels["host"]`` from the first usable candidate unless already set."""
    if labels.get("host"):
        return
    for cand in candidates:
        host = text(cand)
        if host:
            labels["host"] = host
            return


def make_alert(
    driver: BaseAlertDriver,
    *,
    fingerprint: str,
    name: str,
    status: AlertStatus,
    severity: Severity,
    raw: dict[str, Any],
    description: str = "",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    started_at: datetime | None = None,
    ended_at: datetime | None = None,
) -> ParsedAlert:
    """Build a :class:`ParsedAlert`, turning a model error into a rejection."""
    fields: dict[str, Any] = {
        "fingerprint": fingerprint,
        "name": clip(name or f"{driver.title} alert"),
        "status": status,
        "severity": severity,
        "description": description,
        "labels": {k: v for k, v in (labels or {}).items() if v != ""},
        "annotations": {k: v for k, v in (annotations or {}).items() if v != ""},
        "raw_payload": raw,
    }
    if started_at is not None:
        fields["started_at"] = started_at
    if ended_at is not None:
        fields["ended_at"] = ended_at
    elif status == AlertStatus.RESOLVED:
        fields["ended_at"] = datetime.now(UTC)
    try:
        return ParsedAlert(**fields)
    except ValidationError as exc:
        raise driver.reject(f"could not build an alert: {exc.errors()[0].get('msg', exc)}") from exc
