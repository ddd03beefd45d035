from signalfire.alerts.drivers import detect_driver, parse_webhook
from signalfire.alerts.models import AlertStatus, Severity


def test_unified_firing_group(load):
    result = parse_webhook(load("grafana_unified_firing"))
    assert result.source == "grafana" and result.version == "1"
    assert result.group_key.startswith("{}/")
    assert [a.fingerprint for a in result.alerts] == ["c6eadffa33fcdf37", "bc97ff14869b13e3"]
    first = result.alerts[0]
    assert first.status is AlertStatus.FIRING and first.severity is Severity.CRITICAL
    assert first.labels["host"] == "app-1"
    assert first.annotations["silence_url"].startswith("https://grafana.example.org/alerting/silence")
    assert first.annotations["value_string"].startswith("[ var='B'")
    assert '"B":93.2' in first.annotations["values"]


def test_unified_resolved_same_fingerprint(load):
    firing = parse_webhook(load("grafana_unified_firing")).alerts[0]
    resolved = parse_webhook(load("grafana_unified_resolved")).alerts[0]
    assert resolved.status is AlertStatus.RESOLVED
    assert resolved.fingerprint == firing.fingerprint


def test_unified_without_orgid_still_grafana_by_alert_fields(load):
    p = load("grafana_unified_firing")
    for key in ("orgId", "title", "state", "message"):
        del p[key]
    assert detect_driver(p).name == "grafana"


def test_legacy_alerting_and_ok_match(load):
    firing = parse_webhook(load("grafana_legacy_alerting"))
    ok = parse_webhook(load("grafana_legacy_ok"))
    assert firing.version == "legacy"
    (fa,), (oa,) = firing.alerts, ok.alerts
    assert fa.status is AlertStatus.FIRING and oa.status is AlertStatus.RESOLVED
    assert fa.fingerprint == oa.fingerprint  # ok carries no evalMatches, so per-rule fingerprint
    assert fa.severity is Severity.CRITICAL  # from tags.severity
    assert fa.name == "Cache memory alert"
    assert fa.labels["host"] == "cache-1"
    assert "High value=100" in fa.annotations["eval_matches"]


def test_legacy_no_data_is_firing_warning(load):
    alert = parse_webhook(load("grafana_legacy_no_data")).alerts[0]
    assert alert.status is AlertStatus.FIRING and alert.severity is Severity.WARNING


def test_legacy_paused_resolves(load):
    p = load("grafana_legacy_alerting")
    p["state"] = "paused"
    assert parse_webhook(p).alerts[0].status is AlertStatus.RESOLVED
