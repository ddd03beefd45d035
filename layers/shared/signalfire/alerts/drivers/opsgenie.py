"""Opsgenie outgoing Webhook integration.

``{action: Create|Acknowledge|UnAcknowledge|AddNote|Close|Delete|Escalate|
AssignOwnership|TakeOwnership|AddTags|AddRecipient|Snooze|CustomAction|...,
alert: {alertId, message, tags[], tinyId, entity, alias, createdAt (epoch ms),
updatedAt (epoch ns), username, userId, description, details{}, priority
P1..P5, source, teams, recipients}, source: {name, type}, integrationId,
integrationName}``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from signalfire.alerts.drivers._common import (
    as_list,
    first_text,
    make_alert,
    parse_tags,
    safe_time,
    set_host,
    str_map,
    text,
    vendor_fingerprint,
)
from signalfire.alerts.drivers.base import BaseAlertDriver
from signalfire.alerts.models import AlertStatus, ParsedPayload, Severity

PRIORITY_SEVERITY: dict[str, Severity] = {
    "P1": Severity.CRITICAL,
    "P2": Severity.CRITICAL,
    "P3": Severity.WARNING,
    "P4": Severity.INFO,
    "P5": Severity.INFO,
}
_F, _R = AlertStatus.FIRING, AlertStatus.RESOLVED
#: Alert actions the outgoing webhook integration posts; Close and Delete end the alert.
ACTIONS: dict[str, AlertStatus] = {
    **{a.lower(): _F for a in (
        "Create", "Acknowledge", "UnAcknowledge", "AddNote", "AddResponder", "AddTeam", "AssignOwnership",
        "TakeOwnership", "AddTags", "RemoveTags", "AddDetails", "RemoveDetails", "AddRecipient", "Escalate",
        "EscalateNext", "Snooze", "SnoozeEnded", "CustomAction", "UpdatePriority", "UpdateMessage",
        "UpdateDescription", "UpdateAlias")},
    "close": _R, "delete": _R,
}
#: ``alert.status`` when no action is sent.
ALERT_STATUS: dict[str, AlertStatus] = {"open": _F, "closed": _R}


class OpsGenieDriver(BaseAlertDriver):
    name: ClassVar[str] = "opsgenie"
    title: ClassVar[str] = "Opsgenie"
    expected: ClassVar[str] = "'alert' object with 'action' (outgoing webhook) or 'integrationId'"
    status_words: ClassVar[dict[str, dict[str, AlertStatus]]] = {"action": ACTIONS, "status": ALERT_STATUS}

    def validate(self, payload: Any) -> bool:
        if not isinstance(payload, dict) or "alert" not in payload:
            return False
        if "action" in payload:
            return True
        return "integrationId" in payload and isinstance(payload.get("alert"), dict)

    def parse(self, payload: dict[str, Any]) -> ParsedPayload:
        if not isinstance(payload, dict):
            raise self.reject("expected a JSON object")
        alert = payload.get("alert")
        if not isinstance(alert, dict):
            raise self.reject("'alert' must be an object")
        if "action" in payload and payload["action"] is not None and not isinstance(payload["action"], str):
            raise self.reject("'action' must be a string such as Create or Close")
        alert_id = text(alert.get("alertId"))
        if not alert_id:
            raise self.reject("'alert.alertId' is missing")
        action = text(payload.get("action"))
        if action:
            status = self.status_of("action", action)
        else:
            status = self.status_of("status", alert.get("status"), _F)
        priority = text(alert.get("priority")).upper()
        severity = PRIORITY_SEVERITY.get(priority, Severity.WARNING)
        tags = parse_tags(alert.get("tags"))
        details = str_map(alert.get("details"))
        teams = [t for t in (text(x) if not isinstance(x, dict) else first_text(x, "name", "id")
                             for x in as_list(alert.get("teams"))) if t]
        labels = {
            **tags,
            "alert_id": alert_id,
            "alias": text(alert.get("alias")),
            "tiny_id": text(alert.get("tinyId")),
            "priority": priority,
            "entity": text(alert.get("entity")),
            "source": text(alert.get("source")),
            "action": action,
            "integration": text(payload.get("integrationName")),
            "teams": ", ".join(teams),
        }
        labels.pop("host", None)
        # An explicit host tag/detail beats the entity, which is often a service name.
        set_host(labels, tags.get("host"), tags.get("hostname"), details.get("host"), details.get("hostname"),
                 text(alert.get("entity")))
        annotations = {**{f"detail_{k}": v for k, v in details.items()},
                       "username": text(alert.get("username")),
                       "url": first_text(payload, "url", "alertUrl")}
        updated = safe_time(alert.get("updatedAt"))
        parsed = make_alert(
            self,
            fingerprint=vendor_fingerprint(self, alert_id),
            name=text(alert.get("message")) or f"Opsgenie alert {text(alert.get('tinyId'), alert_id)}",
            status=status,
            severity=severity,
            raw=alert,
            description=text(alert.get("description")),
            labels=labels,
            annotations=annotations,
            started_at=safe_time(alert.get("createdAt")),
            ended_at=updated if status == AlertStatus.RESOLVED else None,
        )
        return ParsedPayload(
            alerts=[parsed],
            source=self.name,
            receiver=first_text(payload, "integrationName", "integrationId"),
            group_key=text(alert.get("alias")),
            raw_payload=payload,
        )


__all__ = ["OpsGenieDriver"]
