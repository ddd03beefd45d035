"""Incident lifecycle and alert/incident queries (seed: IncidentManager,
AlertQueryService).

Lifecycle::

    open --acknowledge--> acknowledged --resolve--> resolved --close--> closed
      \\______________________resolve______________/          ^
       \\___________________________close______________________/

Any other transition answers 409.  Notes can be added in every state.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from signalfire.alerts.models import (
    MAX_BY_CHARS,
    MAX_NOTE_CHARS,
    Alert,
    AlertHistory,
    AlertStatus,
    Incident,
    IncidentNote,
    IncidentStatus,
    RejectedPayload,
    Severity,
)
from signalfire.alerts.store import AlertStore
from signalfire.errors import BadRequestError, ConflictError, NotFoundError
from signalfire.ids import new_id
from signalfire.store.exceptions import ConditionFailed
from signalfire.text import clean_text
from signalfire.timeutil import iso, parse_time, utcnow

MAX_PAGE = 200

_TRANSITIONS: dict[str, tuple[IncidentStatus, set[IncidentStatus], str | None]] = {
    "acknowledge": (IncidentStatus.ACKNOWLEDGED, {IncidentStatus.OPEN}, "acknowledged_at"),
    "resolve": (IncidentStatus.RESOLVED, {IncidentStatus.OPEN, IncidentStatus.ACKNOWLEDGED}, "resolved_at"),
    "close": (IncidentStatus.CLOSED,
              {IncidentStatus.OPEN, IncidentStatus.ACKNOWLEDGED, IncidentStatus.RESOLVED}, "closed_at"),
}


class ListQuery(BaseModel):
    status: str | None = None
    severity: str | None = None
    source: str | None = None
    since: str | None = None
    limit: int = 50
    next_token: str | None = None


class PageOut(BaseModel):
    items: list[dict[str, Any]]
    next_token: str | None = None
    count: int = 0


class IncidentDetail(BaseModel):
    incident: Incident
    alerts: list[Alert] = Field(default_factory=list)
    #: The first 100 notes, oldest first (``incident.note_count`` counts them all).
    notes: list[IncidentNote] = Field(default_factory=list)


class NoteAdded(BaseModel):
    note: IncidentNote
    incident: Incident


class AlertDetail(BaseModel):
    alert: Alert
    history: list[AlertHistory] = Field(default_factory=list)


def _enum_value(kind: str, value: str | None, allowed: type) -> str | None:
    if value in (None, ""):
        return None
    names = [m.value for m in allowed]  # type: ignore[attr-defined]
    if value not in names:
        raise BadRequestError(f"unknown {kind} {value!r}: use one of {', '.join(names)}")
    return value


def parse_since(value: str | None) -> str | None:
    if not value:
        return None
    parsed: datetime | None = parse_time(value)
    if parsed is None:
        raise BadRequestError(f"since={value!r} is not a time: use ISO-8601 (2026-01-31T12:00:00Z) or epoch seconds")
    return iso(parsed)


def parse_limit(value: int) -> int:
    if value < 1 or value > MAX_PAGE:
        raise BadRequestError(f"limit must be between 1 and {MAX_PAGE}")
    return value


class AlertQueries:
    def __init__(self, store: AlertStore) -> None:
        self.store = store

    def list_alerts(self, q: ListQuery) -> PageOut:
        page = self.store.list_alerts(
            status=_enum_value("status", q.status, AlertStatus),
            severity=_enum_value("severity", q.severity, Severity),
            source=q.source or None, since=parse_since(q.since), limit=parse_limit(q.limit), next_token=q.next_token,
        )
        items = [_alert_summary(a) for a in page.items]
        return PageOut(items=items, next_token=page.next_token, count=len(items))

    def get_alert(self, alert_id: str) -> AlertDetail:
        alert = self.store.get_alert(alert_id)
        if alert is None:
            raise NotFoundError(f"no alert with id {alert_id!r}")
        return AlertDetail(alert=alert, history=self.store.alert_history(alert_id))

    def list_rejected(self, limit: int, next_token: str | None) -> PageOut:
        page = self.store.list_rejected(limit=parse_limit(limit), next_token=next_token)
        items = [r.model_dump(mode="json", exclude={"body"}) for r in page.items]
        return PageOut(items=items, next_token=page.next_token, count=len(items))

    def get_rejected(self, rejected_id: str) -> RejectedPayload:
        found = self.store.get_rejected(rejected_id)
        if found is None:
            raise NotFoundError(f"no rejected payload with id {rejected_id!r}")
        return found


def _alert_summary(alert: Alert) -> dict[str, Any]:
    return alert.model_dump(mode="json", exclude={"raw_payload", "content_hash"})


class IncidentManager:
    def __init__(self, store: AlertStore) -> None:
        self.store = store

    def list(self, q: ListQuery) -> PageOut:
        page = self.store.list_incidents(
            status=_enum_value("status", q.status, IncidentStatus),
            severity=_enum_value("severity", q.severity, Severity),
            since=parse_since(q.since), limit=parse_limit(q.limit), next_token=q.next_token,
        )
        items = [i.model_dump(mode="json") for i in page.items]
        return PageOut(items=items, next_token=page.next_token, count=len(items))

    def get(self, incident_id: str) -> IncidentDetail:
        incident = self.store.get_incident(incident_id)
        if incident is None:
            raise NotFoundError(f"no incident with id {incident_id!r}")
        return IncidentDetail(incident=incident, alerts=self.store.incident_alerts(incident_id),
                              notes=self.store.incident_notes(incident_id))

    def transition(self, incident_id: str, action: str, by: str = "", note: str = "") -> Incident:
        if action not in _TRANSITIONS:
            raise NotFoundError(f"unknown incident action {action!r}: use acknowledge, resolve or close")
        target, allowed, stamp = _TRANSITIONS[action]
        # Everything is checked before anything is written: a 4xx changes nothing.
        by = _by(by)
        new_note = IncidentNote(id=new_id("note"), incident_id=incident_id, text=_note_text(note), by=by) \
            if note and note.strip() else None
        changes: dict[str, Any] = {"status": target.value}
        if stamp:
            changes[stamp] = iso(utcnow())
        if by:
            changes[f"{target.value}_by"] = by
        try:
            incident = self.store.transition_incident(incident_id, allowed, changes, new_note)
        except ConditionFailed:
            current = self.store.get_incident(incident_id)
            if current is None:
                raise NotFoundError(f"no incident with id {incident_id!r}") from None
            raise ConflictError(
                f"cannot {action} an incident that is {current.status.value}; "
                f"{action} applies to {', '.join(sorted(s.value for s in allowed))} incidents",
                details={"status": current.status.value},
            ) from None
        return incident

    def add_note(self, incident_id: str, text: str, by: str = "") -> NoteAdded:
        note = IncidentNote(id=new_id("note"), incident_id=incident_id, text=_note_text(text), by=_by(by))
        try:
            incident = self.store.add_incident_note(note)
        except ConditionFailed:
            raise NotFoundError(f"no incident with id {incident_id!r}") from None
        return NoteAdded(note=note, incident=incident)


def _note_text(text: str | None) -> str:
    text = clean_text(text or "").strip()
    if not text:
        raise BadRequestError("a note needs non-empty 'text'")
    if len(text) > MAX_NOTE_CHARS:
        raise BadRequestError(f"a note is limited to {MAX_NOTE_CHARS} characters; this one has {len(text)}")
    return text


def _by(by: str | None) -> str:
    by = clean_text(by or "").strip()
    if len(by) > MAX_BY_CHARS:
        raise BadRequestError(f"'by' is limited to {MAX_BY_CHARS} characters")
    return by
