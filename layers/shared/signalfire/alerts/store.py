"""The alert store interface: what ingest, incidents and queries need from
storage.  The DynamoDB implementation is :mod:`signalfire.alerts.dynamo`."""

from __future__ import annotations

import abc
from typing import Any

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
from signalfire.store.dynamo import Page


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
    def create_alert(self, alert: Alert, history: AlertHistory, incident: Incident | None) -> None:
        """Create ``alert`` (ConditionFailed if it exists) and link it to ``incident``."""

    @abc.abstractmethod
    def update_alert(self, alert: Alert, expected_version: int, history: AlertHistory,
                     attach_to: Incident | None, firing_delta: dict[str, int]) -> None:
        """Replace the alert if its version is still ``expected_version`` (else
        ConditionFailed); ``firing_delta`` maps incident ids to a change of
        their firing-alert count."""

    @abc.abstractmethod
    def get_incident(self, incident_id: str) -> Incident | None: ...

    @abc.abstractmethod
    def open_incident_for_group(self, candidate: Incident) -> tuple[Incident, bool]:
        """The open incident of ``candidate.group_id``, creating ``candidate`` if
        there is none.  Returns (incident, created)."""

    @abc.abstractmethod
    def escalate_incident(self, incident_id: str, severity: Severity) -> bool:
        """Raise the incident's severity if ``severity`` is higher.  True if raised."""

    @abc.abstractmethod
    def resolve_incident_if_clear(self, incident_id: str) -> Incident | None:
        """Resolve an open incident that has no firing alert left."""

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
    def incident_alerts(self, incident_id: str) -> list[Alert]: ...

    @abc.abstractmethod
    def record_rejected(self, rejected_id: str, reason: str, status_code: int, body: bytes, *,
                        driver: str, path: str, content_type: str) -> None: ...

    @abc.abstractmethod
    def list_rejected(self, *, limit: int, next_token: str | None) -> Page: ...

    @abc.abstractmethod
    def get_rejected(self, rejected_id: str) -> RejectedPayload | None: ...
