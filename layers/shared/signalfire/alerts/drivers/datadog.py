"""Datadog Webhooks integration.

A Datadog webhook payload is a user template filled from ``$VARIABLES``; we read
the keys the variables are conventionally mapped to (snake_case, or camelCase):
``alert_id`` ($ALERT_ID, the monitor id), ``alert_transition``
($ALERT_TRANSITION), ``alert_type`` ($ALERT_TYPE), ``alert_status``
($ALERT_STATUS, a text summary), and optionally ``alert_cycle_key``,
``aggreg_key``, ``alert_priority``, ``alert_title``, ``alert_scope``,
``alert_metric``, ``alert_query``, ``title``/``event_title``, ``body``/
``event_msg``, ``hostname``, ``tags``, ``date``, ``last_updated``, ``id``,
``event_type``, ``link``, ``org``.

Datadog's *default* payload (``{body, last_updated, event_type, title, date,
org, id}``) has none of the alert variables; it is accepted too, reading the
transition from the ``[Triggered]``/``[Recovered]`` prefix of the title.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from signalfire.alerts.drivers._common import (
    as_dict,
    first_text,
    make_alert,
    parse_tags,
    safe_time,
    text,
    vendor_fingerprint,
)
from signalfire.alerts.drivers.base import BaseAlertDriver
from signalfire.alerts.models import AlertStatus, ParsedPayload, Severity

# snake_case key -> camelCase alias people use in their templates.
_ALIASES: dict[str, tuple[str, ...]] = {
    "alert_id": ("alert_id", "alertId"),
    "alert_transition": ("alert_transition", "alertTransition"),
    "alert_type": ("alert_type", "alertType"),
    "alert_status": ("alert_status", "alertStatus"),
    "alert_cycle_key": ("alert_cycle_key", "alertCycleKey"),
    "aggreg_key": ("aggreg_key", "aggregKey", "aggregation_key"),
    "alert_priority": ("alert_priority", "alertPriority"),
    "alert_title": ("alert_title", "alertTitle"),
    "alert_scope": ("alert_scope", "alertScope"),
    "alert_metric": ("alert_metric", "alertMetric"),
    "alert_query": ("alert_query", "alertQuery"),
    "event_title": ("event_title", "eventTitle", "title"),
    "event_msg": ("event_msg", "eventMsg", "body", "text_only_msg", "message"),
    "hostname": ("hostname", "host"),
    "link": ("link", "url"),
    "event_type": ("event_type", "eventType"),
    "date": ("date",),
    "last_updated": ("last_updated", "lastUpdated"),
    "id": ("id",),
    "priority": ("priority",),
    "snapshot": ("snapshot",),
}

RESOLVED_TRANSITIONS = {"recovered", "ok", "resolved", "recovery"}
#: $ALERT_TRANSITION words (Datadog documents Triggered/Re-Triggered, Recovered, Warn/Re-Warn,
#: No Data/Re-No Data, Renotify; OK/Resolved/Recovery/Alert are what templates commonly send).
TRANSITIONS: dict[str, AlertStatus] = {
    **{w: AlertStatus.FIRING for w in ("triggered", "re-triggered", "warn", "re-warn", "no data", "re-no data",
                                       "renotify", "alert")},
    **{w: AlertStatus.RESOLVED for w in RESOLVED_TRANSITIONS},
}

ALERT_TYPE_SEVERITY: dict[str, Severity] = {
    "error": Severity.CRITICAL,
    "warning": Severity.WARNING,
    "info": Severity.INFO,
    "success": Severity.INFO,
}
PRIORITY_SEVERITY: dict[str, Severity] = {
    "P1": Severity.CRITICAL, "P2": Severity.CRITICAL, "P3": Severity.WARNING, "P4": Severity.INFO, "P5": Severity.INFO,
}

# Default-template event types ($EVENT_TYPE).
_MONITOR_EVENT = re.compile(r"(_monitor|^service_check|^event_alert|_alert)$")
# "[P1] [Triggered on {host:web-1}] Monitor name" -> transition, scope, name
_TITLE = re.compile(
    r"^\s*(?:\[P\d\]\s*)?\[(?P<transition>Re-Triggered|Triggered|Recovered|Warn|Re-Warn|No Data|Re-No Data|Renotify)"
    r"(?:\s+on\s+\{(?P<scope>[^}]*)\})?\]\s*(?P<name>.*)$",
    re.IGNORECASE,
)
_ANY_PREFIX = re.compile(r"^\s*(\[[^\]]*\]\s*)+")


def _get(payload: dict[str, Any], key: str) -> str:
    return first_text(payload, *_ALIASES[key])


def _has(payload: dict[str, Any], key: str) -> bool:
    return any(k in payload for k in _ALIASES[key])


def datadog_severity(transition: str, alert_type: str, priority: str) -> Severity:
    """Warn transitions -> warning; else $ALERT_TYPE (error/warning/info/success);
    a Recovered notification's type is always "success", which says nothing of
    the alert, so there $ALERT_PRIORITY wins when given; else $ALERT_PRIORITY;
    else warning."""
    word = transition.strip().lower()
    if word in {"warn", "re-warn"}:
        return Severity.WARNING
    prio = priority.strip().upper()
    if word in RESOLVED_TRANSITIONS and prio in PRIORITY_SEVERITY:
        return PRIORITY_SEVERITY[prio]
    kind = alert_type.strip().lower()
    if kind in ALERT_TYPE_SEVERITY:
        return ALERT_TYPE_SEVERITY[kind]
    if prio in PRIORITY_SEVERITY:
        return PRIORITY_SEVERITY[prio]
    return Severity.WARNING


class DatadogDriver(BaseAlertDriver):
    name: ClassVar[str] = "datadog"
    title: ClassVar[str] = "Datadog"
    expected: ClassVar[str] = (
        "'alert_id' + 'alert_transition' + 'alert_type'/'alert_status' ($ALERT_* template variables), "
        "or the default template's 'event_type' + 'org' + 'last_updated'"
    )
    status_words: ClassVar[dict[str, dict[str, AlertStatus]]] = {"alert_transition": TRANSITIONS}

    def validate(self, payload: Any) -> bool:
        if not isinstance(payload, dict):
            return False
        if _has(payload, "alert_id") and _has(payload, "alert_transition") and (
            _has(payload, "alert_type") or _has(payload, "alert_status")
        ):
            return True
        return self._is_default_template(payload)

    @staticmethod
    def _is_default_template(payload: dict[str, Any]) -> bool:
        return (
            isinstance(payload.get("org"), dict)
            and "last_updated" in payload
            and bool(_MONITOR_EVENT.search(text(payload.get("event_type"))))
        )

    def parse(self, payload: dict[str, Any]) -> ParsedPayload:
        if not isinstance(payload, dict):
            raise self.reject("expected a JSON object")
        title = _get(payload, "alert_title") or _get(payload, "event_title")
        match = _TITLE.match(title) if title else None
        monitor_id = _get(payload, "alert_id")
        transition = _get(payload, "alert_transition") or (match.group("transition") if match else "")
        if not monitor_id and not _has(payload, "alert_id") and not self._is_default_template(payload):
            raise self.reject("'alert_id' ($ALERT_ID) is missing")
        if _has(payload, "alert_id") and not monitor_id:
            raise self.reject("'alert_id' ($ALERT_ID) is empty")
        if not transition:
            raise self.reject("'alert_transition' ($ALERT_TRANSITION) is missing and the title has no [Triggered]/"
                              "[Recovered] prefix")
        status = self.status_of("alert_transition", transition)
        alert_type = _get(payload, "alert_type")
        priority = _get(payload, "alert_priority")
        severity = datadog_severity(transition, alert_type, priority)

        scope = _get(payload, "alert_scope") or (text(match.group("scope")) if match else "")
        tags = parse_tags(payload.get("tags"))
        scope_tags = parse_tags(scope)
        cycle_key = _get(payload, "alert_cycle_key")
        aggreg_key = _get(payload, "aggreg_key")
        if cycle_key:
            fingerprint = vendor_fingerprint(self, cycle_key)
        elif aggreg_key:
            fingerprint = vendor_fingerprint(self, aggreg_key)
        elif monitor_id:
            fingerprint = self.fingerprint_of(self.name, monitor_id, scope)
        else:  # default template: no ids that survive trigger -> recover
            fingerprint = self.fingerprint_of(self.name, _ANY_PREFIX.sub("", title), scope)

        labels: dict[str, str] = {
            **{k: v for k, v in tags.items() if k != "tags"},
            **{k: v for k, v in scope_tags.items() if k != "tags"},
            "monitor_id": monitor_id,
            "alert_type": alert_type,
            "alert_transition": transition,
            "priority": priority,
            "event_type": _get(payload, "event_type"),
            "org": first_text(as_dict(payload.get("org")), "name"),
            "scope": scope,
        }
        if tags.get("tags"):
            labels["tags"] = tags["tags"]
        host = _get(payload, "hostname") or scope_tags.get("host", "") or tags.get("host", "")
        if host:
            labels["host"] = host
        annotations = {
            "url": _get(payload, "link"),
            "alert_status": _get(payload, "alert_status"),
            "metric": _get(payload, "alert_metric"),
            "query": _get(payload, "alert_query"),
            "snapshot": _get(payload, "snapshot"),
            "event_id": _get(payload, "id"),
            "event_priority": _get(payload, "priority"),
            "aggreg_key": aggreg_key,
            "alert_cycle_key": cycle_key,
        }
        name = _ANY_PREFIX.sub("", title).strip() if title else ""
        description = _get(payload, "event_msg") or _get(payload, "alert_status")
        event_time = safe_time(payload.get("date")) or safe_time(payload.get("last_updated"))
        alert = make_alert(
            self,
            fingerprint=fingerprint,
            name=name or (f"Datadog monitor {monitor_id}" if monitor_id else "Datadog alert"),
            status=status,
            severity=severity,
            raw=payload,
            description=description,
            labels=labels,
            annotations=annotations,
            started_at=event_time if status == AlertStatus.FIRING else None,
            ended_at=(safe_time(payload.get("last_updated")) or event_time) if status == AlertStatus.RESOLVED else None,
        )
        return ParsedPayload(
            alerts=[alert],
            source=self.name,
            version="variables" if monitor_id else "default",
            group_key=f"monitor:{monitor_id}" if monitor_id else "",
            raw_payload=payload,
        )
