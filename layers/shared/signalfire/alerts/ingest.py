"""Ingest: turn a parsed webhook into deduplicated alerts and incidents
(seed: AlertOrchestrator.process_webhook).

Per alert the flow is read -> decide -> one transaction (the alert, its
history, the incident it joins/leaves/escalates -- each conditional on that
incident's status -- and the runs the change decides); a lost race
re-reads and decides again, so 50 identical deliveries arriving at once give
one alert and one incident, and an alert never joins an incident that was
resolved meanwhile.  An alert that comes back unchanged costs one consistent
read and no write, and is reported as ``unchanged``: it owes no new run (but
carries any run an earlier delivery left owed).  docs/reliability.md.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from enum import StrEnum
from typing import Any

from pydantic import Field

from signalfire.alerts.models import (
    Alert,
    AlertHistory,
    AlertStatus,
    HistoryEvent,
    Incident,
    ParsedAlert,
    ParsedPayload,
    ProcessingResult,
    Severity,
)
from signalfire.alerts.store import AlertStore, AlertWrite, EscalateIncident, JoinIncident, LeaveIncident
from signalfire.errors import ConcurrentUpdateError
from signalfire.ids import alert_id, group_id, new_id
from signalfire.models import Model
from signalfire.observability import logger
from signalfire.runs.models import PipelineRun, RunStatus
from signalfire.runs.store import output_ref
from signalfire.store.exceptions import ConditionFailed
from signalfire.timeutil import iso, utcnow

MAX_ATTEMPTS = 6


class IncidentEvent(StrEnum):
    CREATED = "created"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    UPDATED = "updated"


class AlertChange(Model):
    alert_id: str
    fingerprint: str
    name: str
    change: str  # a HistoryEvent value, or "unchanged"
    severity: str
    status: str
    incident_id: str | None = None


class IncidentChange(Model):
    incident_id: str
    event: IncidentEvent
    severity: str
    alert_fingerprint: str = ""
    run_id: str = ""  # the run this change owes (created / escalated / resolved)


class OwedRuns(Model):
    """Runs an alert owes (new ones and any a lost earlier delivery left):
    the launcher starts them, then clears them from the alert at ``version``."""

    alert_id: str
    version: int
    run_ids: list[str]


class RunPlan(Model):
    """How the runs a webhook owes are born when the webhook itself starts
    them (runs/launcher.py): with the pipeline's fields, and already
    INGESTED, in the alert's transaction (docs/cost.md, docs/reliability.md)."""

    pipeline_name: str
    #: pipeline_version, nodes, max_retries, environment: what the claim used to write
    fields: dict[str, Any] = Field(default_factory=dict)


class BornRun(Model):
    """A run this webhook's transaction wrote as INGESTED: the webhook starts it
    at once; if it cannot, the run becomes owed on ``alert_id``."""

    alert_id: str
    run: PipelineRun


class IngestOutcome(Model):
    """What one webhook did: the seed's counts plus the per-alert and
    per-incident changes, and the runs they owe."""

    source: str
    result: ProcessingResult = Field(default_factory=ProcessingResult)
    alerts: list[AlertChange] = Field(default_factory=list)
    incidents: list[IncidentChange] = Field(default_factory=list)
    #: PENDING runs the alerts owe (from an earlier delivery, or written owed by this one)
    owed: list[OwedRuns] = Field(default_factory=list)
    #: the PENDING run records this webhook's transactions wrote, as written: the
    #: launcher starts them without reading them back (docs/cost.md)
    written: dict[str, PipelineRun] = Field(default_factory=dict, exclude=True)
    #: runs born INGESTED (a RunPlan was given): the webhook starts them itself
    born: list[BornRun] = Field(default_factory=list, exclude=True)

    @property
    def owed_run_ids(self) -> list[str]:
        return list(dict.fromkeys(r for o in self.owed for r in o.run_ids))

    @property
    def born_run_ids(self) -> list[str]:
        return [b.run.run_id for b in self.born]


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
    """``quiet_period_seconds``: how long an alert that keeps firing after its
    incident was resolved or closed by hand stays quiet before it opens a new
    incident (an escalation opens one at once); docs/reliability.md."""

    def __init__(self, store: AlertStore, quiet_period_seconds: int = 14400) -> None:
        self.store = store
        self.quiet = timedelta(seconds=quiet_period_seconds)

    def process(self, parsed: ParsedPayload, pipeline: str = "", plan: RunPlan | None = None) -> IngestOutcome:
        """``pipeline``: the pipeline the runs this webhook owes will run.
        ``plan``: the caller starts them right after (the webhook): they are
        born INGESTED with the pipeline's fields and are not owed, so no other
        starter takes them and the launcher writes nothing after the start."""
        outcome = IngestOutcome(source=parsed.source)
        trace_id = logger.get_correlation_id() or new_id("tr")
        # One round trip for the whole group: a repeated group costs one read.
        known = self.store.get_alerts([alert_id(parsed.source, p.fingerprint) for p in parsed.alerts])
        for p in parsed.alerts:
            ctx = _Context(parsed, p, plan.pipeline_name if plan else pipeline, trace_id, plan)
            try:
                change = self._process_one(ctx, outcome, known.get(alert_id(parsed.source, p.fingerprint)))
            except ConditionFailed as exc:  # ran out of attempts against concurrent writers
                raise ConcurrentUpdateError(f"alert {p.fingerprint!r} kept changing underneath; retry") from exc
            outcome.alerts.append(change)
        return outcome

    def _process_one(self, ctx: _Context, outcome: IngestOutcome, prefetched: Alert | None) -> AlertChange:
        aid = alert_id(ctx.parsed.source, ctx.p.fingerprint)
        digest = content_hash(ctx.p)
        last_error: ConditionFailed | None = None
        for attempt in range(MAX_ATTEMPTS):
            # The prefetched read serves the first attempt; a lost race re-reads.
            existing = prefetched if attempt == 0 else self.store.get_alert(aid)
            try:
                if existing is not None and existing.content_hash == digest and not self._reopens(existing, ctx.p):
                    outcome.result.alerts_unchanged += 1
                    if existing.owed_runs:  # a delivery before this one stored them and did not start them
                        outcome.owed.append(OwedRuns(alert_id=aid, version=existing.version,
                                                     run_ids=existing.owed_runs))
                    return _change(existing, "unchanged")
                return self._write(ctx, aid, existing, digest, outcome)
            except ConditionFailed as exc:
                last_error = exc
                continue
        assert last_error is not None
        raise last_error

    def _reopens(self, alert: Alert, p: ParsedAlert) -> bool:
        """A firing alert whose incident was closed by hand opens a new one on
        its next escalation, or once the quiet period has passed."""
        if not (alert.is_firing and p.is_firing and alert.incident_closed_at):
            return False
        return p.severity.rank > alert.severity.rank or utcnow() - alert.incident_closed_at >= self.quiet

    # -- deciding and writing one change -------------------------------------------------

    def _plan_join(self, ctx: _Context) -> JoinIncident:
        """The group's open incident, or a new one (replacing a stale pointer)."""
        key = ctx.parsed.group_key or ctx.p.fingerprint
        gid = group_id(ctx.parsed.source, key)
        pointer = self.store.group_pointer(gid)
        if pointer:
            found = self.store.get_incident(pointer)
            if found is not None and found.is_open:
                if ctx.p.severity.rank > found.severity.rank:
                    return JoinIncident(incident=found, escalate_from=found.severity, escalate_to=ctx.p.severity)
                return JoinIncident(incident=found)
        candidate = Incident(id=new_id("inc"), title=ctx.p.name, severity=ctx.p.severity,
                             description=ctx.p.description, source=ctx.parsed.source, group_key=key, group_id=gid)
        return JoinIncident(incident=candidate, created=True, replaces=pointer)

    def _write(self, ctx: _Context, aid: str, old: Alert | None, digest: str,
               outcome: IngestOutcome) -> AlertChange:
        p, now = ctx.p, utcnow()
        join: JoinIncident | None = None
        leave: LeaveIncident | None = None
        escalate: EscalateIncident | None = None
        incident_id = old.incident_id if old else None
        closed_at = old.incident_closed_at if old else None
        if old is None:
            event = HistoryEvent.CREATED
            join = self._plan_join(ctx) if p.is_firing else None
        elif old.is_firing and not p.is_firing:
            event = HistoryEvent.RESOLVED
            closed_at = None
            if incident_id:
                current = self.store.get_incident(incident_id)
                last = current is not None and current.is_open and current.firing_alert_count <= 1
                leave = LeaveIncident(incident_id=incident_id, resolve=last,
                                      group_id=current.group_id if current else "")
        elif not old.is_firing and p.is_firing:
            event = HistoryEvent.REFIRED
            join = self._plan_join(ctx)
            if join.incident.id == old.incident_id:
                join.new_link = False
        elif p.is_firing and self._reopens(old, p):
            event = HistoryEvent.REOPENED
            closed_at = None
            if incident_id:
                leave = LeaveIncident(incident_id=incident_id)  # a count on the hand-closed incident
            join = self._plan_join(ctx)
        else:
            event = _severity_event(old.severity, p.severity)
            if event == HistoryEvent.ESCALATED and p.is_firing and incident_id and not closed_at:
                current = self.store.get_incident(incident_id)
                if current is not None and current.is_open and current.severity.rank < p.severity.rank:
                    escalate = EscalateIncident(incident_id=incident_id, from_severity=current.severity,
                                                to_severity=p.severity)
        if join is not None:
            incident_id = join.incident.id
        changes = self._incident_changes(p, join, leave, escalate)
        runs = [ctx.run(c) for c in changes]
        owed = [r for r in runs if r.status == RunStatus.PENDING]  # born INGESTED ones are not owed
        owed_ids = list(dict.fromkeys([*(old.owed_runs if old else []), *(r.run_id for r in owed)]))
        common: dict[str, Any] = {
            "name": p.name, "severity": p.severity, "status": p.status, "description": p.description,
            "labels": p.labels, "annotations": p.annotations, "raw_payload": p.raw_payload,
            "updated_at": now, "incident_id": incident_id, "content_hash": digest,
            "owed_runs": owed_ids, "incident_closed_at": closed_at,
        }
        if old is None:
            alert = Alert(id=aid, fingerprint=p.fingerprint, source=ctx.parsed.source, started_at=p.started_at,
                          ended_at=p.ended_at, received_at=now, group_key=ctx.parsed.group_key or p.fingerprint,
                          version=1, **common)
            history = AlertHistory(alert_id=aid, event=event, new_status=p.status.value,
                                   details={"severity": p.severity.value, "incident_id": incident_id})
        else:
            alert = old.model_copy(update={
                **common,
                "started_at": p.started_at if event == HistoryEvent.REFIRED else old.started_at,
                "ended_at": (p.ended_at or now) if not p.is_firing else None,
                "version": old.version + 1,
            })
            history = AlertHistory(
                alert_id=aid, event=event, old_status=old.status.value, new_status=p.status.value,
                details={"old_severity": old.severity.value, "new_severity": p.severity.value,
                         "incident_id": incident_id},
            )
        self.store.write_alert(AlertWrite(alert=alert, expected_version=old.version if old else None,
                                          history=history, join=join, leave=leave, escalate=escalate, runs=runs))
        # Written: only now does the outcome say so (a lost race left no trace).
        self._count(outcome, old, event, join, changes)
        outcome.written.update((run.run_id, run) for run in owed)
        outcome.born += [BornRun(alert_id=aid, run=run) for run in runs if run.status == RunStatus.INGESTED]
        if owed_ids:
            outcome.owed.append(OwedRuns(alert_id=aid, version=alert.version, run_ids=owed_ids))
        return _change(alert, event.value)

    @staticmethod
    def _incident_changes(p: ParsedAlert, join: JoinIncident | None, leave: LeaveIncident | None,
                          escalate: EscalateIncident | None) -> list[IncidentChange]:
        found = []
        if join is not None and join.created:
            found.append(IncidentChange(incident_id=join.incident.id, event=IncidentEvent.CREATED,
                                        severity=p.severity.value, alert_fingerprint=p.fingerprint))
        if join is not None and join.escalate_to is not None:
            found.append(IncidentChange(incident_id=join.incident.id, event=IncidentEvent.ESCALATED,
                                        severity=join.escalate_to.value, alert_fingerprint=p.fingerprint))
        if escalate is not None:
            found.append(IncidentChange(incident_id=escalate.incident_id, event=IncidentEvent.ESCALATED,
                                        severity=escalate.to_severity.value, alert_fingerprint=p.fingerprint))
        if leave is not None and leave.resolve:
            found.append(IncidentChange(incident_id=leave.incident_id, event=IncidentEvent.RESOLVED,
                                        severity=p.severity.value, alert_fingerprint=p.fingerprint))
        for change in found:
            change.run_id = new_id("run")
        return found

    @staticmethod
    def _count(outcome: IngestOutcome, old: Alert | None, event: HistoryEvent, join: JoinIncident | None,
               changes: list[IncidentChange]) -> None:
        r = outcome.result
        if old is None:
            r.alerts_created += 1
        elif event == HistoryEvent.RESOLVED:
            r.alerts_resolved += 1
        else:
            r.alerts_updated += 1
        for change in changes:
            if change.event == IncidentEvent.CREATED:
                r.incidents_created += 1
            elif change.event == IncidentEvent.RESOLVED:
                r.incidents_resolved += 1
            else:
                r.incidents_updated += 1
        if join is not None and not join.created and join.escalate_to is None:
            r.incidents_updated += 1  # attached to an incident that already existed
        outcome.incidents += changes


class _Context:
    """One alert of one webhook, and what a run it owes records."""

    def __init__(self, parsed: ParsedPayload, p: ParsedAlert, pipeline: str, trace_id: str,
                 plan: RunPlan | None = None) -> None:
        self.parsed, self.p, self.pipeline, self.trace_id, self.plan = parsed, p, pipeline, trace_id, plan

    def run(self, change: IncidentChange) -> PipelineRun:
        now = utcnow()
        fields: dict[str, Any] = {"pipeline_name": self.pipeline}
        status = RunStatus.PENDING
        if self.plan is not None:  # the webhook starts it: born INGESTED, with its pipeline (docs/cost.md)
            fields.update(self.plan.fields, normalized_payload_ref=output_ref(change.run_id, "ingest"))
            status = RunStatus.INGESTED
        return PipelineRun(run_id=change.run_id, trace_id=self.trace_id, status=status,
                           incident_id=change.incident_id, source=self.parsed.source,
                           alert_fingerprint=self.p.fingerprint, trigger=change.event.value,
                           current_stage="INGEST", created_at=now, updated_at=now, **fields)


def _severity_event(old: Severity, new: Severity) -> HistoryEvent:
    if new.rank > old.rank:
        return HistoryEvent.ESCALATED
    if new.rank < old.rank:
        return HistoryEvent.DEESCALATED
    return HistoryEvent.UPDATED


def _change(alert: Alert, change: str) -> AlertChange:
    return AlertChange(alert_id=alert.id, fingerprint=alert.fingerprint, name=alert.name, change=change,
                       severity=alert.severity.value, status=alert.status.value, incident_id=alert.incident_id)
