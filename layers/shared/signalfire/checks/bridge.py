"""CheckAlertBridge (seed): check results become alerts through the same
ingest path as webhooks (dedup, incidents, runs).

- a WARNING or CRITICAL result fires (or updates) the alert of source
  ``agent`` with fingerprint ``<host>:<checker>``; a later OK resolves it;
  UNKNOWN changes nothing (the checker could not tell);
- the alert's name, description and labels stay the same from one batch to
  the next (the live message and metrics are in the CheckRun and in the raw
  payload, which dedup does not compare), so a host that stays CRITICAL
  costs one read per batch and starts no new run;
- all of one host's alerts share one incident group (``host:<host>``);
- ``HostSilent`` (fingerprint ``<host>:host_silent``) is raised by the
  silent-host sweep and resolved when the host reports again.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import Field

from signalfire.alerts.hosts import host_key
from signalfire.alerts.ingest import IngestOutcome, IngestService
from signalfire.alerts.models import AlertStatus, ParsedAlert, ParsedPayload, Severity
from signalfire.checks.models import CheckRun, CheckStatus
from signalfire.ids import alert_id
from signalfire.models import Model

SOURCE = "agent"
HOST_SILENT = "HostSilent"


class RunStarter(Protocol):
    def start_for(self, outcome: IngestOutcome) -> list[str]: ...


class BridgeOutcome(Model):
    #: checker -> alert id, for the checkers whose alert is firing after this batch
    alerting: dict[str, str] = Field(default_factory=dict)
    alerts: list[dict[str, Any]] = Field(default_factory=list)
    run_ids: list[str] = Field(default_factory=list)


def check_fingerprint(hostname: str, checker: str) -> str:
    return f"{host_key(hostname)}:{checker}"


def _labels(hostname: str, **extra: str) -> dict[str, str]:
    return {"host": hostname, "hostname": hostname, "source": SOURCE, **extra}


class CheckAlertBridge:
    def __init__(self, ingest: IngestService, runs: RunStarter | None = None) -> None:
        self.ingest = ingest
        self.runs = runs

    def alert_id_for(self, hostname: str, checker: str) -> str:
        return alert_id(SOURCE, check_fingerprint(hostname, checker))

    def _alert(self, hostname: str, run: CheckRun, status: AlertStatus) -> ParsedAlert:
        return ParsedAlert(
            fingerprint=check_fingerprint(hostname, run.checker_name),
            name=f"{run.checker_name} check on {hostname}",
            status=status,
            severity=Severity.CRITICAL if run.status is CheckStatus.CRITICAL else Severity.WARNING,
            description=f"The {run.checker_name} check on {hostname} is {run.status.value}.",
            labels=_labels(hostname, checker=run.checker_name, alertname=f"check_{run.checker_name}"),
            started_at=run.executed_at, ended_at=run.executed_at if status is AlertStatus.RESOLVED else None,
            raw_payload=run.model_dump(mode="json"),
        )

    def apply(self, hostname: str, results: list[CheckRun], alerting: dict[str, str]) -> BridgeOutcome:
        """Fire, update or resolve the alerts ``results`` call for."""
        out = BridgeOutcome(alerting=dict(alerting))
        parsed: list[ParsedAlert] = []
        for run in results:
            if run.status.has_issue:
                parsed.append(self._alert(hostname, run, AlertStatus.FIRING))
                out.alerting[run.checker_name] = self.alert_id_for(hostname, run.checker_name)
            elif run.status is CheckStatus.OK and run.checker_name in alerting:
                parsed.append(self._alert(hostname, run, AlertStatus.RESOLVED))
                out.alerting.pop(run.checker_name, None)
        if parsed:
            self._ingest(hostname, parsed, out)
        return out

    def host_silent(self, hostname: str, age_seconds: float, limit_seconds: float, interval: float) -> BridgeOutcome:
        alert = ParsedAlert(
            fingerprint=f"{host_key(hostname)}:host_silent", name=f"{HOST_SILENT}: {hostname}",
            status=AlertStatus.FIRING, severity=Severity.CRITICAL,
            description=(f"{hostname} has not reported for {age_seconds:.0f}s; it reports every {interval:g}s "
                         f"and is called silent after {limit_seconds:g}s."),
            labels=_labels(hostname, alertname=HOST_SILENT),
            raw_payload={"hostname": hostname, "age_seconds": age_seconds, "limit_seconds": limit_seconds},
        )
        out = BridgeOutcome()
        self._ingest(hostname, [alert], out)
        return out

    def host_reported(self, hostname: str) -> BridgeOutcome:
        alert = ParsedAlert(
            fingerprint=f"{host_key(hostname)}:host_silent", name=f"{HOST_SILENT}: {hostname}",
            status=AlertStatus.RESOLVED, severity=Severity.CRITICAL,
            description=f"{hostname} reports again.", labels=_labels(hostname, alertname=HOST_SILENT),
        )
        out = BridgeOutcome()
        self._ingest(hostname, [alert], out)
        return out

    def silent_alert_id(self, hostname: str) -> str:
        return alert_id(SOURCE, f"{host_key(hostname)}:host_silent")

    def _ingest(self, hostname: str, parsed: list[ParsedAlert], out: BridgeOutcome) -> None:
        payload = ParsedPayload(alerts=parsed, source=SOURCE, group_key=f"host:{host_key(hostname)}")
        outcome = self.ingest.process(payload)
        out.alerts += [a.model_dump(mode="json") for a in outcome.alerts]
        if self.runs is not None:
            out.run_ids += self.runs.start_for(outcome)
