"""PagerDuty outbound webhooks.

* **V3** (webhook subscriptions): ``{"event": {id, event_type, resource_type,
  occurred_at, agent, client, data}}`` -- one event per request; for incident
  state events ``data`` is the incident (id, number, title, status, urgency,
  priority{summary}, incident_key, service{summary}, html_url, created_at).
* **V2** (legacy webhook extensions): ``{"messages": [{event: "incident.trigger",
  incident: {...}, log_entries, created_on}]}``; V1 used ``type`` and
  ``data.incident`` in each message and is read the same way.
"""

from __future__ import annotations

from typing import Any, ClassVar

from signalfire.alerts.drivers._common import (
    as_dict,
    as_list,
    first_text,
    make_alert,
    safe_time,
    text,
    vendor_fingerprint,
)
from signalfire.alerts.drivers.base import BaseAlertDriver
from signalfire.alerts.models import AlertStatus, ParsedAlert, ParsedPayload, Severity

_F, _R = AlertStatus.FIRING, AlertStatus.RESOLVED
#: Webhooks V3 incident state events (their ``data`` is the incident).
V3_EVENTS: dict[str, AlertStatus] = {
    "incident.triggered": _F, "incident.acknowledged": _F, "incident.unacknowledged": _F,
    "incident.escalated": _F, "incident.reassigned": _F, "incident.reopened": _F, "incident.delegated": _F,
    "incident.priority_updated": _F, "incident.service_updated": _F, "incident.resolved": _R,
}
#: V2/V1 webhook extension message types.
V2_EVENTS: dict[str, AlertStatus] = {
    "incident.trigger": _F, "incident.acknowledge": _F, "incident.unacknowledge": _F, "incident.assign": _F,
    "incident.escalate": _F, "incident.delegate": _F, "incident.annotate": _F, "incident.resolve": _R,
}
#: An incident's ``status``.
INCIDENT_STATUS: dict[str, AlertStatus] = {"triggered": _F, "acknowledged": _F, "resolved": _R}


def pagerduty_severity(urgency: Any, priority: Any) -> Severity:
    """urgency high -> critical, low -> warning; priority P1/P2 -> critical
    whatever the urgency; neither -> warning."""
    prio = text(priority).upper()
    if prio in {"P1", "P2", "SEV-1", "SEV-2", "SEV1", "SEV2"}:
        return Severity.CRITICAL
    urg = text(urgency).lower()
    if urg == "high":
        return Severity.CRITICAL
    if urg == "low":
        return Severity.WARNING
    return Severity.WARNING


def _priority_name(incident: dict[str, Any]) -> str:
    prio = incident.get("priority")
    if isinstance(prio, dict):
        return first_text(prio, "summary", "name")
    return text(prio)


class PagerDutyDriver(BaseAlertDriver):
    name: ClassVar[str] = "pagerduty"
    title: ClassVar[str] = "PagerDuty"
    expected: ClassVar[str] = "'event' with 'event_type' (Webhooks V3) or 'messages' list of incident.* events (V2)"
    status_words: ClassVar[dict[str, dict[str, AlertStatus]]] = {
        "event_type": V3_EVENTS, "event": V2_EVENTS, "status": INCIDENT_STATUS,
    }

    def _status(self, event_field: str, event_type: str, incident: dict[str, Any]) -> AlertStatus:
        """Resolved when the event or the incident's status says so; both words must be documented ones."""
        by_event = self.status_of(event_field, event_type)
        by_status = self.status_of("status", incident.get("status"), by_event)
        return _R if _R in (by_event, by_status) else _F

    def validate(self, payload: Any) -> bool:
        if not isinstance(payload, dict):
            return False
        event = payload.get("event")
        if isinstance(event, dict) and "event_type" in event:
            return True
        messages = payload.get("messages")
        if isinstance(messages, list):
            return any(
                isinstance(m, dict) and text(m.get("event") or m.get("type")).startswith("incident.")
                for m in messages
            )
        return False

    def parse(self, payload: dict[str, Any]) -> ParsedPayload:
        if not isinstance(payload, dict):
            raise self.reject("expected a JSON object")
        if "event" in payload:
            return self._parse_v3(payload)
        if "messages" in payload:
            return self._parse_v2(payload)
        raise self.reject("neither 'event' (Webhooks V3) nor 'messages' (V2) present")

    # -- V3 ------------------------------------------------------------------------------

    def _parse_v3(self, payload: dict[str, Any]) -> ParsedPayload:
        event = payload.get("event")
        if not isinstance(event, dict):
            raise self.reject("'event' must be an object")
        event_type = text(event.get("event_type"))
        if not event_type:
            raise self.reject("'event.event_type' is missing")
        if event_type == "pagey.ping":
            raise self.reject("'pagey.ping' is the subscription test event; it carries no incident to ingest")
        if not event_type.startswith("incident."):
            raise self.reject(
                f"event type {event_type!r} is not an incident event: filter the subscription to incident.* events"
            )
        data = event.get("data")
        if not isinstance(data, dict):
            raise self.reject("'event.data' must be the incident object")
        if text(data.get("type")) not in {"", "incident"} or ("status" not in data and "incident" in data):
            raise self.reject(
                f"{event_type!r} carries a {text(data.get('type'), 'reference')!r}, not the incident with its "
                "status: subscribe this endpoint to incident state events (triggered, acknowledged, resolved, "
                "escalated, reassigned, reopened, priority_updated, unacknowledged)"
            )
        incident_id = text(data.get("id"))
        if not incident_id:
            raise self.reject("'event.data.id' (the incident id) is missing")
        status = self._status("event_type", event_type, data)
        occurred = safe_time(event.get("occurred_at"))
        alert = self._incident_alert(
            data,
            incident_id,
            status,
            event_type,
            number=text(data.get("number")),
            service=first_text(as_dict(data.get("service")), "summary", "name"),
            occurred=occurred,
        )
        return ParsedPayload(alerts=[alert], source=self.name, version="v3", raw_payload=payload)

    # -- V2 / V1 -------------------------------------------------------------------------

    def _parse_v2(self, payload: dict[str, Any]) -> ParsedPayload:
        messages = payload.get("messages")
        if not isinstance(messages, list):
            raise self.reject("'messages' must be a list")
        if not messages:
            raise self.reject("'messages' is empty: nothing to ingest")
        by_incident: dict[str, ParsedAlert] = {}
        version = "v2"
        for index, message in enumerate(messages):
            if not isinstance(message, dict):
                raise self.reject(f"messages[{index}] is not an object")
            event_type = text(message.get("event") or message.get("type"))
            if "type" in message and "event" not in message:
                version = "v1"
            if not event_type.startswith("incident."):
                raise self.reject(f"messages[{index}] has no incident.* 'event' (got {event_type!r})")
            incident = message.get("incident")
            if incident is None:
                incident = as_dict(message.get("data")).get("incident")
            if not isinstance(incident, dict):
                raise self.reject(f"messages[{index}].incident must be an object")
            incident_id = text(incident.get("id"))
            if not incident_id:
                raise self.reject(f"messages[{index}].incident.id is missing")
            status = self._status("event", event_type, incident)
            service = as_dict(incident.get("service"))
            alert = self._incident_alert(
                incident,
                incident_id,
                status,
                event_type,
                number=text(incident.get("incident_number")),
                service=first_text(service, "name", "summary"),
                occurred=safe_time(message.get("created_on")),
                title_fallback=first_text(as_dict(incident.get("trigger_summary_data")), "subject", "description"),
            )
            # A batch can carry several events for one incident (trigger, then
            # acknowledge): keep the last, i.e. the incident's latest state.
            by_incident.pop(alert.fingerprint, None)
            by_incident[alert.fingerprint] = alert
        return ParsedPayload(alerts=list(by_incident.values()), source=self.name, version=version,
                             raw_payload=payload)

    # -- shared --------------------------------------------------------------------------

    def _incident_alert(
        self,
        incident: dict[str, Any],
        incident_id: str,
        status: AlertStatus,
        event_type: str,
        *,
        number: str,
        service: str,
        occurred: Any,
        title_fallback: str = "",
    ) -> ParsedAlert:
        urgency = text(incident.get("urgency")).lower()
        priority = _priority_name(incident)
        labels = {
            "incident_id": incident_id,
            "incident_number": number,
            "service": service,
            "urgency": urgency,
            "priority": priority,
            "pd_status": text(incident.get("status")).lower(),
            "event_type": event_type,
        }
        escalation = as_dict(incident.get("escalation_policy"))
        annotations = {
            "url": text(incident.get("html_url")),
            "incident_key": text(incident.get("incident_key")),
            "escalation_policy": first_text(escalation, "summary", "name"),
            "service_url": text(as_dict(incident.get("service")).get("html_url")),
        }
        assignees = [
            first_text(a, "summary", "name") or first_text(as_dict(a.get("assignee")), "summary", "name")
            for a in as_list(incident.get("assignees")) + as_list(incident.get("assignments"))
            if isinstance(a, dict)
        ]
        if any(assignees):
            annotations["assignees"] = ", ".join(a for a in assignees if a)
        name = first_text(incident, "title", "summary", "description") or title_fallback
        return make_alert(
            self,
            fingerprint=vendor_fingerprint(self, incident_id),
            name=name or f"PagerDuty incident {incident_id}",
            status=status,
            severity=pagerduty_severity(urgency, priority),
            raw=incident,
            description=first_text(incident, "description", "summary", "title") or title_fallback,
            labels=labels,
            annotations=annotations,
            started_at=safe_time(incident.get("created_at")),
            ended_at=occurred if status == AlertStatus.RESOLVED else None,
        )
