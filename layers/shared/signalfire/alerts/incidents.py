"""Incident lifecycle and alert/incident queries (seed: IncidentManager,
AlertQueryService).

Lifecycle::

    open --acknowledge--> acknowledged --resolve--> resolved --close--> closed
      \\______________________resolve______________/          ^
       \\___________________________close______________________/

Any other transition answers 409.  Notes can be added in every state.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, Field
from pydantic.json_schema import SkipJsonSchema

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
from signalfire.models import Model
from signalfire.pagination import PageOut, PageQuery
from signalfire.store.exceptions import ConditionFailed
from signalfire.text import clean_text
from signalfire.timeutil import iso, parse_time, utcnow

M = TypeVar("M", bound=BaseModel)

_TRANSITIONS: dict[str, tuple[IncidentStatus, set[IncidentStatus], str | None]] = {
    "acknowledge": (IncidentStatus.ACKNOWLEDGED, {IncidentStatus.OPEN}, "acknowledged_at"),
    "resolve": (IncidentStatus.RESOLVED, {IncidentStatus.OPEN, IncidentStatus.ACKNOWLEDGED}, "resolved_at"),
    "close": (IncidentStatus.CLOSED,
              {IncidentStatus.OPEN, IncidentStatus.ACKNOWLEDGED, IncidentStatus.RESOLVED}, "closed_at"),
}


def _blank_is_none(value: Any) -> Any:
    return None if value == "" else value


#: ``?status=`` (empty) means no filter.
Blank = BeforeValidator(_blank_is_none)
Since = Annotated[str | None, Field(description="ISO-8601 time or epoch seconds: only items updated since")]


class AlertListQuery(PageQuery):
    status: Annotated[AlertStatus | None, Blank] = None
    severity: Annotated[Severity | None, Blank] = None
    source: str | None = None
    since: Since = None


class IncidentListQuery(PageQuery):
    status: Annotated[IncidentStatus | None, Blank] = None
    severity: Annotated[Severity | None, Blank] = None
    since: Since = None


class AlertSummary(Alert):
    """An alert as lists show it: without its raw payload and content hash."""

    raw_payload: SkipJsonSchema[dict[str, Any]] = Field(default_factory=dict, exclude=True)
    content_hash: SkipJsonSchema[str] = Field(default="", exclude=True)


class RejectedSummary(RejectedPayload):
    """A rejected payload as lists show it: without the body (``GET /alerts/rejected/<id>`` has it)."""

    body: SkipJsonSchema[str] = Field(default="", exclude=True)


class IncidentDetail(Model):
    incident: Incident
    alerts: list[Alert] = Field(default_factory=list)
    #: The first 100 notes, oldest first (``incident.note_count`` counts them all).
    notes: list[IncidentNote] = Field(default_factory=list)


class NoteAdded(Model):
    note: IncidentNote
    incident: Incident


class AlertDetail(Model):
    alert: Alert
    history: list[AlertHistory] = Field(default_factory=list)


def parse_since(value: str | None) -> str | None:
    if not value:
        return None
    parsed: datetime | None = parse_time(value)
    if parsed is None:
        raise BadRequestError(f"since={value!r} is not a time: use ISO-8601 (2026-01-31T12:00:00Z) or epoch seconds")
    return iso(parsed)


class AlertQueries:
    def __init__(self, store: AlertStore) -> None:
        self.store = store

    def list_alerts(self, q: AlertListQuery) -> PageOut[AlertSummary]:
        page = self.store.list_alerts(
            status=q.status.value if q.status else None, severity=q.severity.value if q.severity else None,
            source=q.source or None, since=parse_since(q.since), limit=q.limit, next_token=q.next_token,
        )
        return PageOut[AlertSummary].of(page, _summary(AlertSummary))

    def get_alert(self, alert_id: str) -> AlertDetail:
        alert = self.store.get_alert(alert_id)
        if alert is None:
            raise NotFoundError(f"no alert with id {alert_id!r}")
        return AlertDetail(alert=alert, history=self.store.alert_history(alert_id))

    def list_rejected(self, q: PageQuery) -> PageOut[RejectedSummary]:
        page = self.store.list_rejected(limit=q.limit, next_token=q.next_token)
        return PageOut[RejectedSummary].of(page, _summary(RejectedSummary))

    def get_rejected(self, rejected_id: str) -> RejectedPayload:
        found = self.store.get_rejected(rejected_id)
        if found is None:
            raise NotFoundError(f"no rejected payload with id {rejected_id!r}")
        return found


def _summary(model: type[M]) -> Callable[[BaseModel], M]:
    """Convert a stored record to its list view (which leaves fields out)."""
    return lambda record: model.model_validate(dict(record))


class IncidentManager:
    def __init__(self, store: AlertStore) -> None:
        self.store = store

    def list(self, q: IncidentListQuery) -> PageOut[Incident]:
        page = self.store.list_incidents(
            status=q.status.value if q.status else None, severity=q.severity.value if q.severity else None,
            since=parse_since(q.since), limit=q.limit, next_token=q.next_token,
        )
        return PageOut[Incident].of(page)

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
        if target in (IncidentStatus.RESOLVED, IncidentStatus.CLOSED):
            # Alerts still firing stay quiet until they escalate or the quiet period ends
            # (then they open a new incident): docs/reliability.md.
            self.store.mark_closed_by_hand(incident_id, str(changes.get(stamp or "") or iso(utcnow())))
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
