"""Prometheus Alertmanager ``webhook_config`` receiver (payload version "4").

Shape: ``{version, groupKey, truncatedAlerts, status, receiver, groupLabels,
commonLabels, commonAnnotations, externalURL, alerts: [{status, labels,
annotations, startsAt, endsAt, generatorURL, fingerprint}]}``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from signalfire.alerts.drivers._common import (
    alert_list,
    alertmanager_envelope,
    first_text,
    host_from_instance,
    make_alert,
    safe_time,
    set_host,
    str_map,
    text,
)
from signalfire.alerts.drivers.base import BaseAlertDriver
from signalfire.alerts.models import AlertStatus, ParsedAlert, ParsedPayload, Severity, normalize_severity

# Keys only Grafana puts in an Alertmanager-shaped payload / alert.
GRAFANA_TOP_KEYS = ("orgId",)
GRAFANA_ALERT_KEYS = ("silenceURL", "dashboardURL", "panelURL", "valueString", "values", "imageURL")


def looks_like_grafana(payload: dict[str, Any]) -> bool:
    """Grafana unified alerting sends an Alertmanager payload plus orgId/state/
    title/message and per-alert silenceURL/dashboardURL/values...; Alertmanager
    never sends any of those."""
    if any(k in payload for k in GRAFANA_TOP_KEYS):
        return True
    if "title" in payload and "state" in payload:
        return True
    alerts = payload.get("alerts")
    if isinstance(alerts, list):
        return any(isinstance(a, dict) and any(k in a for k in GRAFANA_ALERT_KEYS) for a in alerts)
    return False


#: Alertmanager's webhook documents ``"status": "<resolved|firing>"`` for the
#: group and for each alert.
ALERTMANAGER_STATUS: dict[str, AlertStatus] = {"firing": AlertStatus.FIRING, "resolved": AlertStatus.RESOLVED}


def labels_host(labels: dict[str, str]) -> str:
    """The host an Alertmanager/Grafana label set names: host/hostname/nodename
    label, else ``instance`` without its port/scheme, else node."""
    for key in ("host", "hostname", "nodename"):
        if labels.get(key):
            return labels[key]
    if labels.get("instance"):
        return host_from_instance(labels["instance"])
    return labels.get("node", "")


class AlertManagerDriver(BaseAlertDriver):
    name: ClassVar[str] = "alertmanager"
    title: ClassVar[str] = "Prometheus Alertmanager"
    expected: ClassVar[str] = "'alerts' (list), 'status' and one of 'groupKey'/'receiver'/'groupLabels', no Grafana 'orgId'"
    status_words: ClassVar[dict[str, dict[str, AlertStatus]]] = {"status": ALERTMANAGER_STATUS}

    def validate(self, payload: Any) -> bool:
        if not isinstance(payload, dict):
            return False
        if "alerts" not in payload or "status" not in payload:
            return False
        if not any(k in payload for k in ("groupKey", "receiver", "groupLabels")):
            return False
        return not looks_like_grafana(payload)

    def parse(self, payload: dict[str, Any]) -> ParsedPayload:
        if not isinstance(payload, dict):
            raise self.reject("expected a JSON object")
        alerts = alert_list(self, payload)
        group_status = self.status_of("status", payload.get("status"))
        common_labels = str_map(payload.get("commonLabels"))
        common_annotations = str_map(payload.get("commonAnnotations"))
        parsed = [
            self._alert(i, raw, group_status, common_labels, common_annotations) for i, raw in enumerate(alerts)
        ]
        return alertmanager_envelope(self, payload, parsed)

    def _alert(
        self,
        index: int,
        raw: Any,
        group_status: AlertStatus,
        common_labels: dict[str, str],
        common_annotations: dict[str, str],
    ) -> ParsedAlert:
        if not isinstance(raw, dict):
            raise self.reject(f"alerts[{index}] is not an object")
        if "labels" in raw and not isinstance(raw["labels"], dict):
            raise self.reject(f"alerts[{index}].labels must be an object")
        own_labels = str_map(raw.get("labels"))
        labels = {**common_labels, **own_labels}
        annotations = {**common_annotations, **str_map(raw.get("annotations"))}
        if not labels:
            raise self.reject(f"alerts[{index}] has no labels: an Alertmanager alert is identified by its labels")
        status = self.status_of("status", raw.get("status"), group_status)
        name = labels.get("alertname") or "Alertmanager alert"
        severity = normalize_severity(first_text(labels, "severity", "priority", "level") or None, Severity.WARNING)
        fingerprint = text(raw.get("fingerprint"))
        if not fingerprint:
            fingerprint = self.fingerprint_of(self.name, sorted(own_labels.items() or labels.items()))
        set_host(labels, labels_host(labels))
        if text(raw.get("generatorURL")):
            annotations.setdefault("url", text(raw.get("generatorURL")))
        description = first_text(annotations, "description", "summary", "message")
        ended = safe_time(raw.get("endsAt")) if status == AlertStatus.RESOLVED else None
        return self._build(raw, fingerprint, name, status, severity, description, labels, annotations,
                           safe_time(raw.get("startsAt")), ended)

    def _build(self, raw: dict[str, Any], fingerprint: str, name: str, status: AlertStatus, severity: Severity,
               description: str, labels: dict[str, str], annotations: dict[str, str], started: Any,
               ended: Any) -> ParsedAlert:
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
            started_at=started,
            ended_at=ended,
        )


__all__ = ["ALERTMANAGER_STATUS", "AlertManagerDriver", "labels_host", "looks_like_grafana"]
