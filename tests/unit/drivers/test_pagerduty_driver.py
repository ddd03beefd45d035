import pytest

from signalfire.alerts.drivers import parse_webhook
from signalfire.alerts.models import AlertStatus, Severity
from signalfire.errors import PayloadValidationError


def test_v3_triggered(load):
    result = parse_webhook(load("pagerduty_v3_triggered"))
    assert result.version == "v3"
    (alert,) = result.alerts
    assert alert.fingerprint == "pagerduty:PGR0VU2"
    assert alert.status is AlertStatus.FIRING and alert.severity is Severity.CRITICAL
    assert alert.labels["service"] == "Checkout API" and alert.labels["priority"] == "P1"
    assert alert.annotations["url"] == "https://acme.pagerduty.com/incidents/PGR0VU2"
    assert alert.raw_payload["id"] == "PGR0VU2"


def test_v3_low_urgency_is_warning_and_ack_keeps_firing(load):
    alert = parse_webhook(load("pagerduty_v3_acknowledged_low")).alerts[0]
    assert alert.status is AlertStatus.FIRING and alert.severity is Severity.WARNING


def test_v3_priority_p2_overrides_low_urgency(load):
    assert parse_webhook(load("pagerduty_v3_priority_updated")).alerts[0].severity is Severity.CRITICAL


def test_v3_resolved_same_fingerprint(load):
    t = parse_webhook(load("pagerduty_v3_triggered")).alerts[0]
    r = parse_webhook(load("pagerduty_v3_resolved")).alerts[0]
    assert r.status is AlertStatus.RESOLVED and r.fingerprint == t.fingerprint
    assert r.ended_at is not None and r.ended_at.minute == 15


def test_v2_messages(load):
    result = parse_webhook(load("pagerduty_v2_trigger"))
    assert result.version == "v2"
    assert [a.fingerprint for a in result.alerts] == ["pagerduty:PRORDTY", "pagerduty:PBZZZ01"]
    assert [a.severity for a in result.alerts] == [Severity.CRITICAL, Severity.WARNING]
    resolved = parse_webhook(load("pagerduty_v2_resolve")).alerts[0]
    assert resolved.status is AlertStatus.RESOLVED and resolved.fingerprint == "pagerduty:PRORDTY"


def test_v2_batch_keeps_latest_state_per_incident(load):
    p = load("pagerduty_v2_trigger")
    p["messages"].append(load("pagerduty_v2_resolve")["messages"][0])
    alerts = parse_webhook(p).alerts
    assert len(alerts) == 2
    assert alerts[-1].fingerprint == "pagerduty:PRORDTY" and alerts[-1].status is AlertStatus.RESOLVED


@pytest.mark.parametrize("event_type", ["pagey.ping", "service.updated"])
def test_non_incident_events_rejected(load, event_type):
    p = load("pagerduty_v3_triggered")
    p["event"]["event_type"] = event_type
    with pytest.raises(PayloadValidationError):
        parse_webhook(p)


def test_annotated_reference_event_rejected(load):
    p = load("pagerduty_v3_triggered")
    p["event"]["event_type"] = "incident.annotated"
    p["event"]["data"] = {"incident": {"id": "PGR0VU2", "type": "incident_reference"}, "content": "note",
                          "type": "incident_note"}
    with pytest.raises(PayloadValidationError, match="incident state events"):
        parse_webhook(p)
