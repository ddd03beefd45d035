from signalfire.alerts.drivers import parse_webhook
from signalfire.alerts.models import AlertStatus, Severity


def test_single_alert(load):
    alert = parse_webhook(load("generic_single")).alerts[0]
    assert alert.name == "Backup failed" and alert.severity is Severity.CRITICAL
    assert alert.labels["host"] == "pg-main" and alert.description.startswith("nightly backup")


def test_alerts_list(load):
    result = parse_webhook(load("generic_alerts_list"))
    first, second = result.alerts
    assert result.group_key == "cron"
    assert first.fingerprint == "cron-reports" and first.labels["host"] == "cron-1"
    assert first.status is AlertStatus.FIRING and first.severity is Severity.WARNING
    assert second.status is AlertStatus.RESOLVED and second.severity is Severity.INFO
    assert second.ended_at is not None


def test_fingerprint_from_name_and_labels_stable_across_status(load):
    a = load("generic_single")
    b = load("generic_single")
    b["status"] = "resolved"
    b["severity"] = "warning"
    fa, fb = parse_webhook(a).alerts[0], parse_webhook(b).alerts[0]
    assert fa.fingerprint == fb.fingerprint and fb.status is AlertStatus.RESOLVED
    c = load("generic_single")
    c["labels"]["host"] = "pg-replica"
    assert parse_webhook(c).alerts[0].fingerprint != fa.fingerprint
