"""The alert domain model.  A leaf: imports nothing else from signalfire
except time helpers, so drivers, stores and stages can all depend on it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import ConfigDict, Field, field_validator

from signalfire.models import Model
from signalfire.text import clean_json, clean_text, truncate_utf8
from signalfire.timeutil import utcnow

#: A description longer than this (UTF-8 bytes) is stored cut, with a note;
#: the whole text stays in the raw payload.  Keeps an alert inside DynamoDB's
#: 400 KB item together with its raw payload (docs/aws-fidelity.md).
MAX_DESCRIPTION_BYTES = 32 * 1024


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"critical": 3, "warning": 2, "info": 1}[self.value]


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class IncidentStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    CLOSED = "closed"


# Vocabulary shared by every driver; vendor-specific words are mapped in the
# driver itself (see docs/drivers.md for the full table).
_SEVERITY_WORDS: dict[str, Severity] = {
    "critical": Severity.CRITICAL, "crit": Severity.CRITICAL, "fatal": Severity.CRITICAL,
    "error": Severity.CRITICAL, "high": Severity.CRITICAL, "disaster": Severity.CRITICAL,
    "emergency": Severity.CRITICAL, "page": Severity.CRITICAL, "p1": Severity.CRITICAL, "p2": Severity.CRITICAL,
    "warning": Severity.WARNING, "warn": Severity.WARNING, "medium": Severity.WARNING,
    "average": Severity.WARNING, "major": Severity.WARNING, "minor": Severity.WARNING, "p3": Severity.WARNING,
    "info": Severity.INFO, "information": Severity.INFO, "informational": Severity.INFO,
    "low": Severity.INFO, "notice": Severity.INFO, "debug": Severity.INFO, "ok": Severity.INFO,
    "none": Severity.INFO, "not classified": Severity.INFO, "p4": Severity.INFO, "p5": Severity.INFO,
}

#: The generic driver's status vocabulary (the union of the words monitoring
#: tools use).  Vendor drivers map their own documented words; nothing maps an
#: unknown word to firing (docs/drivers.md, "Status vocabulary").
STATUS_WORDS: dict[str, AlertStatus] = {
    "firing": AlertStatus.FIRING, "alerting": AlertStatus.FIRING, "alert": AlertStatus.FIRING,
    "triggered": AlertStatus.FIRING, "trigger": AlertStatus.FIRING, "open": AlertStatus.FIRING,
    "problem": AlertStatus.FIRING, "active": AlertStatus.FIRING, "activated": AlertStatus.FIRING,
    "critical": AlertStatus.FIRING, "warning": AlertStatus.FIRING, "error": AlertStatus.FIRING,
    "acknowledged": AlertStatus.FIRING, "created": AlertStatus.FIRING, "pending": AlertStatus.FIRING,
    "resolved": AlertStatus.RESOLVED, "ok": AlertStatus.RESOLVED, "recovered": AlertStatus.RESOLVED,
    "recovery": AlertStatus.RESOLVED, "closed": AlertStatus.RESOLVED, "normal": AlertStatus.RESOLVED,
    "inactive": AlertStatus.RESOLVED, "close": AlertStatus.RESOLVED, "deleted": AlertStatus.RESOLVED,
    "cleared": AlertStatus.RESOLVED, "clear": AlertStatus.RESOLVED,
}


def normalize_severity(value: Any, default: Severity = Severity.WARNING) -> Severity:
    """Map a severity word from any vocabulary onto critical / warning / info."""
    if isinstance(value, Severity):
        return value
    if value is None:
        return default
    return _SEVERITY_WORDS.get(str(value).strip().lower(), default)


def normalize_status(value: Any) -> AlertStatus:
    """Map a word of :data:`STATUS_WORDS` onto firing / resolved; ValueError
    names the accepted words for anything else (never a silent "firing")."""
    if isinstance(value, AlertStatus):
        return value
    word = str(value).strip().lower() if value is not None else ""
    if word not in STATUS_WORDS:
        raise ValueError(f"unknown status {value!r}: use one of {', '.join(STATUS_WORDS)}")
    return STATUS_WORDS[word]


def _stringify(mapping: Any) -> dict[str, str]:
    if not isinstance(mapping, dict):
        return {}
    out: dict[str, str] = {}
    for key, val in mapping.items():
        if val is None:
            continue
        out[clean_text(str(key))] = clean_text(val if isinstance(val, str) else str(val))
    return out


class ParsedAlert(Model):
    """One alert in the standard form every driver produces (seed: ParsedAlert)."""

    model_config = ConfigDict(extra="forbid")

    fingerprint: str = Field(min_length=1, max_length=512)
    name: str = Field(min_length=1, max_length=1024)
    status: AlertStatus
    started_at: datetime = Field(default_factory=utcnow)
    severity: Severity = Severity.WARNING
    description: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    ended_at: datetime | None = None
    raw_payload: dict[str, Any] = Field(default_factory=dict)

    @field_validator("status", mode="before")
    @classmethod
    def _norm_status(cls, v: Any) -> AlertStatus:
        return normalize_status(v)

    @field_validator("severity", mode="before")
    @classmethod
    def _norm_severity(cls, v: Any) -> Severity:
        return normalize_severity(v)

    @field_validator("labels", "annotations", mode="before")
    @classmethod
    def _str_map(cls, v: Any) -> dict[str, str]:
        return _stringify(v)

    @field_validator("description", mode="before")
    @classmethod
    def _desc(cls, v: Any) -> str:
        return "" if v is None else truncate_utf8(clean_text(str(v)), MAX_DESCRIPTION_BYTES)

    @field_validator("raw_payload", mode="after")
    @classmethod
    def _raw(cls, v: dict[str, Any]) -> dict[str, Any]:
        return clean_json(v)  # type: ignore[no-any-return]

    @field_validator("fingerprint", "name", mode="before")
    @classmethod
    def _text(cls, v: Any) -> Any:
        return clean_text(v) if isinstance(v, str) else v

    @property
    def is_firing(self) -> bool:
        return self.status == AlertStatus.FIRING


class ParsedPayload(Model):
    """Everything a driver read from one webhook (seed: ParsedPayload)."""

    alerts: list[ParsedAlert]
    source: str
    version: str = ""
    group_key: str = ""
    receiver: str = ""
    external_url: str = ""
    raw_payload: dict[str, Any] = Field(default_factory=dict)


class ProcessingResult(Model):
    """Counts from one ingest (seed: ProcessingResult)."""

    alerts_created: int = 0
    alerts_updated: int = 0
    alerts_resolved: int = 0
    alerts_unchanged: int = 0
    incidents_created: int = 0
    incidents_updated: int = 0
    incidents_resolved: int = 0
    errors: list[str] = Field(default_factory=list)

    @property
    def total_processed(self) -> int:
        return self.alerts_created + self.alerts_updated + self.alerts_resolved + self.alerts_unchanged

    @property
    def has_errors(self) -> bool:
        return bool(self.errors)


# --- stored records -----------------------------------------------------------------


class HistoryEvent(StrEnum):
    CREATED = "created"
    RESOLVED = "resolved"
    REFIRED = "refired"
    ESCALATED = "escalated"
    DEESCALATED = "deescalated"
    UPDATED = "updated"
    #: still firing after its incident was closed by hand: joined a new incident
    REOPENED = "reopened"


class Alert(Model):
    """A deduplicated alert: one per (source, fingerprint) (seed: Alert)."""

    id: str
    fingerprint: str
    source: str
    name: str
    severity: Severity
    status: AlertStatus
    description: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    raw_payload: dict[str, Any] = Field(default_factory=dict)
    started_at: datetime
    ended_at: datetime | None = None
    received_at: datetime
    updated_at: datetime
    incident_id: str | None = None
    group_key: str = ""
    content_hash: str = ""
    version: int = 1
    #: Runs decided by a change of this alert and not yet started (written in
    #: the same transaction as the change; a redelivery starts them).
    owed_runs: list[str] = Field(default_factory=list)
    #: Set while the alert fires inside an incident someone resolved or closed
    #: by hand: it opens a new incident on its next escalation or after the quiet period.
    incident_closed_at: datetime | None = None

    @property
    def is_firing(self) -> bool:
        return self.status == AlertStatus.FIRING

    @property
    def duration_seconds(self) -> float:
        end = self.ended_at or utcnow()
        return max(0.0, (end - self.started_at).total_seconds())


class AlertHistory(Model):
    """One state change of an alert (seed: AlertHistory)."""

    alert_id: str
    event: HistoryEvent
    old_status: str = ""
    new_status: str = ""
    details: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime = Field(default_factory=utcnow)


class Incident(Model):
    """Related firing alerts and their lifecycle (seed: Incident)."""

    id: str
    title: str
    status: IncidentStatus = IncidentStatus.OPEN
    severity: Severity = Severity.WARNING
    description: str = ""
    summary: str = ""
    source: str = ""
    group_key: str = ""
    group_id: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    #: Who acknowledged / resolved / closed it (the ``by`` of the API action;
    #: ``signalfire`` when its last alert resolved).
    acknowledged_by: str = ""
    resolved_by: str = ""
    closed_by: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)
    alert_count: int = 0
    firing_alert_count: int = 0
    #: Notes are items of their own (never a growing list inside this one):
    #: GET /incidents/{id} lists them; this counts them.
    note_count: int = 0
    #: Times an alert raised its severity (each one owes a run).
    escalation_count: int = 0

    @property
    def is_open(self) -> bool:
        return self.status in (IncidentStatus.OPEN, IncidentStatus.ACKNOWLEDGED)

    @property
    def is_resolved(self) -> bool:
        return self.status in (IncidentStatus.RESOLVED, IncidentStatus.CLOSED)


#: Limits of an incident note, checked before anything is written.
MAX_NOTE_CHARS = 10_000
MAX_BY_CHARS = 256


class IncidentNote(Model):
    """A note on an incident (seed: notes in Incident.metadata), stored as an
    item of its own so an incident never outgrows DynamoDB's 400 KB item."""

    id: str
    incident_id: str
    text: str
    by: str = ""
    at: datetime = Field(default_factory=utcnow)


class RejectedPayload(Model):
    """A webhook body we could not accept, kept with the reason for replay."""

    id: str
    reason: str
    status_code: int
    driver: str = ""
    path: str = ""
    content_type: str = ""
    body: str = ""
    body_bytes: int = 0
    body_truncated: bool = False
    count: int = 1
    first_seen: datetime
    last_seen: datetime
