"""Each channel against a real local receiver: aiosmtpd for email, HTTP
servers for Slack, PagerDuty and generic, checked against each vendor's
documented request format (PagerDuty Events API v2 OpenAPI schema; Slack
incoming webhook + Block Kit limits)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from receivers import http_receiver, smtp_receiver
from signalfire.alerts.models import Alert, AlertStatus, Incident, Severity
from signalfire.notify.channels import get_channel
from signalfire.notify.channels.base import Runtime
from signalfire.notify.compose import compose, dedup_key
from signalfire.notify.models import NotificationEvent, NotificationMessage
from signalfire.notify.outbound import OutboundPolicy
from signalfire.timeutil import utcnow

LOCAL = Runtime(policy=OutboundPolicy(allow_loopback=True), local_mode=True)
PD_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"


def incident_message(event: NotificationEvent = NotificationEvent.TRIGGER) -> NotificationMessage:
    now = utcnow()
    incident = Incident(id="inc-1", title="DiskFull", severity=Severity.CRITICAL, description="/ is 97% full & <rising>",
                        source="alertmanager", created_at=now - timedelta(minutes=12), alert_count=1)
    alert = Alert(id="a1", fingerprint="f", source="alertmanager", name="DiskFull", severity=Severity.CRITICAL,
                  status=AlertStatus.FIRING, description="/ is 97% full on web-1 <script>",
                  labels={"host": "web-1"}, started_at=now - timedelta(minutes=12), received_at=now, updated_at=now)
    checks = {"checks_run": 2, "checks_failed": 1, "hosts_without_results": [],
              "checks": [{"host": "web-1", "checker_name": "disk", "status": "critical", "message": "97% used"}]}
    analysis = {"provider": "local", "summary": "1 recommendation(s); most likely: Disk space",
                "probable_cause": "Disk space", "actions": ["Rotate or delete old logs"],
                "recommendations": [{"title": "Disk space"}]}
    return compose(incident=incident, alerts=[alert], event=event, checks=checks, analysis=analysis,
                   run={"run_id": "run-1", "trace_id": "tr-1", "pipeline": "full", "source": "alertmanager",
                        "node_id": "notify"}, base_url="http://127.0.0.1:3000")


def test_email_is_multipart_text_html_and_json_incident():
    with smtp_receiver() as smtp:
        config = {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "use_tls": False,
                  "from_address": "signalfire@example.com", "to_addresses": "ops@example.com, oncall@example.com"}
        result = get_channel("email", LOCAL).send(incident_message(), config)
        assert result.success, result.error
        assert len(smtp.messages) == 1
        mail = smtp.messages[0]
    assert smtp.envelopes[0] == ("signalfire@example.com", ["ops@example.com", "oncall@example.com"])
    assert result.message_id == mail["Message-ID"]
    assert "[FIRING] DiskFull on web-1" in mail["Subject"]
    assert mail["X-Signalfire-Incident"] == "inc-1" and mail["X-Signalfire-Severity"] == "critical"
    assert mail.get_content_type() == "multipart/mixed"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    for needle in ("DiskFull", "web-1", "Since:", "97% used", "Rotate or delete old logs",
                   "http://127.0.0.1:3000/incidents/inc-1", "http://127.0.0.1:3000/runs/run-1"):
        assert needle in text, needle
    assert "&lt;script&gt;" in html and "<script>" not in html  # HTML autoescaped
    attachment = next(p for p in mail.iter_attachments() if p.get_content_type() == "application/json")
    assert attachment.get_filename() == "incident.json"
    payload = json.loads(attachment.get_content())
    assert payload["incident"]["id"] == "inc-1" and payload["dedup_key"] == dedup_key("inc-1")


@pytest.mark.parametrize(("code", "retryable"), [(451, True), (452, True), (550, False), (554, False)])
def test_smtp_4xx_is_retryable_5xx_is_not(code, retryable):
    with smtp_receiver(fail_times=1, fail_code=code) as smtp:
        config = {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "use_tls": False,
                  "from_address": "sf@example.com", "to_addresses": ["ops@example.com"]}
        result = get_channel("email", LOCAL).send(incident_message(), config)
        assert not result.success and result.retryable is retryable
        assert str(code) in result.error and smtp.messages == []


def test_smtp_451_twice_then_accepted_delivers_exactly_one_email():
    with smtp_receiver(fail_times=2, fail_code=451) as smtp:
        config = {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "use_tls": False,
                  "from_address": "sf@example.com", "to_addresses": ["ops@example.com"]}
        channel = get_channel("email", LOCAL)
        results = [channel.send(incident_message(), config) for _ in range(2)]
        assert [r.retryable for r in results] == [True, True]
        final = channel.send(incident_message(), config)
        assert final.success
        assert len(smtp.messages) == 1 and smtp.attempts == 3


def test_smtp_nothing_listening_is_a_clear_retryable_error():
    with smtp_receiver() as smtp:
        port = smtp.port
    result = get_channel("email", LOCAL).send(incident_message(), {
        "smtp_host": "127.0.0.1", "smtp_port": port, "use_tls": False, "from_address": "sf@example.com",
        "to_addresses": ["ops@example.com"]})
    assert not result.success and result.retryable and f"127.0.0.1:{port}" in result.error


def test_smtp_starttls_required_but_not_offered_is_not_retried():
    with smtp_receiver() as smtp:
        result = get_channel("email", LOCAL).send(incident_message(), {
            "smtp_host": "127.0.0.1", "smtp_port": smtp.port, "use_tls": True, "from_address": "sf@example.com",
            "to_addresses": ["ops@example.com"]})
    assert not result.success and not result.retryable and "STARTTLS" in result.error


def test_slack_block_kit_with_fallback_text_colour_and_overrides():
    with http_receiver([(200, "ok")]) as rx:
        config = {"webhook_url": f"{rx.url}/services/T000/B000/XXXX", "channel": "#ops", "username": "signalfire",
                  "icon_emoji": ":rotating_light:"}
        result = get_channel("slack", LOCAL).send(incident_message(), config)
        assert result.success, result.error
        (req,) = rx.requests
    body = req.json()
    assert req.method == "POST" and req.path == "/services/T000/B000/XXXX"
    assert req.headers["content-type"] == "application/json"
    assert body["text"].startswith("FIRING: DiskFull on web-1")  # what Slack shows in notifications
    assert body["channel"] == "#ops" and body["username"] == "signalfire" and body["icon_emoji"] == ":rotating_light:"
    types = [b["type"] for b in body["blocks"]]
    assert types[0] == "header" and "section" in types and "actions" in types
    header = body["blocks"][0]["text"]
    assert header["type"] == "plain_text" and len(header["text"]) <= 150
    for block in body["blocks"]:
        if block["type"] == "section" and "text" in block:
            assert block["text"]["type"] == "mrkdwn" and len(block["text"]["text"]) <= 3000
        if block["type"] == "section" and "fields" in block:
            assert len(block["fields"]) <= 10
    buttons = next(b for b in body["blocks"] if b["type"] == "actions")["elements"]
    assert {b["url"] for b in buttons} >= {"http://127.0.0.1:3000/incidents/inc-1"}
    assert body["attachments"][0]["color"] == "#d7263d"
    section = next(b for b in body["blocks"] if b["type"] == "section" and "text" in b)["text"]["text"]
    assert "&amp; &lt;rising&gt;" in section and "<rising>" not in section  # mrkdwn control characters escaped


@pytest.mark.parametrize(("status", "text", "retryable"), [
    (400, "invalid_payload", False), (403, "action_prohibited", False), (404, "channel_not_found", False),
    (410, "channel_is_archived", False), (429, "rate_limited", True), (500, "rollup_error", True)])
def test_slack_documented_errors(status, text, retryable):
    with http_receiver([(status, text)]) as rx:
        result = get_channel("slack", LOCAL).send(incident_message(), {"webhook_url": f"{rx.url}/services/x"})
    assert not result.success and result.retryable is retryable
    assert str(status) in result.error and text in result.error


def test_slack_prefix_enforced_outside_local_mode():
    from signalfire.errors import ConfigurationError
    from signalfire.notify.outbound import DestinationRefused

    channel = get_channel("slack", Runtime(policy=OutboundPolicy(), local_mode=False))
    with pytest.raises(DestinationRefused, match="hooks.slack.com"):
        channel.validate_config({"webhook_url": "https://evil.example.com/services/x"})
    result = channel.send(incident_message(), {"webhook_url": "https://evil.example.com/services/x"})
    assert not result.success and not result.retryable and "hooks.slack.com" in result.error
    with pytest.raises(ConfigurationError, match="webhook_url"):
        channel.validate_config({})


def test_pagerduty_trigger_acknowledge_resolve_share_the_incident_dedup_key():
    answer = json.dumps({"status": "success", "message": "Event processed", "dedup_key": dedup_key("inc-1")})
    with http_receiver([(202, answer)]) as rx:
        config = {"integration_key": PD_KEY, "events_url": f"{rx.url}/v2/enqueue", "client_url": "http://sf.example"}
        channel = get_channel("pagerduty", LOCAL)
        results = [channel.send(incident_message(e), config) for e in
                   (NotificationEvent.TRIGGER, NotificationEvent.ACKNOWLEDGE, NotificationEvent.RESOLVE)]
        assert all(r.success for r in results), [r.error for r in results]
        trigger, ack, resolve = (r.json() for r in rx.requests)
    assert {r.path for r in rx.requests} == {"/v2/enqueue"}
    # PagerDuty Events API v2 schema: routing_key + event_action required; payload summary/severity/source
    assert trigger["routing_key"] == PD_KEY and trigger["event_action"] == "trigger"
    assert trigger["dedup_key"] == ack["dedup_key"] == resolve["dedup_key"] == dedup_key("inc-1")
    assert (ack["event_action"], resolve["event_action"]) == ("acknowledge", "resolve")
    payload = trigger["payload"]
    assert set(payload) >= {"summary", "severity", "source"}
    assert payload["severity"] in {"critical", "error", "warning", "info"} and payload["severity"] == "critical"
    assert payload["source"] == "web-1" and len(payload["summary"]) <= 1024
    assert trigger["client"] == "signalfire" and trigger["client_url"] == "http://sf.example"
    assert all(set(link) <= {"href", "text"} for link in trigger["links"])
    assert "payload" not in ack and "payload" not in resolve
    assert results[0].message_id == dedup_key("inc-1")


def test_pagerduty_summary_capped_and_errors_classified():
    long = NotificationMessage(title="x" * 1500, message="y" * 2000, severity="info")
    with http_receiver([(202, '{"status":"success","dedup_key":"k"}')]) as rx:
        get_channel("pagerduty", LOCAL).send(long, {"integration_key": PD_KEY, "events_url": rx.url + "/v2/enqueue"})
        assert len(rx.requests[0].json()["payload"]["summary"]) == 1024
    bad = '{"status":"invalid event","message":"Event object is invalid","errors":["Length of \'routing_key\' is incorrect"]}'
    for status, body, retryable in [(400, bad, False), (429, "", True), (503, "", True)]:
        with http_receiver([(status, body)]) as rx:
            result = get_channel("pagerduty", LOCAL).send(long, {"integration_key": PD_KEY,
                                                                 "events_url": rx.url + "/v2/enqueue"})
        assert not result.success and result.retryable is retryable, status
        if status == 400:
            assert result.metadata["errors"] == ["Length of 'routing_key' is incorrect"]


def test_pagerduty_seed_acknowledge_and_resolve_methods():
    with http_receiver([(202, '{"status":"success"}')]) as rx:
        channel = get_channel("pagerduty", LOCAL)
        config = {"integration_key": PD_KEY, "events_url": rx.url + "/v2/enqueue"}
        assert channel.acknowledge("k-1", config).success and channel.resolve("k-1", config).success
        assert [r.json() for r in rx.requests] == [
            {"routing_key": PD_KEY, "event_action": "acknowledge", "dedup_key": "k-1"},
            {"routing_key": PD_KEY, "event_action": "resolve", "dedup_key": "k-1"}]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_generic_sends_json_with_method_and_headers(method):
    with http_receiver([(201, '{"id": "m-7"}')]) as rx:
        result = get_channel("generic", LOCAL).send(incident_message(), {
            "endpoint": rx.url + "/hook", "method": method.lower(), "headers": {"X-Team": "ops"}})
        assert result.success and result.message_id == "m-7"
        (req,) = rx.requests
    body = req.json()
    assert req.method == method and req.headers["x-team"] == "ops"
    assert body["title"] == "DiskFull" and body["severity"] == "critical" and body["event"] == "trigger"
    assert body["context"]["incident"]["id"] == "inc-1" and "web-1" in body["text"]


def test_generic_get_payload_template_and_disabled():
    with http_receiver([(200, "")]) as rx:
        channel = get_channel("generic", LOCAL)
        assert channel.send(incident_message(), {"webhook_url": rx.url + "/g", "method": "GET"}).success
        assert rx.requests[0].method == "GET" and "title=DiskFull" in rx.requests[0].path
        tpl = '{"summary": {{ (title ~ " on " ~ hosts|join(",")) | tojson }}, "sev": "{{ severity }}"}'
        assert channel.send(incident_message(), {"endpoint": rx.url + "/t", "payload_template": tpl}).success
        assert rx.requests[1].json() == {"summary": "DiskFull on web-1", "sev": "critical"}
        disabled = channel.send(incident_message(), {"endpoint": rx.url + "/d", "disabled": True})
        assert disabled.success and disabled.metadata["sent"] is False and len(rx.requests) == 2


def test_generic_redirect_is_not_followed():
    with http_receiver([(302, "")]) as rx:
        rx.extra_headers["Location"] = "http://169.254.169.254/latest/meta-data/"
        result = get_channel("generic", LOCAL).send(incident_message(), {"endpoint": rx.url + "/r"})
        assert not result.success and not result.retryable and "redirect" in result.error
        assert len(rx.requests) == 1


def test_response_size_is_capped():
    from signalfire.notify import outbound

    with http_receiver([(500, "E" * (outbound.RESPONSE_CAP * 4))]) as rx:
        reply = outbound.request("POST", rx.url, OutboundPolicy(allow_loopback=True), json_body={})
    assert reply.truncated and len(reply.text) == outbound.RESPONSE_CAP


def test_console_prints_the_rendered_notification(capsys, tmp_path):
    outbox = tmp_path / "outbox.jsonl"
    runtime = Runtime(policy=OutboundPolicy(allow_loopback=True), local_mode=True, outbox=str(outbox))
    result = get_channel("console", runtime).send(incident_message(), {})
    printed = capsys.readouterr().out
    assert result.success and result.message_id == "console-run-1"
    assert "FIRING: DiskFull" in printed and "Where:    web-1" in printed and "Rotate or delete old logs" in printed
    line = json.loads(outbox.read_text().splitlines()[0])
    assert line["title"] == "DiskFull" and line["tags"]["run_id"] == "run-1"
