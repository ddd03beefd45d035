"""Generic JSON webhook: the fallback for tools without a driver.

Either ``{"alerts": [{...}, ...], <shared fields>}`` or one alert object.  Per
alert: name/title/alertname, status/state, severity/priority/level,
description/message/summary, labels/tags (object or list of "k:v"),
annotations, fingerprint/id/dedup_key, started_at/startsAt/timestamp,
ended_at/endsAt, host/hostname.  Top-level fields of an ``alerts`` payload are
defaults for every alert (labels merged, the alert's own winning).
"""

from __future__ import annotations

from typing import Any, ClassVar

from signalfire.alerts.drivers._common import (
    alert_list,
    first_text,
    host_from_instance,
    make_alert,
    parse_tags,
    safe_time,
    set_host,
    str_map,
    text,
)
from signalfire.alerts.drivers.base import BaseAlertDriver
from signalfire.alerts.models import (
    STATUS_WORDS,
    AlertStatus,
    ParsedAlert,
    ParsedPayload,
    normalize_severity,
)

NAME_KEYS = ("name", "title", "alertname", "alert_name")
STATUS_KEYS = ("status", "state")
SEVERITY_KEYS = ("severity", "priority", "level")
DESCRIPTION_KEYS = ("description", "message", "summary", "text", "body")
FINGERPRINT_KEYS = ("fingerprint", "id", "dedup_key", "dedupKey", "alert_id", "alertId")
START_KEYS = ("started_at", "startsAt", "starts_at", "start_time", "timestamp", "created_at")
END_KEYS = ("ended_at", "endsAt", "ends_at", "end_time", "resolved_at")


class GenericWebhookDriver(BaseAlertDriver):
    name: ClassVar[str] = "generic"
    title: ClassVar[str] = "Generic webhook"
    expected: ClassVar[str] = "'alerts' list of objects, or a 'name'/'title' field"
    status_words: ClassVar[dict[str, dict[str, AlertStatus]]] = {"status": STATUS_WORDS}

    def validate(self, payload: Any) -> bool:
        if not isinstance(payload, dict):
            return False
        alerts = payload.get("alerts")
        if isinstance(alerts, list):
            return bool(alerts) and all(isinstance(a, dict) for a in alerts)
        return any(text(payload.get(k)) for k in NAME_KEYS)

    def parse(self, payload: dict[str, Any]) -> ParsedPayload:
        if not isinstance(payload, dict):
            raise self.reject("expected a JSON object")
        if "alerts" in payload:
            alerts = alert_list(self, payload)
            defaults = {k: v for k, v in payload.items() if k != "alerts"}
            parsed = []
            for index, raw in enumerate(alerts):
                if not isinstance(raw, dict):
                    raise self.reject(f"alerts[{index}] is not an object")
                parsed.append(self._alert(raw, defaults, f"alerts[{index}]"))
        else:
            parsed = [self._alert(payload, {}, "payload")]
        return ParsedPayload(
            alerts=parsed,
            source=self.name,
            version=text(payload.get("version")),
            group_key=first_text(payload, "group_key", "groupKey"),
            receiver=text(payload.get("receiver")),
            external_url=first_text(payload, "external_url", "externalURL", "url"),
            raw_payload=payload,
        )

    def _alert(self, raw: dict[str, Any], defaults: dict[str, Any], where: str) -> ParsedAlert:
        def pick(*keys: str) -> str:
            return first_text(raw, *keys) or first_text(defaults, *keys)

        def tagmap(obj: dict[str, Any]) -> dict[str, str]:
            return {**parse_tags(obj.get("tags")), **parse_tags(obj.get("labels"))}

        labels = {**tagmap(defaults), **tagmap(raw)}
        annotations = {**str_map(defaults.get("annotations")), **str_map(raw.get("annotations"))}
        name = pick(*NAME_KEYS) or labels.get("alertname", "")
        if not name:
            raise self.reject(f"{where} has no name: set 'name', 'title' or 'alertname'")
        status_word = pick(*STATUS_KEYS)
        if raw.get("resolved") is True:
            status = AlertStatus.RESOLVED
        else:
            status = self.status_of("status", status_word, AlertStatus.FIRING)
        severity = normalize_severity(pick(*SEVERITY_KEYS) or labels.get("severity") or None)
        own_fp = first_text(raw, *FINGERPRINT_KEYS)
        identity = {k: v for k, v in labels.items() if k not in {"severity", "status", "state"}}
        fingerprint = own_fp or self.fingerprint_of(self.name, name, sorted(identity.items()))
        set_host(labels, pick("host", "hostname"), labels.get("hostname"),
                 host_from_instance(labels.get("instance")))
        if pick("url", "link"):
            annotations.setdefault("url", pick("url", "link"))
        description = pick(*DESCRIPTION_KEYS) or first_text(annotations, "description", "summary", "message")
        ended = safe_time(raw.get(next((k for k in END_KEYS if k in raw), "")))
        return make_alert(
            self,
            fingerprint=fingerprint,
            name=name,
            status=status,
            severity=severity,
            raw=raw,
            description=description,
            labels=labels,
            annotations=annotations,
            started_at=safe_time(pick(*START_KEYS) or None),
            ended_at=ended if status == AlertStatus.RESOLVED else None,
        )
