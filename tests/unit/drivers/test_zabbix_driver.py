import pytest

from signalfire.alerts.drivers import parse_webhook
from signalfire.alerts.models import AlertStatus, Severity


@pytest.mark.parametrize(
    ("fixture", "severity"),
    [
        ("zabbix_problem_disaster", Severity.CRITICAL),
        ("zabbix_problem_high", Severity.CRITICAL),
        ("zabbix_problem_average", Severity.WARNING),
        ("zabbix_problem_warning", Severity.WARNING),
        ("zabbix_problem_information", Severity.INFO),
        ("zabbix_problem_not_classified", Severity.INFO),
        ("zabbix_problem_numeric_only", Severity.CRITICAL),
    ],
)
def test_severity_names(load, fixture, severity):
    alert = parse_webhook(load(fixture)).alerts[0]
    assert alert.severity is severity and alert.status is AlertStatus.FIRING


@pytest.mark.parametrize(
    ("number", "severity"),
    [("5", Severity.CRITICAL), ("4", Severity.CRITICAL), ("3", Severity.WARNING), ("2", Severity.WARNING),
     ("1", Severity.INFO), ("0", Severity.INFO)],
)
def test_numeric_severity(load, number, severity):
    p = load("zabbix_problem_information")
    p["event_nseverity"] = number
    assert parse_webhook(p).alerts[0].severity is severity


def test_problem_then_recovery_same_fingerprint(load):
    problem = parse_webhook(load("zabbix_problem_high")).alerts[0]
    recovery = parse_webhook(load("zabbix_resolved_high")).alerts[0]
    assert problem.fingerprint == recovery.fingerprint == "zabbix:2002"
    assert recovery.status is AlertStatus.RESOLVED
    assert recovery.labels["recovery_event_id"] == "1077"
    assert "recovery_event_id" not in problem.labels  # unexpanded {EVENT.RECOVERY.ID}
    assert recovery.ended_at.hour == 10 and recovery.ended_at.minute == 12
    assert problem.labels["host"] == "app-7" and problem.labels["component"] == "cpu"
    assert problem.started_at.day == 1


def test_recovery_by_status_word_only(load):
    p = load("zabbix_resolved_high")
    del p["event_value"]
    assert parse_webhook(p).alerts[0].status is AlertStatus.RESOLVED
    p = load("zabbix_problem_high")
    del p["event_value"], p["event_status"], p["trigger_status"]
    assert parse_webhook(p).alerts[0].status is AlertStatus.FIRING


def test_problem_event_id_override(load):
    p = load("zabbix_resolved_high")
    p["event_id"] = "1077"
    p["problem_event_id"] = "2002"
    assert parse_webhook(p).alerts[0].fingerprint == "zabbix:2002"


def test_dotted_macro_names(load):
    p = {"EVENT.ID": "9", "TRIGGER.ID": "8", "TRIGGER.NAME": "Disk full", "EVENT.SEVERITY": "Disaster",
         "EVENT.VALUE": "1", "HOST.HOST": "nas-1"}
    alert = parse_webhook(p).alerts[0]
    assert alert.fingerprint == "zabbix:9" and alert.severity is Severity.CRITICAL and alert.labels["host"] == "nas-1"
