"""The alert store interface: what ingest, incidents and queries need from
storage.  The DynamoDB implementation is :mod:`signalfire.alerts.dynamo`."""

from __future__ import annotations

import abc
from typing import Any

from pydantic import ConfigDict, Field

from signalfire.alerts.models import (
    Alert,
    AlertHistory,
    Incident,
    IncidentNote,
    IncidentStatus,
    ParsedPayload,
    RejectedPayload,
    Severity,
)
from signalfire.models import Model
from signalfire.runs.models import PipelineRun
from signalfire.store.dynamo import Page


class JoinIncident(Model):
    """The incident an alert joins: a new one (``created``, replacing the
    group's stale pointer ``replaces``) or an open one (then conditional on it
    still being open, and on its severity still being ``escalate_from`` when
    the alert raises it)."""

    incident: Incident
    created: bool = False
    replaces: str | None = None
    new_link: bool = True  # False when an alert fires again inside its own open incident
    escalate_from: Severity | None = None
    escalate_to: Severity | None = None


class LeaveIncident(Model):
    """A firing alert stops counting for its incident.  ``resolve``: it was
    the last one firing, so the incident resolves (conditional on that)."""

    incident_id: str
    resolve: bool = False
    group_id: str = ""  # the group pointer to free when it resolves


class EscalateIncident(Model):
    incident_id: str
    from_severity: Severity
    to_severity: Severity


class AlertWrite(Model):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    alert: Alert
    expected_version: int | None = None  # None: create
    history: AlertHistory
    join: JoinIncident | None = None
    leave: LeaveIncident | None = None
    escalate: EscalateIncident | None = None
    #: run records this change decides: PENDING ones are owed (listed in the
    #: alert's ``owed_runs``), INGESTED ones the webhook starts at once
    #: (runs/launcher.py, docs/reliability.md)
    runs: list[PipelineRun] = Field(default_factory=list)


class AlertStore(abc.ABC):
    """What the ingest and query services need from storage."""

    @abc.abstractmethod
    def get_alert(self, alert_id: str) -> Alert | None: ...

    @abc.abstractmethod
    def check_storable(self, parsed: ParsedPayload) -> None:
        """Raise a 4xx if an alert of ``parsed`` could not be stored, before
        anything is written (a 4xx changes nothing)."""

    @abc.abstractmethod
    def get_alerts(self, alert_ids: list[str]) -> dict[str, Alert]:
        """Several alerts in one round trip (consistent), by id."""

    @abc.abstractmethod
    def write_alert(self, write: AlertWrite) -> None:
        """Apply one alert change and everything it decides in ONE transaction:
        the alert (created, or replaced if its version is still
        ``write.expected_version``), its history event, the incident it joins,
        leaves or escalates (each conditional on that incident's status, so an
        alert never joins an incident resolved meanwhile) and the runs it owes.
        ConditionFailed when any condition lost a race: re-read and decide again."""

    @abc.abstractmethod
    def group_pointer(self, group_id: str) -> str | None:
        """The id of the incident a group's ``OPEN`` pointer names (it may have
        been resolved meanwhile), or None."""

    @abc.abstractmethod
    def get_incident(self, incident_id: str) -> Incident | None: ...

    @abc.abstractmethod
    def clear_owed_runs(self, alert_id: str, version: int) -> None:
        """Forget the alert's owed runs (they started) unless it changed since ``version``."""

    @abc.abstractmethod
    def owe_runs(self, alert_id: str, run_ids: list[str]) -> None:
        """Add ``run_ids`` to the alert's owed runs (runs its webhook could not start)."""

    @abc.abstractmethod
    def mark_closed_by_hand(self, incident_id: str, at: str) -> int:
        """Stamp ``incident_closed_at`` on the incident's firing alerts; returns how many."""

    @abc.abstractmethod
    def transition_incident(self, incident_id: str, allowed_from: set[IncidentStatus],
                            changes: dict[str, Any], note: IncidentNote | None = None) -> Incident:
        """Apply ``changes`` (and add ``note``) in one atomic write if the status
        is in ``allowed_from`` (ConditionFailed otherwise: nothing written)."""

    @abc.abstractmethod
    def add_incident_note(self, note: IncidentNote) -> Incident:
        """Store ``note`` as an item of its own (ConditionFailed if the incident
        does not exist); returns the incident with its new note count."""

    @abc.abstractmethod
    def incident_notes(self, incident_id: str, limit: int = 100) -> list[IncidentNote]:
        """The incident's notes, oldest first."""

    @abc.abstractmethod
    def list_alerts(self, *, status: str | None, severity: str | None, source: str | None,
                    since: str | None, limit: int, next_token: str | None) -> Page: ...

    @abc.abstractmethod
    def alert_history(self, alert_id: str, limit: int = 100) -> list[AlertHistory]: ...

    @abc.abstractmethod
    def list_incidents(self, *, status: str | None, severity: str | None, since: str | None,
                       limit: int, next_token: str | None) -> Page: ...

    @abc.abstractmethod
    def incident_context(self, incident_id: str, also: list[tuple[str, str]] | None = None,
                         ) -> tuple[Incident | None, list[Alert], dict[tuple[str, str], dict[str, Any]]]:
        """The incident, its alerts, and the raw items at the keys ``also``, read together."""

    @abc.abstractmethod
    def incident_alerts(self, incident_id: str) -> list[Alert]: ...

    @abc.abstractmethod
    def record_rejected(self, rejected_id: str, reason: str, status_code: int, body: bytes, *,
                        driver: str, path: str, content_type: str) -> None: ...

    @abc.abstractmethod
    def list_rejected(self, *, limit: int, next_token: str | None) -> Page: ...

    @abc.abstractmethod
    def get_rejected(self, rejected_id: str) -> RejectedPayload | None: ...
