import pytest

from signalfire.alerts.drivers import parse_webhook
from signalfire.alerts.models import AlertStatus, Severity


@pytest.mark.parametrize(
    ("fixture", "status"),
    [
        ("opsgenie_create_p1", AlertStatus.FIRING),
        ("opsgenie_acknowledge", AlertStatus.FIRING),
        ("opsgenie_addnote", AlertStatus.FIRING),
        ("opsgenie_close", AlertStatus.RESOLVED),
        ("opsgenie_delete", AlertStatus.RESOLVED),
    ],
)
def test_actions(load, fixture, status):
    assert parse_webhook(load(fixture)).alerts[0].status is status


@pytest.mark.parametrize(
    ("priority", "severity"),
    [("P1", Severity.CRITICAL), ("P2", Severity.CRITICAL), ("P3", Severity.WARNING), ("P4", Severity.INFO),
     ("P5", Severity.INFO)],
)
def test_priorities(load, priority, severity):
    p = load("opsgenie_create_p1")
    p["alert"]["priority"] = priority
    assert parse_webhook(p).alerts[0].severity is severity


def test_fingerprint_stable_and_fields(load):
    created = parse_webhook(load("opsgenie_create_p1")).alerts[0]
    closed = parse_webhook(load("opsgenie_close")).alerts[0]
    assert created.fingerprint == closed.fingerprint == "opsgenie:052652ac-5d1c-464a-812a-7dd18bbfba8c"
    assert created.labels["host"] == "db-9" and created.labels["env"] == "prod"
    assert created.annotations["detail_region"] == "eu-west-1"
    assert created.started_at.year == 2024
    assert closed.ended_at is not None and closed.ended_at.year == 2024  # updatedAt is in nanoseconds


def test_host_from_entity_or_hostname_tag(load):
    assert parse_webhook(load("opsgenie_create_p3")).alerts[0].labels["host"] == "checkout-svc"
    assert parse_webhook(load("opsgenie_create_p5")).alerts[0].labels["host"] == "mq-1"
