"""Ingest: turn a parsed webhook into deduplicated alerts and incidents
(seed: AlertOrchestrator.process_webhook).

Per alert the flow is read -> decide -> conditional write; a lost race
re-reads and decides again, so 50 identical deliveries arriving at once give
one alert and one incident.  An alert that comes back unchanged costs one
consistent read and no write, and is reported as ``unchanged`` (it starts no
pipeline run).
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum

from pydantic import BaseModel, Field

from signalfire.alerts.models import (
    Alert,
    AlertHistory,
    AlertStatus,
    HistoryEvent,
    Incident,
    ParsedAlert,
    ParsedPayload,
    ProcessingResult,
)
from signalfire.alerts.store import AlertStore
from signalfire.errors import ConcurrentUpdateError
from signalfire.ids import alert_id, group_id, new_id
from signalfire.store.exceptions import ConditionFailed
from signalfire.timeutil import iso, utcnow

MAX_ATTEMPTS = 6


class IncidentEvent(StrEnum):
    CREATED = "created"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    UPDATED = "updated"


class AlertChange(BaseModel):
    alert_id: str
    fingerprint: str
    name: str
    change: str  # a HistoryEvent value, or "unchanged"
    severity: str
    status: str
    incident_id: str | None = None


class IncidentChange(BaseModel):
    incident_id: str
    event: IncidentEvent
    severity: str
    alert_fingerprint: str = ""


class IngestOutcome(BaseModel):
    """What one webhook did: the seed's counts plus the per-alert and
    per-incident changes that decide whether a pipeline run starts."""

    source: str
    result: ProcessingResult = Field(default_factory=ProcessingResult)
    alerts: list[AlertChange] = Field(default_factory=list)
    incidents: list[IncidentChange] = Field(default_factory=list)


def content_hash(p: ParsedAlert) -> str:
    """Hash of what makes an alert different.  ``ended_at`` counts only once
    resolved: senders put a moving "valid until" time on firing alerts."""
    material = {
        "status": p.status.value,
        "severity": p.severity.value,
        "name": p.name,
        "description": p.description,
        "labels": p.labels,
        "annotations": p.annotations,
        "ended_at": iso(p.ended_at) if p.status == AlertStatus.RESOLVED else None,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


class IngestService:
    def __init__(self, store: AlertStore) -> None:
        self.store = store

    def process(self, parsed: ParsedPayload) -> IngestOutcome:
        outcome = IngestOutcome(source=parsed.source)
        to_check: set[str] = set()
        # One round trip for the whole group: a repeated group costs one read.
        known = self.store.get_alerts([alert_id(parsed.source, p.fingerprint) for p in parsed.alerts])
        for p in parsed.alerts:
            try:
                change = self._process_one(parsed, p, outcome, known.get(alert_id(parsed.source, p.fingerprint)))
            except ConditionFailed as exc:  # ran out of attempts against concurrent writers
                raise ConcurrentUpdateError(f"alert {p.fingerprint!r} kept changing underneath; retry") from exc
            outcome.alerts.append(change)
            if change.change == HistoryEvent.RESOLVED and change.incident_id:
                to_check.add(change.incident_id)
        for incident_id in sorted(to_check):
            resolved = self.store.resolve_incident_if_clear(incident_id)
            if resolved is not None:
                outcome.result.incidents_resolved += 1
                fp = next((a.fingerprint for a in outcome.alerts if a.incident_id == incident_id), "")
                outcome.incidents.append(IncidentChange(incident_id=incident_id, event=IncidentEvent.RESOLVED,
                                                        severity=resolved.severity.value, alert_fingerprint=fp))
        return outcome

    # -- one alert ---------------------------------------------------------------------

    def _incident_for(self, parsed: ParsedPayload, p: ParsedAlert, outcome: IngestOutcome) -> Incident:
        key = parsed.group_key or p.fingerprint
        candidate = Incident(
            id=new_id("inc"), title=p.name, severity=p.severity, description=p.description,
            source=parsed.source, group_key=key, group_id=group_id(parsed.source, key),
        )
        incident, created = self.store.open_incident_for_group(candidate)
        if created:
            outcome.result.incidents_created += 1
            outcome.incidents.append(IncidentChange(incident_id=incident.id, event=IncidentEvent.CREATED,
                                                    severity=incident.severity.value, alert_fingerprint=p.fingerprint))
        elif self.store.escalate_incident(incident.id, p.severity):
            outcome.result.incidents_updated += 1
            outcome.incidents.append(IncidentChange(incident_id=incident.id, event=IncidentEvent.ESCALATED,
                                                    severity=p.severity.value, alert_fingerprint=p.fingerprint))
        return incident

    def _process_one(self, parsed: ParsedPayload, p: ParsedAlert, outcome: IngestOutcome,
                     prefetched: Alert | None) -> AlertChange:
        aid = alert_id(parsed.source, p.fingerprint)
        digest = content_hash(p)
        last_error: ConditionFailed | None = None
        for attempt in range(MAX_ATTEMPTS):
            # The prefetched read serves the first attempt; a lost race re-reads.
            existing = prefetched if attempt == 0 else self.store.get_alert(aid)
            try:
                if existing is None:
                    return self._create(parsed, p, aid, digest, outcome)
                if existing.content_hash == digest:
                    outcome.result.alerts_unchanged += 1
                    return _change(existing, "unchanged")
                return self._update(parsed, p, existing, digest, outcome)
            except ConditionFailed as exc:
                last_error = exc
                continue
        assert last_error is not None
        raise last_error

    def _create(self, parsed: ParsedPayload, p: ParsedAlert, aid: str, digest: str,
                outcome: IngestOutcome) -> AlertChange:
        now = utcnow()
        incident = self._incident_for(parsed, p, outcome) if p.is_firing else None
        alert = Alert(
            id=aid, fingerprint=p.fingerprint, source=parsed.source, name=p.name, severity=p.severity,
            status=p.status, description=p.description, labels=p.labels, annotations=p.annotations,
            raw_payload=p.raw_payload, started_at=p.started_at, ended_at=p.ended_at, received_at=now,
            updated_at=now, incident_id=incident.id if incident else None,
            group_key=parsed.group_key or p.fingerprint, content_hash=digest, version=1,
        )
        history = AlertHistory(alert_id=aid, event=HistoryEvent.CREATED, new_status=p.status.value,
                               details={"severity": p.severity.value, "incident_id": alert.incident_id})
        self.store.create_alert(alert, history, incident)
        outcome.result.alerts_created += 1
        created_here = any(c.incident_id == alert.incident_id and c.event == IncidentEvent.CREATED
                           for c in outcome.incidents)
        if incident is not None and not created_here:
            outcome.result.incidents_updated += 1  # attached to an incident that already existed
        return _change(alert, HistoryEvent.CREATED.value)

    def _update(self, parsed: ParsedPayload, p: ParsedAlert, old: Alert, digest: str,
                outcome: IngestOutcome) -> AlertChange:
        now = utcnow()
        attach: Incident | None = None
        delta: dict[str, int] = {}
        incident_id = old.incident_id
        if old.is_firing and not p.is_firing:
            event = HistoryEvent.RESOLVED
            if incident_id:
                delta[incident_id] = -1
        elif not old.is_firing and p.is_firing:
            event = HistoryEvent.REFIRED
            incident = self._incident_for(parsed, p, outcome)
            if incident.id != old.incident_id:
                attach, incident_id = incident, incident.id
            else:
                delta[incident.id] = 1
        elif p.severity.rank > old.severity.rank:
            event = HistoryEvent.ESCALATED
        elif p.severity.rank < old.severity.rank:
            event = HistoryEvent.DEESCALATED
        else:
            event = HistoryEvent.UPDATED
        escalates = event == HistoryEvent.ESCALATED and p.is_firing
        if escalates and incident_id and self.store.escalate_incident(incident_id, p.severity):
            outcome.result.incidents_updated += 1
            outcome.incidents.append(IncidentChange(incident_id=incident_id, event=IncidentEvent.ESCALATED,
                                                    severity=p.severity.value, alert_fingerprint=p.fingerprint))
        alert = old.model_copy(update={
            "name": p.name, "severity": p.severity, "status": p.status, "description": p.description,
            "labels": p.labels, "annotations": p.annotations, "raw_payload": p.raw_payload,
            "started_at": p.started_at if event == HistoryEvent.REFIRED else old.started_at,
            "ended_at": (p.ended_at or now) if not p.is_firing else None,
            "updated_at": now, "incident_id": incident_id, "content_hash": digest, "version": old.version + 1,
        })
        history = AlertHistory(
            alert_id=old.id, event=event, old_status=old.status.value, new_status=p.status.value,
            details={"old_severity": old.severity.value, "new_severity": p.severity.value,
                     "incident_id": incident_id},
        )
        self.store.update_alert(alert, old.version, history, attach, delta)
        if event == HistoryEvent.RESOLVED:
            outcome.result.alerts_resolved += 1
        else:
            outcome.result.alerts_updated += 1
        return _change(alert, event.value)


def _change(alert: Alert, change: str) -> AlertChange:
    return AlertChange(alert_id=alert.id, fingerprint=alert.fingerprint, name=alert.name, change=change,
                       severity=alert.severity.value, status=alert.status.value, incident_id=alert.incident_id)
