"""Grafana webhook contact point.

Two formats:

* **Unified alerting** (Grafana 8+, payload ``version`` "1"): an Alertmanager
  payload plus ``orgId``, ``state`` ("alerting"/"ok"), ``title``, ``message``;
  each alert adds ``silenceURL``/``dashboardURL``/``panelURL``/``values``/
  ``valueString``.  One ParsedAlert per alert, fingerprint = Grafana's.
* **Legacy alerting** (Grafana <= 8 dashboard alerts): ``{dashboardId, panelId,
  ruleId, ruleName, ruleUrl, state, evalMatches, message, tags, title, orgId}``,
  one notification per rule.  One ParsedAlert per rule (see docs/drivers.md).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from signalfire.alerts.drivers._common import (
    alert_list,
    alertmanager_envelope,
    as_dict,
    as_list,
    first_text,
    flat,
    make_alert,
    safe_time,
    set_host,
    str_map,
    text,
)
from signalfire.alerts.drivers.alertmanager import ALERTMANAGER_STATUS, labels_host, looks_like_grafana
from signalfire.alerts.drivers.base import BaseAlertDriver
from signalfire.alerts.models import AlertStatus, ParsedAlert, ParsedPayload, Severity, normalize_severity

LEGACY_KEYS = ("ruleId", "ruleName", "ruleUrl", "evalMatches", "dashboardId", "panelId")

# Legacy rule states.  no_data/pending are still a problem worth tracking;
# paused means someone switched the rule off, so whatever it raised is over.
LEGACY_STATES: dict[str, AlertStatus] = {
    "alerting": AlertStatus.FIRING,
    "no_data": AlertStatus.FIRING,
    "pending": AlertStatus.FIRING,
    "ok": AlertStatus.RESOLVED,
    "paused": AlertStatus.RESOLVED,
}

_TITLE_PREFIX = re.compile(r"^\s*\[[^\]]*\]\s*")


class GrafanaDriver(BaseAlertDriver):
    name: ClassVar[str] = "grafana"
    title: ClassVar[str] = "Grafana"
    expected: ClassVar[str] = (
        "'orgId' + 'state' + 'title' (legacy), 'alerts' + 'dashboardId', or 'alerts' with 'orgId' "
        "(unified alerting)"
    )
    status_words: ClassVar[dict[str, dict[str, AlertStatus]]] = {"status": ALERTMANAGER_STATUS,
                                                                   "state": LEGACY_STATES}

    def validate(self, payload: Any) -> bool:
        if not isinstance(payload, dict):
            return False
        if all(k in payload for k in ("orgId", "state", "title")):
            return True
        if "alerts" in payload and "dashboardId" in payload:
            return True
        if "ruleId" in payload and "state" in payload and ("ruleName" in payload or "title" in payload):
            return True
        if "alerts" in payload and isinstance(payload.get("alerts"), list):
            if "orgId" in payload:
                return True
            if "receiver" in payload and ("state" in payload or "title" in payload):
                return True
            return "status" in payload and looks_like_grafana(payload)
        return False

    def parse(self, payload: dict[str, Any]) -> ParsedPayload:
        if not isinstance(payload, dict):
            raise self.reject("expected a JSON object")
        if "alerts" in payload:
            return self._parse_unified(payload)
        if any(k in payload for k in LEGACY_KEYS) or "state" in payload:
            return self._parse_legacy(payload)
        raise self.reject("neither 'alerts' (unified alerting) nor 'ruleId'/'state' (legacy alerting) present")

    # -- unified alerting -------------------------------------------------------------

    def _parse_unified(self, payload: dict[str, Any]) -> ParsedPayload:
        alerts = alert_list(self, payload)
        # Unified alerting's group ``state`` is "alerting" or "ok"; ``status`` wins when present.
        default_status = self.status_of("status", payload.get("status"),
                                        self.status_of("state", payload.get("state"), AlertStatus.FIRING))
        common_labels = str_map(payload.get("commonLabels"))
        common_annotations = str_map(payload.get("commonAnnotations"))
        title = text(payload.get("title"))
        parsed = [
            self._unified_alert(i, raw, default_status, common_labels, common_annotations, title)
            for i, raw in enumerate(alerts)
        ]
        return alertmanager_envelope(self, payload, parsed, default_version="1")

    def _unified_alert(
        self,
        index: int,
        raw: Any,
        default_status: AlertStatus,
        common_labels: dict[str, str],
        common_annotations: dict[str, str],
        title: str,
    ) -> ParsedAlert:
        if not isinstance(raw, dict):
            raise self.reject(f"alerts[{index}] is not an object")
        if "labels" in raw and not isinstance(raw["labels"], dict):
            raise self.reject(f"alerts[{index}].labels must be an object")
        own_labels = str_map(raw.get("labels"))
        labels = {**common_labels, **own_labels}
        annotations = {**common_annotations, **str_map(raw.get("annotations"))}
        status = self.status_of("status", raw.get("status"), default_status)
        name = labels.get("alertname") or _TITLE_PREFIX.sub("", title) or "Grafana alert"
        severity = normalize_severity(first_text(labels, "severity", "priority", "level") or None, Severity.WARNING)
        fingerprint = text(raw.get("fingerprint"))
        if not fingerprint:
            if not labels:
                raise self.reject(f"alerts[{index}] has neither a fingerprint nor labels to identify it")
            fingerprint = self.fingerprint_of(self.name, sorted((own_labels or labels).items()))
        set_host(labels, labels_host(labels))
        for key, target in (("generatorURL", "url"), ("silenceURL", "silence_url"), ("dashboardURL", "dashboard_url"),
                            ("panelURL", "panel_url"), ("imageURL", "image_url")):
            if text(raw.get(key)):
                annotations.setdefault(target, text(raw[key]))
        if raw.get("values") not in (None, {}, []):
            annotations["values"] = flat(raw["values"])
        if text(raw.get("valueString")):
            annotations["value_string"] = text(raw["valueString"])
        description = first_text(annotations, "description", "summary", "message")
        ended = safe_time(raw.get("endsAt")) if status == AlertStatus.RESOLVED else None
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
            started_at=safe_time(raw.get("startsAt")),
            ended_at=ended,
        )

    # -- legacy alerting ----------------------------------------------------------------

    def _parse_legacy(self, payload: dict[str, Any]) -> ParsedPayload:
        status = self.status_of("state", payload.get("state"))
        state = text(payload.get("state")).lower()
        rule_name = text(payload.get("ruleName")) or _TITLE_PREFIX.sub("", text(payload.get("title")))
        rule_id = text(payload.get("ruleId"))
        if not rule_id and not rule_name:
            raise self.reject("legacy alert has neither 'ruleId' nor 'ruleName'/'title' to identify it")
        if "tags" in payload and payload["tags"] is not None and not isinstance(payload["tags"], dict):
            raise self.reject("'tags' must be an object")
        if "evalMatches" in payload and payload["evalMatches"] is not None and not isinstance(
            payload["evalMatches"], list
        ):
            raise self.reject("'evalMatches' must be a list")
        org = text(payload.get("orgId"))
        if rule_id:
            fingerprint = self.fingerprint_of(self.name, "legacy", org, rule_id)
        else:
            fingerprint = self.fingerprint_of(
                self.name, "legacy", org, text(payload.get("dashboardId")), text(payload.get("panelId")), rule_name
            )
        labels = str_map(payload.get("tags"))
        labels.update({k: v for k, v in {
            "rule_id": rule_id,
            "dashboard_id": text(payload.get("dashboardId")),
            "panel_id": text(payload.get("panelId")),
            "org_id": org,
            "state": state,
        }.items() if v})
        matches = [m for m in as_list(payload.get("evalMatches")) if isinstance(m, dict)]
        match_tags = [as_dict(m.get("tags")) for m in matches]
        set_host(
            labels,
            labels_host(labels),
            *(labels_host(str_map(t)) for t in match_tags),
        )
        annotations: dict[str, str] = {}
        if text(payload.get("ruleUrl")):
            annotations["url"] = text(payload["ruleUrl"])
        if text(payload.get("imageUrl")):
            annotations["image_url"] = text(payload["imageUrl"])
        if matches:
            annotations["eval_matches"] = "; ".join(
                f"{text(m.get('metric'), '?')}={flat(m.get('value'))}" for m in matches
            )
        message = text(payload.get("message"))
        if message:
            annotations["message"] = message
        severity = normalize_severity(first_text(labels, "severity", "priority", "level") or None, Severity.WARNING)
        alert = make_alert(
            self,
            fingerprint=fingerprint,
            name=rule_name or f"Grafana rule {rule_id}",
            status=status,
            severity=severity,
            raw=payload,
            description=message or text(payload.get("title")),
            labels=labels,
            annotations=annotations,
        )
        return ParsedPayload(alerts=[alert], source=self.name, version="legacy", raw_payload=payload)
