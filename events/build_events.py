#!/usr/bin/env python3
"""Write the sample events in this directory for ``sam local invoke -e``.

    python events/build_events.py          # (re)write events/*.json
    python events/build_events.py --check  # exit 1 if a file differs from what it would write

Every event is an API Gateway HTTP API (payload format 2.0) request as AWS
sends it: ``routeKey`` and ``pathParameters`` are those of the route that
template.yaml's routes select for the request (signalfire_local.routing),
so ``/alerts/webhook/alertmanager/`` arrives as ``POST /alerts/{proxy+}``
with ``{"proxy": "webhook/alertmanager/"}``.  The webhook bodies follow
each vendor's documented webhook format:

- alertmanager: Prometheus Alertmanager ``webhook_config`` (version "4")
- grafana:      Grafana unified alerting webhook contact point
- pagerduty:    PagerDuty V3 webhook subscription (``event.event_type``)
- datadog:      Datadog Webhooks integration, custom payload of $ALERT_* variables
- newrelic:     New Relic workflow webhook, the default payload template
- opsgenie:     Opsgenie outgoing Webhook integration (``action`` + ``alert``)
- zabbix:       Zabbix webhook media type parameters ({EVENT.ID}, {TRIGGER.ID}, ...)
- generic:      signalfire's own {name, status, severity, description, labels}

The files are checked in; edit this script and re-run it rather than editing
the JSON by hand (tests/functional/test_events.py checks them).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "local"))

from signalfire_local.routing import Match, router_for  # noqa: E402
from signalfire_local.template import load_yaml  # noqa: E402

# One fixed instant so the files are reproducible: 2026-01-15T09:30:00Z.
NOW = datetime(2026, 1, 15, 9, 30, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
ISO = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
STARTED = "2026-01-15T09:25:00Z"

API_ID = "a1b2c3d4e5"
ACCOUNT_ID = "123456789012"
DOMAIN = f"{API_ID}.execute-api.us-east-1.amazonaws.com"
TOKEN = "Bearer local-dev-token"


# ---------------------------------------------------------------- vendor payloads

ALERTMANAGER = {
    "version": "4",
    "groupKey": '{}/{severity=~"critical|warning"}:{alertname="HighCPUUsage"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "signalfire",
    "groupLabels": {"alertname": "HighCPUUsage"},
    "commonLabels": {"alertname": "HighCPUUsage", "job": "node", "severity": "critical", "env": "production"},
    "commonAnnotations": {"runbook_url": "https://runbooks.example.com/HighCPUUsage"},
    "externalURL": "http://alertmanager.example.com:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "HighCPUUsage",
                "instance": "web-01.example.com:9100",
                "job": "node",
                "severity": "critical",
                "env": "production",
            },
            "annotations": {
                "summary": "CPU usage above 90% on web-01.example.com",
                "description": "CPU usage on web-01.example.com:9100 has been above 90% for 5 minutes (current 97.3%).",
                "runbook_url": "https://runbooks.example.com/HighCPUUsage",
            },
            "startsAt": "2026-01-15T09:25:00.000Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=instance%3Anode_cpu_utilisation%3Arate5m+%3E+0.9&g0.tab=1",
            "fingerprint": "5f3b9a1c2d4e6f70",
        },
        {
            "status": "resolved",
            "labels": {
                "alertname": "HighCPUUsage",
                "instance": "web-02.example.com:9100",
                "job": "node",
                "severity": "critical",
                "env": "production",
            },
            "annotations": {
                "summary": "CPU usage above 90% on web-02.example.com",
                "description": "CPU usage on web-02.example.com:9100 is back under 90%.",
                "runbook_url": "https://runbooks.example.com/HighCPUUsage",
            },
            "startsAt": "2026-01-15T09:05:00.000Z",
            "endsAt": "2026-01-15T09:28:00.000Z",
            "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=instance%3Anode_cpu_utilisation%3Arate5m+%3E+0.9&g0.tab=1",
            "fingerprint": "8c2e7d9b0a1f3e54",
        },
    ],
}

GRAFANA = {
    "receiver": "signalfire",
    "status": "firing",
    "orgId": 1,
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "High memory usage",
                "grafana_folder": "Infrastructure",
                "instance": "db-01.example.com",
                "severity": "warning",
                "team": "platform",
            },
            "annotations": {
                "summary": "Memory usage above 85% on db-01.example.com",
                "description": "Memory usage on db-01.example.com is 91.2% (threshold 85%).",
                "runbook_url": "https://runbooks.example.com/high-memory",
            },
            "startsAt": "2026-01-15T09:26:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://grafana.example.com/alerting/grafana/cdq7mx1z2abc/view?orgId=1",
            "fingerprint": "c6eadffa33fcdf37",
            "silenceURL": "https://grafana.example.com/alerting/silence/new?alertmanager=grafana&matcher=__alert_rule_uid__%3Dcdq7mx1z2abc&orgId=1",
            "dashboardURL": "https://grafana.example.com/d/node-exporter?orgId=1",
            "panelURL": "https://grafana.example.com/d/node-exporter?orgId=1&viewPanel=12",
            "values": {"B": 91.2, "C": 1},
            "valueString": "[ var='B' labels={instance=db-01.example.com} value=91.2 ], [ var='C' labels={instance=db-01.example.com} value=1 ]",
        }
    ],
    "groupLabels": {"alertname": "High memory usage", "grafana_folder": "Infrastructure"},
    "commonLabels": {
        "alertname": "High memory usage",
        "grafana_folder": "Infrastructure",
        "instance": "db-01.example.com",
        "severity": "warning",
        "team": "platform",
    },
    "commonAnnotations": {
        "summary": "Memory usage above 85% on db-01.example.com",
        "description": "Memory usage on db-01.example.com is 91.2% (threshold 85%).",
        "runbook_url": "https://runbooks.example.com/high-memory",
    },
    "externalURL": "https://grafana.example.com/",
    "version": "1",
    "groupKey": '{}/{__grafana_autogenerated__="true"}:{alertname="High memory usage", grafana_folder="Infrastructure"}',
    "truncatedAlerts": 0,
    "title": "[FIRING:1] High memory usage Infrastructure (db-01.example.com warning platform)",
    "state": "alerting",
    "message": "**Firing**\n\nValue: B=91.2, C=1\nLabels:\n - alertname = High memory usage\n - instance = db-01.example.com\n - severity = warning\nAnnotations:\n - summary = Memory usage above 85% on db-01.example.com\n",
}

PAGERDUTY = {
    "event": {
        "id": "01DEN6Y0F1XZ0Q8VYZ3VB7Z1AB",
        "event_type": "incident.triggered",
        "resource_type": "incident",
        "occurred_at": "2026-01-15T09:27:41.129Z",
        "agent": {
            "html_url": "https://example.pagerduty.com/services/PSVC123",
            "id": "PSVC123",
            "self": "https://api.pagerduty.com/services/PSVC123",
            "summary": "Checkout API",
            "type": "service_reference",
        },
        "client": None,
        "data": {
            "id": "Q2WTFT9ZYQ1ABC",
            "type": "incident",
            "self": "https://api.pagerduty.com/incidents/Q2WTFT9ZYQ1ABC",
            "html_url": "https://example.pagerduty.com/incidents/Q2WTFT9ZYQ1ABC",
            "number": 4711,
            "status": "triggered",
            "incident_key": "checkout-api-5xx-rate",
            "created_at": "2026-01-15T09:27:40Z",
            "title": "Checkout API 5xx error rate above 5% on api-01.example.com",
            "service": {
                "html_url": "https://example.pagerduty.com/services/PSVC123",
                "id": "PSVC123",
                "self": "https://api.pagerduty.com/services/PSVC123",
                "summary": "Checkout API",
                "type": "service_reference",
            },
            "assignees": [
                {
                    "html_url": "https://example.pagerduty.com/users/PUSR456",
                    "id": "PUSR456",
                    "self": "https://api.pagerduty.com/users/PUSR456",
                    "summary": "Alex Oncall",
                    "type": "user_reference",
                }
            ],
            "escalation_policy": {
                "html_url": "https://example.pagerduty.com/escalation_policies/PESC789",
                "id": "PESC789",
                "self": "https://api.pagerduty.com/escalation_policies/PESC789",
                "summary": "Checkout on-call",
                "type": "escalation_policy_reference",
            },
            "teams": [
                {
                    "html_url": "https://example.pagerduty.com/teams/PTEAM01",
                    "id": "PTEAM01",
                    "self": "https://api.pagerduty.com/teams/PTEAM01",
                    "summary": "Payments",
                    "type": "team_reference",
                }
            ],
            "priority": {
                "html_url": "https://example.pagerduty.com/account/incident_priorities",
                "id": "PPRIO01",
                "self": "https://api.pagerduty.com/priorities/PPRIO01",
                "summary": "P1",
                "type": "priority",
            },
            "urgency": "high",
            "conference_bridge": None,
            "resolve_reason": None,
            "incident_type": {"name": "incident_default"},
        },
    }
}

# Datadog sends whatever JSON the webhook's Payload template says; this is a
# template of the documented $-variables, after Datadog expanded them.
DATADOG = {
    "id": "7613405012345678901",
    "alert_id": "123456789",
    "alert_title": "[Triggered on {host:web-01}] Disk space is running low",
    "alert_status": "system.disk.in_use over device:/dev/nvme0n1p1,host:web-01 was > 0.9 on average during the last 5m.",
    "alert_type": "error",
    "alert_transition": "Triggered",
    "alert_priority": "P2",
    "alert_metric": "system.disk.in_use",
    "alert_query": "avg(last_5m):avg:system.disk.in_use{env:production} by {host,device} > 0.9",
    "alert_scope": "device:/dev/nvme0n1p1,host:web-01",
    "alert_cycle_key": "6543210987654321098",
    "aggreg_key": "9bd4ac313a4d1e8fae2482df7b77628",
    "event_title": "[Triggered on {host:web-01}] Disk space is running low",
    "event_msg": "Disk usage on web-01 /dev/nvme0n1p1 is 93.4%. @webhook-signalfire",
    "event_type": "query_alert_monitor",
    "hostname": "web-01",
    "tags": "env:production,service:web,team:platform,host:web-01,device:/dev/nvme0n1p1",
    "date": str(NOW_MS - 120_000),
    "last_updated": str(NOW_MS - 60_000),
    "link": "https://app.datadoghq.com/event/event?id=7613405012345678901",
    "snapshot": "https://p.datadoghq.com/snapshot/view/dd-snapshots-prod/org_12345/2026-01-15/abcdef.png",
    "org": {"id": "12345", "name": "Example Corp"},
}

# The workflow's default webhook payload template, rendered.
NEWRELIC = {
    "id": "0ea2df1c-adab-45d2-aae0-042b609d2322",
    "issueUrl": "https://radar-api.service.newrelic.com/accounts/1234567/issues/0ea2df1c-adab-45d2-aae0-042b609d2322?notifier=WEBHOOK",
    "title": "Response time > 2s for at least 5 minutes on 'checkout-service'",
    "priority": "CRITICAL",
    "impactedEntities": ["checkout-service"],
    "totalIncidents": 1,
    "state": "ACTIVATED",
    "trigger": "STATE_CHANGE",
    "isCorrelated": False,
    "createdAt": NOW_MS - 300_000,
    "updatedAt": NOW_MS - 60_000,
    "sources": ["newrelic"],
    "alertPolicyNames": ["Checkout golden signals"],
    "alertConditionNames": ["Response time high"],
    "workflowName": "signalfire",
}

OPSGENIE = {
    "action": "Create",
    "alert": {
        "alertId": "052652ac-5d1c-464a-812a-7dd18bbfba8c",
        "message": "Queue depth above 10000 on worker-03",
        "description": "orders-queue depth has been above 10000 messages for 10 minutes on worker-03.example.com.",
        "details": {"queue": "orders-queue", "depth": "12873", "host": "worker-03.example.com"},
        "tags": ["production", "queue", "orders"],
        "teams": ["a4e2b0c1-8d7e-4f21-9a33-2f1f5c6e7d80"],
        "recipients": ["a4e2b0c1-8d7e-4f21-9a33-2f1f5c6e7d80"],
        "priority": "P2",
        "username": "System",
        "userId": "",
        "source": "prometheus",
        "alias": "orders-queue-depth-worker-03",
        "tinyId": "1791",
        "entity": "worker-03.example.com",
        "createdAt": NOW_MS - 90_000,
        "updatedAt": (NOW_MS - 90_000) * 1_000_000 + 123456,
    },
    "source": {"name": "", "type": "API"},
    "integrationName": "signalfire",
    "integrationId": "37c8f316-17c6-49d7-899b-9c7e540c048d",
    "integrationType": "Webhook",
}

# A Zabbix webhook media type posts the parameters it is configured with;
# these are the usual ones, with their macros expanded.
ZABBIX = {
    "event_id": "4711",
    "event_name": "High CPU utilization (over 90% for 5m)",
    "event_severity": "High",
    "event_nseverity": "4",
    "event_status": "PROBLEM",
    "event_value": "1",
    "event_date": "2026.01.15",
    "event_time": "09:25:00",
    "event_opdata": "Current utilization: 96.1 %",
    "event_tags": "class:os, component:cpu, scope:performance, target:linux",
    "event_recovery_id": "{EVENT.RECOVERY.ID}",
    "trigger_id": "23456",
    "trigger_name": "High CPU utilization (over 90% for 5m)",
    "trigger_severity": "High",
    "trigger_status": "PROBLEM",
    "trigger_description": "CPU utilization is too high. The system might be slow to respond.",
    "host_name": "app-01.example.com",
    "host_ip": "10.0.1.21",
    "item_name": "CPU utilization",
    "item_value": "96.1 %",
    "alert_subject": "Problem: High CPU utilization (over 90% for 5m)",
    "alert_message": "Problem started at 09:25:00 on 2026.01.15\nProblem name: High CPU utilization (over 90% for 5m)\nHost: app-01.example.com\nSeverity: High\nOperational data: Current utilization: 96.1 %\nOriginal problem ID: 4711",
    "zabbix_url": "https://zabbix.example.com",
}

GENERIC = {
    "name": "Disk almost full on backup-01",
    "status": "firing",
    "severity": "warning",
    "description": "/var/backups on backup-01.example.com is 88% full (threshold 85%).",
    "labels": {
        "host": "backup-01.example.com",
        "mount": "/var/backups",
        "service": "backup",
        "env": "production",
    },
}

WEBHOOKS: dict[str, dict[str, Any]] = {
    "alertmanager": ALERTMANAGER,
    "grafana": GRAFANA,
    "pagerduty": PAGERDUTY,
    "datadog": DATADOG,
    "newrelic": NEWRELIC,
    "opsgenie": OPSGENIE,
    "zabbix": ZABBIX,
    "generic": GENERIC,
}

USER_AGENTS = {
    "alertmanager": "Alertmanager/0.28.1",
    "grafana": "Grafana",
    "pagerduty": "PagerDuty-Webhook/V3.0",
    "datadog": "Datadog/Webhooks",
    "newrelic": "NewRelic-Webhook",
    "opsgenie": "Apache-HttpClient/4.5.13 (Java/17)",
    "zabbix": "Zabbix 7.0",
    "generic": "curl/8.5.0",
}


# ---------------------------------------------------------------- HTTP API v2 envelope


def route(method: str, raw_path: str) -> Match:
    found = router_for(load_yaml(HERE.parent / "template.yaml")).select(method, raw_path)
    if found is None:
        raise SystemExit(f"template.yaml routes nothing for {method} {raw_path}")
    return found


def http_api_event(
    *,
    method: str,
    raw_path: str,
    body: str | None,
    user_agent: str,
    request_id: str,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    found = route(method, raw_path)
    headers = {
        "accept": "*/*",
        "content-type": "application/json",
        "host": DOMAIN,
        "user-agent": user_agent,
        "x-amzn-trace-id": "Root=1-6788f0d8-0123456789abcdef01234567",
        "x-forwarded-for": "203.0.113.10",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    }
    if not query:  # a sender that can set no header sends ?token= instead
        headers["authorization"] = TOKEN
    if body is not None:
        headers["content-length"] = str(len(body.encode("utf-8")))
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": found.route_key,
        "rawPath": raw_path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
        "headers": dict(sorted(headers.items())),
    }
    if query:
        event["queryStringParameters"] = dict(query)
    event["requestContext"] = {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": DOMAIN,
        "domainPrefix": API_ID,
        "http": {
            "method": method,
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": "203.0.113.10",
            "userAgent": user_agent,
        },
        "requestId": request_id,
        "routeKey": found.route_key,
        "stage": "$default",
        "time": NOW.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": NOW_MS,
    }
    if found.path_parameters:  # absent when the route has no path variable
        event["pathParameters"] = found.path_parameters
    if body is not None:
        event["body"] = body
    event["isBase64Encoded"] = False
    return event


def build() -> dict[str, dict[str, Any]]:
    events: dict[str, dict[str, Any]] = {}
    for n, (driver, payload) in enumerate(WEBHOOKS.items(), start=1):
        events[f"webhook_{driver}.json"] = http_api_event(
            method="POST",
            raw_path=f"/alerts/webhook/{driver}/",
            body=json.dumps(payload, separators=(",", ":")),
            user_agent=USER_AGENTS[driver],
            request_id=f"Wb{n:02d}aLocalReq=",
        )
    events["webhook_auto_query_token.json"] = http_api_event(
        method="POST",
        raw_path="/alerts/webhook/",
        query={"token": TOKEN.removeprefix("Bearer ")},
        body=json.dumps(GENERIC, separators=(",", ":")),
        user_agent=USER_AGENTS["generic"],
        request_id="Wb09aLocalReq=",
    )
    events["api_list_alerts.json"] = http_api_event(
        method="GET",
        raw_path="/alerts/",
        body=None,
        user_agent="signalfire-cli/0.1.0",
        request_id="Ap01aLocalReq=",
    )
    return events


def render(event: dict[str, Any]) -> str:
    return json.dumps(event, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name, event in build().items():
        path = HERE / name
        text = render(event)
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(HERE.parent)}")
    if stale:
        print("out of date (run python events/build_events.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
