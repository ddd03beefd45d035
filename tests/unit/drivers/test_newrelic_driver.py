from signalfire.alerts.drivers import parse_webhook
from signalfire.alerts.models import AlertStatus, Severity


def test_legacy_open_and_closed(load):
    o = parse_webhook(load("newrelic_legacy_open"))
    c = parse_webhook(load("newrelic_legacy_closed"))
    assert o.version == "legacy"
    (oa,), (ca,) = o.alerts, c.alerts
    assert oa.fingerprint == ca.fingerprint == "newrelic:98765"
    assert oa.status is AlertStatus.FIRING and ca.status is AlertStatus.RESOLVED
    assert oa.severity is Severity.CRITICAL
    assert oa.labels["host"] == "api-host-1" and oa.labels["env"] == "prod"
    assert oa.annotations["runbook_url"] == "https://runbooks.example.org/cpu"


def test_legacy_acknowledged_warning(load):
    a = parse_webhook(load("newrelic_legacy_warning_ack")).alerts[0]
    assert a.status is AlertStatus.FIRING and a.severity is Severity.WARNING


def test_workflow_activated_closed(load):
    act = parse_webhook(load("newrelic_workflow_activated"))
    clo = parse_webhook(load("newrelic_workflow_closed"))
    assert act.version == "workflow" and act.group_key == "0ea2df1c-adab-45d2-aae0-042b609d2322"
    a, c = act.alerts[0], clo.alerts[0]
    assert a.fingerprint == c.fingerprint == "newrelic:0ea2df1c-adab-45d2-aae0-042b609d2322"
    assert a.status is AlertStatus.FIRING and c.status is AlertStatus.RESOLVED
    assert a.severity is Severity.CRITICAL and a.labels["host"] == "checkout-1"
    assert a.annotations["url"].startswith("https://radar-api.service.newrelic.com")


def test_workflow_priorities(load):
    med = parse_webhook(load("newrelic_workflow_medium_issueid")).alerts[0]
    assert med.severity is Severity.WARNING and med.fingerprint == "newrelic:5f1c-issue-2"
    assert med.status is AlertStatus.FIRING  # ACKNOWLEDGED
    low = parse_webhook(load("newrelic_workflow_low_created")).alerts[0]
    assert low.severity is Severity.INFO and low.labels["host"] == "batch-7"
    p = load("newrelic_workflow_activated")
    p["priority"] = "HIGH"
    assert parse_webhook(p).alerts[0].severity is Severity.CRITICAL
