from signalfire.alerts.drivers import get_driver, parse_webhook
from signalfire.alerts.models import AlertStatus, Severity


def test_firing_alert(load):
    result = parse_webhook(load("alertmanager_firing"))
    assert result.source == "alertmanager" and result.version == "4"
    assert result.group_key.startswith("{}/") and result.receiver == "signalfire"
    assert result.external_url == "http://alertmanager.example.org:9093"
    (alert,) = result.alerts
    assert alert.fingerprint == "3b1f4c2a9d8e7f60"
    assert alert.name == "NodeDown"
    assert alert.status is AlertStatus.FIRING and alert.severity is Severity.CRITICAL
    assert alert.labels["host"] == "web-1.example.org"  # instance without :9100
    assert alert.labels["instance"] == "web-1.example.org:9100"
    assert alert.annotations["url"].startswith("http://prometheus.example.org:9090/graph")
    assert alert.description.startswith("NodeDown has been active")
    assert alert.ended_at is None
    assert alert.started_at.year == 2024


def test_resolved_keeps_fingerprint(load):
    firing = parse_webhook(load("alertmanager_firing")).alerts[0]
    resolved = parse_webhook(load("alertmanager_resolved")).alerts[0]
    assert resolved.status is AlertStatus.RESOLVED
    assert resolved.fingerprint == firing.fingerprint
    assert resolved.ended_at is not None and resolved.ended_at.minute == 20


def test_group_gives_one_alert_each(load):
    alerts = parse_webhook(load("alertmanager_group")).alerts
    assert [a.labels["host"] for a in alerts] == ["db-1", "db-2", "db-3"]
    assert [a.status for a in alerts] == [AlertStatus.FIRING, AlertStatus.FIRING, AlertStatus.RESOLVED]
    assert {a.severity for a in alerts} == {Severity.WARNING}
    assert len({a.fingerprint for a in alerts}) == 3


def test_url_instance_and_info_severity(load):
    alert = parse_webhook(load("alertmanager_blackbox_info")).alerts[0]
    assert alert.labels["host"] == "shop.example.org"
    assert alert.severity is Severity.INFO


def test_missing_fingerprint_hashes_labels_stably(load):
    a = load("alertmanager_firing")
    b = load("alertmanager_resolved")
    for p in (a, b):
        del p["alerts"][0]["fingerprint"]
    fa = parse_webhook(a).alerts[0].fingerprint
    fb = parse_webhook(b).alerts[0].fingerprint
    assert fa == fb and len(fa) == 64
    c = load("alertmanager_firing")
    del c["alerts"][0]["fingerprint"]
    c["alerts"][0]["labels"]["instance"] = "web-2:9100"
    assert parse_webhook(c).alerts[0].fingerprint != fa


def test_unknown_or_missing_severity_defaults_to_warning(load):
    p = load("alertmanager_firing")
    del p["alerts"][0]["labels"]["severity"]
    assert parse_webhook(p).alerts[0].severity is Severity.WARNING


def test_grafana_payload_not_taken(load):
    assert get_driver("alertmanager").validate(load("grafana_unified_firing")) is False
