"""New Relic alert webhooks.

* **Workflow** (current) default template: ``{id: issueId, issueUrl, title,
  priority CRITICAL|HIGH|MEDIUM|LOW, impactedEntities, totalIncidents, state
  CREATED|ACTIVATED|ACKNOWLEDGED|CLOSED, trigger, isCorrelated, createdAt,
  updatedAt, sources, alertPolicyNames, alertConditionNames, workflowName}``
  (``issueId`` is accepted in place of ``id``).  One alert per issue.
* **Legacy notification channel**: ``{account_id, account_name, condition_id,
  condition_name, current_state open|acknowledged|closed, details, event_type,
  incident_id, incident_url, policy_name, runbook_url, severity
  CRITICAL|WARNING|INFO, targets[{id,name,link,labels,product,type}], timestamp}``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from signalfire.alerts.drivers._common import (
    as_dict,
    as_list,
    first_text,
    make_alert,
    safe_time,
    set_host,
    str_map,
    text,
    vendor_fingerprint,
)
from signalfire.alerts.drivers.base import BaseAlertDriver
from signalfire.alerts.models import AlertStatus, ParsedPayload, Severity

PRIORITY_SEVERITY: dict[str, Severity] = {
    "CRITICAL": Severity.CRITICAL,
    "HIGH": Severity.CRITICAL,
    "MEDIUM": Severity.WARNING,
    "WARNING": Severity.WARNING,
    "LOW": Severity.INFO,
    "INFO": Severity.INFO,
}
#: Workflow issue ``state`` ({{state}}): CREATED, ACTIVATED, ACKNOWLEDGED, CLOSED.
WORKFLOW_STATES: dict[str, AlertStatus] = {
    "created": AlertStatus.FIRING, "activated": AlertStatus.FIRING, "acknowledged": AlertStatus.FIRING,
    "closed": AlertStatus.RESOLVED,
}
#: Legacy channel ``current_state``: open, acknowledged, closed.
LEGACY_STATES: dict[str, AlertStatus] = {
    "open": AlertStatus.FIRING, "acknowledged": AlertStatus.FIRING, "closed": AlertStatus.RESOLVED,
}


def _names(value: Any) -> list[str]:
    """A workflow list variable (list of names, or one string) as names."""
    if isinstance(value, list):
        return [t for t in (text(v) if not isinstance(v, dict) else first_text(v, "name", "id") for v in value) if t]
    single = text(value)
    return [single] if single else []


class NewRelicDriver(BaseAlertDriver):
    name: ClassVar[str] = "newrelic"
    title: ClassVar[str] = "New Relic"
    expected: ClassVar[str] = (
        "'condition_id' + 'incident_id' + 'policy_name' (legacy channel), or 'issueId'/'id' + 'issueUrl' with "
        "'state'/'priority' (workflow)"
    )
    status_words: ClassVar[dict[str, dict[str, AlertStatus]]] = {"state": WORKFLOW_STATES,
                                                                   "current_state": LEGACY_STATES}

    def validate(self, payload: Any) -> bool:
        if not isinstance(payload, dict):
            return False
        if all(k in payload for k in ("condition_id", "incident_id", "policy_name")):
            return True
        return self._is_workflow(payload)

    @staticmethod
    def _is_workflow(payload: dict[str, Any]) -> bool:
        has_issue = "issueId" in payload or ("id" in payload and "issueUrl" in payload)
        return has_issue and ("state" in payload or "priority" in payload)

    def parse(self, payload: dict[str, Any]) -> ParsedPayload:
        if not isinstance(payload, dict):
            raise self.reject("expected a JSON object")
        if self._is_workflow(payload) or ("issueId" in payload or "issueUrl" in payload):
            return self._parse_workflow(payload)
        return self._parse_legacy(payload)

    # -- workflow ------------------------------------------------------------------------

    def _parse_workflow(self, payload: dict[str, Any]) -> ParsedPayload:
        issue_id = first_text(payload, "issueId", "id")
        if not issue_id:
            raise self.reject("workflow payload has no issue id ('issueId' or 'id' = {{issueId}})")
        state = text(payload.get("state")).upper()
        status = self.status_of("state", state, AlertStatus.FIRING)
        priority = text(payload.get("priority")).upper()
        severity = PRIORITY_SEVERITY.get(priority, Severity.WARNING)
        titles = _names(payload.get("title"))
        conditions = _names(payload.get("alertConditionNames"))
        policies = _names(payload.get("alertPolicyNames"))
        entities = _names(payload.get("impactedEntities")) or _names(as_dict(payload.get("entitiesData")).get("names"))
        labels = {
            "issue_id": issue_id,
            "priority": priority,
            "state": state,
            "policy_name": ", ".join(policies),
            "condition_name": ", ".join(conditions),
            "sources": ", ".join(_names(payload.get("sources"))),
            "workflow": text(payload.get("workflowName")),
            "trigger": text(payload.get("trigger")),
            "total_incidents": text(payload.get("totalIncidents")),
            "is_correlated": text(payload.get("isCorrelated")),
            "account_id": first_text(payload, "accountId", "account_id"),
            "entities": ", ".join(entities),
        }
        set_host(labels, *entities[:1])
        annotations = {"url": first_text(payload, "issueUrl", "issuePageUrl")}
        name = (titles[0] if titles else "") or (conditions[0] if conditions else "") or f"New Relic issue {issue_id}"
        description = first_text(payload, "description", "conditionDescription") or ", ".join(titles)
        alert = make_alert(
            self,
            fingerprint=vendor_fingerprint(self, issue_id),
            name=name,
            status=status,
            severity=severity,
            raw=payload,
            description=description,
            labels=labels,
            annotations=annotations,
            started_at=safe_time(payload.get("createdAt")),
            ended_at=safe_time(payload.get("updatedAt")) if status == AlertStatus.RESOLVED else None,
        )
        return ParsedPayload(alerts=[alert], source=self.name, version="workflow", group_key=issue_id,
                             raw_payload=payload)

    # -- legacy channel ------------------------------------------------------------------

    def _parse_legacy(self, payload: dict[str, Any]) -> ParsedPayload:
        incident_id = text(payload.get("incident_id"))
        if not incident_id:
            raise self.reject("'incident_id' is missing")
        state = text(payload.get("current_state")).lower()
        event_type = text(payload.get("event_type")).upper()
        by_state = self.status_of("current_state", payload.get("current_state"), AlertStatus.FIRING)
        resolved = by_state == AlertStatus.RESOLVED or event_type.endswith("CLOSE") or event_type.endswith("CLOSED")
        status = AlertStatus.RESOLVED if resolved else AlertStatus.FIRING
        severity = PRIORITY_SEVERITY.get(text(payload.get("severity")).upper(), Severity.WARNING)
        targets = [t for t in as_list(payload.get("targets")) if isinstance(t, dict)]
        target = targets[0] if targets else {}
        labels = {
            **str_map(target.get("labels")),
            "incident_id": incident_id,
            "policy_name": text(payload.get("policy_name")),
            "condition_name": text(payload.get("condition_name")),
            "condition_id": text(payload.get("condition_id")),
            "account_id": text(payload.get("account_id")),
            "account_name": text(payload.get("account_name")),
            "nr_severity": text(payload.get("severity")).upper(),
            "current_state": state,
            "target_type": text(target.get("type")),
            "product": text(target.get("product")),
        }
        set_host(labels, text(target.get("name")))
        annotations = {
            "url": text(payload.get("incident_url")),
            "runbook_url": text(payload.get("runbook_url")),
            "chart_url": text(payload.get("violation_chart_url")),
            "policy_url": text(payload.get("policy_url")),
            "acknowledge_url": text(payload.get("incident_acknowledge_url")),
            "target_url": text(target.get("link")),
        }
        condition = text(payload.get("condition_name"))
        when = safe_time(payload.get("timestamp"))
        alert = make_alert(
            self,
            fingerprint=vendor_fingerprint(self, incident_id),
            name=condition or text(payload.get("policy_name")) or f"New Relic incident {incident_id}",
            status=status,
            severity=severity,
            raw=payload,
            description=first_text(payload, "details", "condition_description"),
            labels=labels,
            annotations=annotations,
            started_at=when if status == AlertStatus.FIRING else None,
            ended_at=when if status == AlertStatus.RESOLVED else None,
        )
        return ParsedPayload(alerts=[alert], source=self.name, version="legacy", raw_payload=payload)
