import pytest

from signalfire.alerts.drivers import parse_webhook
from signalfire.alerts.drivers.datadog import datadog_severity
from signalfire.alerts.models import AlertStatus, Severity
from signalfire.errors import PayloadValidationError


def test_triggered(load):
    result = parse_webhook(load("datadog_triggered"))
    (alert,) = result.alerts
    assert alert.status is AlertStatus.FIRING and alert.severity is Severity.CRITICAL
    assert alert.fingerprint == "datadog:7421535576327550001"  # $ALERT_CYCLE_KEY
    assert alert.name == "High load on web-3"
    assert alert.labels["host"] == "web-3" and alert.labels["env"] == "prod" and alert.labels["tags"] == "monitor"
    assert result.group_key == "monitor:12345678"


def test_recovered_matches_triggered(load):
    t = parse_webhook(load("datadog_triggered")).alerts[0]
    r = parse_webhook(load("datadog_recovered")).alerts[0]
    assert r.status is AlertStatus.RESOLVED and r.fingerprint == t.fingerprint
    assert r.severity is Severity.CRITICAL  # "success" says nothing; P1 priority kept


def test_warn_and_no_data(load):
    assert parse_webhook(load("datadog_warn")).alerts[0].severity is Severity.WARNING
    nd = parse_webhook(load("datadog_no_data")).alerts[0]
    assert nd.status is AlertStatus.FIRING


@pytest.mark.parametrize(
    ("transition", "alert_type", "priority", "expected"),
    [
        ("Triggered", "error", "", Severity.CRITICAL),
        ("Triggered", "warning", "", Severity.WARNING),
        ("Triggered", "info", "", Severity.INFO),
        ("Recovered", "success", "", Severity.INFO),
        ("Re-Warn", "error", "P1", Severity.WARNING),
        ("Renotify", "", "P4", Severity.INFO),
        ("Triggered", "", "", Severity.WARNING),
    ],
)
def test_severity_table(transition, alert_type, priority, expected):
    assert datadog_severity(transition, alert_type, priority) is expected


def test_fingerprint_fallbacks(load):
    p = load("datadog_triggered")
    del p["alert_cycle_key"]
    assert parse_webhook(p).alerts[0].fingerprint == "datadog:9bd4ac313a4d1e8fae2482df7b77628"
    del p["aggreg_key"]
    fp = parse_webhook(p).alerts[0].fingerprint
    q = load("datadog_recovered")
    del q["alert_cycle_key"], q["aggreg_key"]
    assert parse_webhook(q).alerts[0].fingerprint == fp and len(fp) == 64


def test_camel_case_template(load):
    p = load("datadog_triggered")
    camel = {"alertId": p["alert_id"], "alertTransition": "Recovered", "alertType": "success", "title": p["title"]}
    alert = parse_webhook(camel).alerts[0]
    assert alert.status is AlertStatus.RESOLVED


def test_default_template_reads_title(load):
    alert = parse_webhook(load("datadog_default_template")).alerts[0]
    assert alert.status is AlertStatus.FIRING and alert.labels["host"] == "web-3"
    p = load("datadog_default_template")
    p["title"] = "[Recovered on {host:web-3}] High load"
    r = parse_webhook(p).alerts[0]
    assert r.status is AlertStatus.RESOLVED and r.fingerprint == alert.fingerprint


def test_unknown_transition_rejected(load):
    p = load("datadog_triggered")
    p["alert_transition"] = "Exploded"
    with pytest.raises(PayloadValidationError, match="unknown alert_transition"):
        parse_webhook(p)
