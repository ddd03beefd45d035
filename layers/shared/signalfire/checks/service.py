"""Agent check-ins (``POST /checks/``), the check listings, and the
silent-host sweep.

A check-in is: validate (a 4xx names the problem; the body is kept like a
rejected webhook) -> read the host -> a batch it already has is answered as
a duplicate -> keep the results, the snapshot and the CheckRuns -> the
bridge fires/resolves alerts -> the host record is written last, with its
version as the condition.  Every step before that last write is idempotent,
so a batch whose answer was lost (or that failed half-way with a 503) is
simply sent again by the agent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import Field, ValidationError

from signalfire.alerts.store import AlertStore
from signalfire.alerts.webhooks import parse_json_body, rejected_id
from signalfire.checks.bridge import CheckAlertBridge
from signalfire.checks.models import (
    CheckBatchIn,
    CheckInAccepted,
    CheckRun,
    CheckStatus,
    Host,
    HostDetail,
    HostSummary,
    worst,
)
from signalfire.checks.store import CheckStore
from signalfire.errors import (
    ConcurrentUpdateError,
    InvalidJSONError,
    NotFoundError,
    PayloadTooLargeError,
    PayloadValidationError,
    SignalfireError,
)
from signalfire.models import Model
from signalfire.observability import logger
from signalfire.pagination import PageOut
from signalfire.store.codec import to_dynamo
from signalfire.store.exceptions import ConditionFailed
from signalfire.timeutil import iso, parse_time, utcnow

MAX_ATTEMPTS = 5
#: batch ids remembered per host to answer a re-sent batch as a duplicate
RECENT_BATCHES = 50
#: a check-in body larger than this is refused (a batch is a few KB)
MAX_BATCH_BYTES = 256 * 1024
CHECKIN_PATH = "/checks/"


def _reason(exc: ValidationError) -> str:
    problems = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "body"
        problems.append(f"{where}: {err['msg']}")
    return "check batch refused: " + "; ".join(problems)


def parse_batch(body: bytes) -> CheckBatchIn:
    """The batch, or a 4xx that says what is wrong with it."""
    if len(body) > MAX_BATCH_BYTES:
        raise PayloadTooLargeError(f"check batch is {len(body)} bytes; the limit is {MAX_BATCH_BYTES}")
    if not body.strip():
        raise InvalidJSONError("empty body: send the agent's check batch as a JSON object")
    data = parse_json_body(body, "check batch")
    if not isinstance(data, dict):
        raise PayloadValidationError("check batch must be a JSON object")
    if data.get("schema_version") not in (None, 1) and isinstance(data.get("schema_version"), int):
        raise PayloadValidationError(
            f"check batch schema_version {data['schema_version']} is not supported (this server takes 1): "
            "upgrade the server or use a matching signalfire-agent")
    try:
        batch = CheckBatchIn.model_validate(data)
    except ValidationError as exc:
        raise PayloadValidationError(_reason(exc)) from None
    # refuse here, before any alert or write, what DynamoDB could not store (NaN, 33 levels deep, ...);
    # results are stored one level deeper than they arrive (inside the CheckRuns item's list)
    to_dynamo(data, level=2)
    return batch


def _newer(run: CheckRun, host: Host | None) -> bool:
    if host is None or run.checker_name not in host.latest_at:
        return True
    before = parse_time(host.latest_at[run.checker_name])
    return before is None or run.executed_at > before


class CheckInService:
    def __init__(self, store: CheckStore, alerts: AlertStore, bridge: CheckAlertBridge,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.alerts = alerts
        self.bridge = bridge
        self.clock = clock

    def receive(self, body: bytes, path: str = CHECKIN_PATH, content_type: str = "") -> CheckInAccepted:
        try:
            batch = parse_batch(body)
        except SignalfireError as exc:
            self._keep(body, path, content_type, exc)
            raise
        for _ in range(MAX_ATTEMPTS):
            try:
                return self._apply(batch)
            except ConditionFailed:  # the host changed underneath (a concurrent check-in): decide again
                continue
        raise ConcurrentUpdateError(f"host {batch.host.hostname!r} kept changing underneath; retry")

    def _apply(self, batch: CheckBatchIn) -> CheckInAccepted:
        hostname = batch.host.hostname
        host = self.store.get_host(hostname)
        if host is not None and batch.batch_id in host.recent_batch_ids:
            return CheckInAccepted(status="duplicate", batch_id=batch.batch_id, hostname=host.hostname)
        now = self.clock()
        runs = [CheckRun(id=f"cr_{batch.batch_id}_{r.checker_name}", hostname=hostname, trace_id=batch.trace_id,
                         batch_id=batch.batch_id, **r.model_dump()) for r in batch.results]
        latest = [r for r in runs if _newer(r, host)]
        outcome = self.bridge.apply(hostname, latest, host.alerting if host else {})
        for run in runs:
            if run.status.has_issue and run.checker_name in outcome.alerting:
                run.alert_id = outcome.alerting[run.checker_name]
        self.store.record_results(hostname, latest, runs, batch.snapshot if _fresh_snapshot(batch, host) else None,
                                  batch.collected_at, batch.batch_id)
        recovered = host is not None and host.silent
        alerts, run_ids = list(outcome.alerts), list(outcome.run_ids)
        if recovered and host is not None and host.silent_alert_id:
            back = self.bridge.host_reported(hostname)
            alerts += back.alerts
            run_ids += back.run_ids
        new = self._next_host(host, batch, latest, outcome.alerting, now)
        self.store.save_host(new, expected_version=host.version if host else 0)
        logger.info("check batch stored", extra={"hostname": hostname, "batch_id": batch.batch_id,
                                                 "checks": len(runs), "run_ids": run_ids, "recovered": recovered})
        return CheckInAccepted(status="accepted", batch_id=batch.batch_id, hostname=hostname, checks_stored=len(runs),
                               alerts=alerts, run_ids=run_ids, host_recovered=recovered)

    @staticmethod
    def _next_host(host: Host | None, batch: CheckBatchIn, latest: list[CheckRun], alerting: dict[str, str],
                   now: datetime) -> Host:
        statuses = dict(host.statuses) if host else {}
        latest_at = dict(host.latest_at) if host else {}
        for run in latest:
            statuses[run.checker_name] = run.status.value
            latest_at[run.checker_name] = iso(run.executed_at) or ""
        collected = max(batch.collected_at, host.last_collected_at) if host else batch.collected_at
        return Host(
            hostname=batch.host.hostname, first_seen=host.first_seen if host else now, last_seen=now,
            last_collected_at=collected, interval_seconds=batch.interval_seconds,
            status=worst([CheckStatus(s) for s in statuses.values()]).value,
            silent=False, silent_since=None, silent_alert_id=None, agent_version=batch.agent_version,
            identity=batch.host.model_dump(mode="json"),
            dropped_batches_total=(host.dropped_batches_total if host else 0) + batch.dropped_batches,
            batches_received=(host.batches_received if host else 0) + 1, alerting=alerting,
            latest_at=latest_at, statuses=statuses,
            recent_batch_ids=((host.recent_batch_ids if host else []) + [batch.batch_id])[-RECENT_BATCHES:],
            version=(host.version if host else 0) + 1,
        )

    def _keep(self, body: bytes, path: str, content_type: str, exc: SignalfireError) -> None:
        if exc.http_status >= 500:
            return
        try:
            self.alerts.record_rejected(rejected_id(path, body), exc.message, exc.http_status, body, driver="agent",
                                        path=path, content_type=content_type)
        except SignalfireError:
            logger.exception("could not keep a rejected check batch", extra={"reason": exc.message})


def _fresh_snapshot(batch: CheckBatchIn, host: Host | None) -> bool:
    """A snapshot from a batch older than what we have would go back in time."""
    return batch.snapshot is not None and (host is None or batch.collected_at >= host.last_collected_at)


# -- reading ------------------------------------------------------------------------------------------

class CheckListing(Model):
    """A page of check results (``GET /checks``), newest batch first."""

    items: list[dict[str, Any]] = Field(default_factory=list)
    next_token: str | None = None
    count: int = 0


class CheckQueries:
    #: pages of batches read at most per request when filters discard runs
    MAX_PAGES = 5

    def __init__(self, store: CheckStore, silent_multiple: float, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.silent_multiple = silent_multiple
        self.clock = clock

    def list_checks(self, *, hostname: str | None, checker: str | None, status: str | None, since: datetime | None,
                    limit: int, next_token: str | None) -> CheckListing:
        out: list[dict] = []
        token = next_token
        for _ in range(self.MAX_PAGES):
            page = self.store.list_batches(hostname=hostname, since=since, limit=max(1, limit // 2),
                                           next_token=token)
            for runs in page.items:
                out += [r.model_dump(mode="json") for r in runs
                        if (not checker or r.checker_name == checker) and (not status or r.status.value == status)]
            token = page.next_token
            if len(out) >= limit or not token:
                break
        return CheckListing(items=out, next_token=token, count=len(out))

    def is_stale(self, host: Host, now: datetime | None = None) -> tuple[bool, float]:
        age = ((now or self.clock()) - host.last_seen).total_seconds()
        return age > host.interval_seconds * self.silent_multiple, age

    def host(self, hostname: str) -> HostDetail:
        detail = self.store.host_detail(hostname)
        if detail is None:
            raise NotFoundError(f"no agent has reported as host {hostname!r}")
        detail.stale, detail.age_seconds = self.is_stale(detail.host)
        return detail

    def hosts(self, limit: int, next_token: str | None) -> PageOut[HostSummary]:
        return PageOut[HostSummary].of(self.store.list_hosts(limit=limit, next_token=next_token), self._summary)

    def _summary(self, h: Host) -> HostSummary:
        stale, age = self.is_stale(h)
        return HostSummary(hostname=h.hostname, last_seen=iso(h.last_seen), interval_seconds=h.interval_seconds,
                           status="silent" if h.silent else h.status, silent=h.silent, stale=stale,
                           age_seconds=round(age, 1), agent_version=h.agent_version,
                           checks=h.statuses, alerting=sorted(h.alerting))


# -- silent hosts (dead man's switch) -----------------------------------------------------------------

class SweepResult(Model):
    hosts_checked: int = 0
    went_silent: list[str] = Field(default_factory=list)
    run_ids: list[str] = Field(default_factory=list)


class SilentHostSweep:
    """Raise ``HostSilent`` for a host that has not reported within
    ``multiple`` x its interval; the check-in that follows resolves it."""

    def __init__(self, store: CheckStore, bridge: CheckAlertBridge, multiple: float,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.bridge = bridge
        self.multiple = multiple
        self.clock = clock

    def sweep(self) -> SweepResult:
        now = self.clock()
        result = SweepResult()
        for host in self.store.iter_hosts():
            result.hosts_checked += 1
            limit = host.interval_seconds * self.multiple
            age = (now - host.last_seen).total_seconds()
            if age <= limit or (host.silent and host.silent_alert_id):
                continue
            # mark first (conditionally: a host that reports meanwhile wins), then alert;
            # a failed alert leaves silent_alert_id empty and the next sweep tries again
            marked = host.model_copy(update={"silent": True, "silent_since": host.silent_since or now,
                                             "status": "silent", "version": host.version + 1})
            try:
                self.store.save_host(marked, expected_version=host.version)
            except ConditionFailed:
                continue
            out = self.bridge.host_silent(host.hostname, age, limit, host.interval_seconds)
            alerted = marked.model_copy(update={"silent_alert_id": self.bridge.silent_alert_id(host.hostname),
                                                "version": marked.version + 1})
            try:
                self.store.save_host(alerted, expected_version=marked.version)
            except ConditionFailed:
                # it reported in the meantime and that check-in saw no alert to resolve: resolve it here
                self.bridge.host_reported(host.hostname)
                continue
            result.went_silent.append(host.hostname)
            result.run_ids += out.run_ids
        logger.info("silent-host sweep", extra=json.loads(result.model_dump_json()))
        return result
