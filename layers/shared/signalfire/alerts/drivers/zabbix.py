"""Zabbix webhook media type.

A Zabbix webhook sends the parameters its media type defines, filled from
macros; we read the names the official media types and common guides use
(``EVENT.ID``-style names work too: keys are lower-cased and dots become
underscores): ``event_id`` {EVENT.ID}, ``trigger_id``, ``trigger_name``,
``trigger_severity``/``event_severity`` (names) or ``event_nseverity``/
``trigger_nseverity`` (0-5), ``event_value`` (1 problem / 0 recovery),
``trigger_status``/``event_status`` (PROBLEM/RESOLVED/OK), ``event_recovery_id``,
``event_update_status``, ``host``/``host_name``/``hostname``/``host_host``,
``host_ip``, ``event_date`` + ``event_time``, ``event_recovery_date`` +
``event_recovery_time``, ``item_value``, ``trigger_description``,
``event_tags``, ``event_opdata``, ``trigger_url``/``event_url``.

Macros Zabbix could not expand arrive literally (``{EVENT.RECOVERY.ID}``) or as
``*UNKNOWN*``; both count as absent.
"""

from __future__ import annotations

from typing import Any, ClassVar

from signalfire.alerts.drivers._common import (
    first_text,
    is_unset,
    make_alert,
    parse_tags,
    safe_time,
    set_host,
    text,
    vendor_fingerprint,
)
from signalfire.alerts.drivers.base import BaseAlertDriver
from signalfire.alerts.models import AlertStatus, ParsedPayload, Severity

SEVERITY_NAMES: dict[str, Severity] = {
    "disaster": Severity.CRITICAL,
    "high": Severity.CRITICAL,
    "average": Severity.WARNING,
    "warning": Severity.WARNING,
    "information": Severity.INFO,
    "info": Severity.INFO,
    "not classified": Severity.INFO,
}
SEVERITY_NUMBERS: dict[str, Severity] = {
    "5": Severity.CRITICAL, "4": Severity.CRITICAL,
    "3": Severity.WARNING, "2": Severity.WARNING,
    "1": Severity.INFO, "0": Severity.INFO,
}
_F, _R = AlertStatus.FIRING, AlertStatus.RESOLVED
#: {EVENT.VALUE}: 1 problem, 0 recovery.
EVENT_VALUES: dict[str, AlertStatus] = {"1": _F, "0": _R}
#: {EVENT.STATUS} is PROBLEM or RESOLVED, {TRIGGER.STATUS} PROBLEM or OK (and the numeric {EVENT.VALUE}).
STATUS_WORDS: dict[str, AlertStatus] = {"problem": _F, "resolved": _R, "ok": _R, "1": _F, "0": _R}


def _norm_keys(payload: dict[str, Any]) -> dict[str, Any]:
    return {str(k).strip().lower().replace(".", "_").replace("-", "_"): v for k, v in payload.items()}


def zabbix_severity(params: dict[str, Any]) -> Severity | None:
    for key in ("event_nseverity", "trigger_nseverity"):
        num = text(params.get(key))
        if num in SEVERITY_NUMBERS:
            return SEVERITY_NUMBERS[num]
    for key in ("event_severity", "trigger_severity", "severity"):
        word = text(params.get(key)).lower()
        if word in SEVERITY_NAMES:
            return SEVERITY_NAMES[word]
        if word in SEVERITY_NUMBERS:
            return SEVERITY_NUMBERS[word]
    return None


def _when(params: dict[str, Any], date_key: str, time_key: str) -> Any:
    date, clock = text(params.get(date_key)), text(params.get(time_key))
    if not date:
        return None
    return safe_time(f"{date} {clock}" if clock else date)


class ZabbixDriver(BaseAlertDriver):
    name: ClassVar[str] = "zabbix"
    title: ClassVar[str] = "Zabbix"
    expected: ClassVar[str] = "'event_id' + 'trigger_id' + 'trigger_name' + 'trigger_severity' (or 'event_severity')"
    status_words: ClassVar[dict[str, dict[str, AlertStatus]]] = {
        "event_value": EVENT_VALUES, "event_status": STATUS_WORDS, "trigger_status": STATUS_WORDS,
        "status": STATUS_WORDS,
    }

    def _status(self, params: dict[str, Any]) -> AlertStatus:
        """{EVENT.VALUE} first, then the status words, then the presence of an
        expanded recovery event id; an unknown word in any of them is refused."""
        found: AlertStatus | None = None
        for key in ("event_value", "event_status", "trigger_status", "status"):
            if not is_unset(params.get(key)) and text(params.get(key)):
                word = self.status_of(key, text(params.get(key)))
                found = found or word
        if found is not None:
            return found
        if not is_unset(params.get("event_recovery_id")) and text(params.get("event_recovery_id")):
            return _R
        return _F


    def validate(self, payload: Any) -> bool:
        if not isinstance(payload, dict):
            return False
        params = _norm_keys(payload)
        if not all(k in params for k in ("event_id", "trigger_id", "trigger_name")):
            return False
        return any(k in params for k in ("trigger_severity", "event_severity", "event_nseverity", "trigger_nseverity"))

    def parse(self, payload: dict[str, Any]) -> ParsedPayload:
        if not isinstance(payload, dict):
            raise self.reject("expected a JSON object")
        params = _norm_keys(payload)
        # {EVENT.ID} is the problem event in problem, update *and* recovery
        # messages; a template that sends the recovery event's id as event_id
        # can name the problem in problem_event_id / event_problem_id.
        problem_id = first_text(params, "problem_event_id", "event_problem_id", "event_id")
        if not problem_id:
            raise self.reject("'event_id' ({EVENT.ID}) is missing or was not expanded")
        trigger_name = first_text(params, "trigger_name", "event_name")
        if not trigger_name:
            raise self.reject("'trigger_name' ({TRIGGER.NAME}) is missing or was not expanded")
        severity = zabbix_severity(params)
        if severity is None:
            sev = first_text(params, "event_severity", "trigger_severity", "event_nseverity", "trigger_nseverity")
            if sev:
                raise self.reject(
                    f"unknown severity {sev!r}: expected Not classified, Information, Warning, Average, High, "
                    "Disaster or 0-5"
                )
            severity = Severity.WARNING
        status = self._status(params)
        labels = {
            **parse_tags(params.get("event_tags")),
            "event_id": problem_id,
            "trigger_id": text(params.get("trigger_id")),
            "zabbix_severity": first_text(params, "event_severity", "trigger_severity"),
            "host_ip": first_text(params, "host_ip", "host_conn"),
            "host_name": first_text(params, "host_name", "hostname"),
            "event_source": text(params.get("event_source")),
        }
        recovery_id = text(params.get("event_recovery_id"))
        if recovery_id and recovery_id != problem_id:
            labels["recovery_event_id"] = recovery_id
        labels.pop("host", None)
        set_host(labels, *(params.get(k) for k in ("host", "host_host", "host_name", "hostname")))
        annotations = {
            "url": first_text(params, "trigger_url", "event_url", "zabbix_url"),
            "item_value": text(params.get("item_value")),
            "opdata": text(params.get("event_opdata")),
            "update_action": text(params.get("event_update_action")),
            "update_message": text(params.get("event_update_message")),
            "ack_status": text(params.get("event_ack_status")),
        }
        started = _when(params, "event_date", "event_time")
        ended = _when(params, "event_recovery_date", "event_recovery_time") if status == AlertStatus.RESOLVED else None
        alert = make_alert(
            self,
            fingerprint=vendor_fingerprint(self, problem_id),
            name=trigger_name,
            status=status,
            severity=severity,
            raw=payload,
            description=first_text(params, "trigger_description", "alert_message", "message", "event_opdata"),
            labels=labels,
            annotations=annotations,
            started_at=started,
            ended_at=ended,
        )
        return ParsedPayload(
            alerts=[alert],
            source=self.name,
            group_key=f"trigger:{text(params.get('trigger_id'))}" if text(params.get("trigger_id")) else "",
            external_url=text(params.get("zabbix_url")),
            raw_payload=payload,
        )
