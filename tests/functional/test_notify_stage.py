"""The notify stage inside the real state machine (moto's interpreter, the
real ASL and stage handlers), against real local receivers."""

from __future__ import annotations

import json

import pytest
from test_local_stepfunctions import _env, sf  # noqa: F401 - the orchestration fixtures

from receivers import http_receiver, smtp_receiver

PD_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"


def _channel(name: str, driver: str, config: dict, active: bool = True) -> None:
    from signalfire import services
    from signalfire.notify.models import NotificationChannel

    services.channel_store().create(NotificationChannel(name=name, driver=driver, config=config, is_active=active))


def _deliveries(run_id: str) -> dict[str, str]:
    from signalfire import services

    return {d.channel: d.status.value for d in services.delivery_store().deliveries(run_id)}


def test_unknown_channel_fails_the_run_and_records_no_delivery(sf):  # noqa: F811
    sf.pipeline("to-nowhere", [{"id": "notify", "type": "notify", "config": {"channels": ["ops-slack"]}}])
    [run_id] = sf.fire("to-nowhere")
    run = sf.wait(run_id)["run"]
    assert run.status == "FAILED" and run.last_error_type == "ConfigurationError"
    assert "ops-slack" in run.last_error_message and run.last_error_retryable is False
    assert _deliveries(run_id) == {} and sf.delivered(run_id) == []


def test_disabled_channel_fails_the_run(sf):  # noqa: F811
    _channel("quiet", "console", {}, active=False)
    sf.pipeline("to-quiet", [{"id": "notify", "type": "notify", "config": {"channels": ["quiet"]}}])
    [run_id] = sf.fire("to-quiet")
    run = sf.wait(run_id)["run"]
    assert run.status == "FAILED" and "disabled" in run.last_error_message and _deliveries(run_id) == {}


def test_no_configuration_delivers_to_the_console(sf):  # noqa: F811
    [run_id] = sf.fire("direct")
    assert sf.wait(run_id)["run"].status == "NOTIFIED"
    assert _deliveries(run_id) == {"console": "delivered"} and sf.delivered(run_id) == ["notify"]
    line = json.loads(sf.outbox.read_text().splitlines()[-1])
    assert "Where:    web-1" in line["text"] and line["message"] == "disk / is 97% full"


def test_smtp_451_twice_then_accepted_is_exactly_one_email(sf):  # noqa: F811
    with smtp_receiver(fail_times=2, fail_code=451) as smtp:
        _channel("mail", "email", {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "use_tls": False,
                                   "from_address": "sf@example.com", "to_addresses": ["ops@example.com"]})
        sf.pipeline("mail", [{"id": "notify", "type": "notify", "config": {"channels": ["mail"]}}])
        [run_id] = sf.fire("mail")
        done = sf.wait(run_id)
        assert done["run"].status == "NOTIFIED", done["run"].last_error_message
        assert len(smtp.messages) == 1 and smtp.attempts == 3
    assert [s.status for s in done["stages"]] == ["FAILED", "FAILED", "SUCCEEDED"]
    assert done["stages"][0].error_type == "StageRetryableError" and "451" in done["stages"][0].error_message


def test_one_channel_down_other_delivers_once_and_resume_sends_only_the_missing(sf):  # noqa: F811
    from signalfire import services
    from signalfire.runs.resume import resume_run

    with http_receiver([(200, "ok")]) as up, http_receiver([(503, "down for maintenance")]) as down:
        _channel("up", "generic", {"endpoint": up.url + "/up"})
        _channel("down", "generic", {"endpoint": down.url + "/down"})
        sf.pipeline("both", [{"id": "notify", "type": "notify", "config": {"channels": ["up", "down"]}}])
        [run_id] = sf.fire("both")
        failed = sf.wait(run_id)["run"]
        assert failed.status == "FAILED" and failed.last_error_type == "StageRetryableError"
        assert "down: failed" in failed.last_error_message and "503" in failed.last_error_message
        assert len(up.requests) == 1 and len(down.requests) == 4  # first try + 3 retries
        assert _deliveries(run_id) == {"up": "delivered", "down": "failed"}

        down.script = [(200, "ok")]  # the receiver is back
        resume_run(run_id, services.launcher())
        done = sf.wait(run_id, f"{run_id}-resume-1")
        assert done["run"].status == "NOTIFIED"
        assert len(up.requests) == 1 and len(down.requests) == 5
        assert _deliveries(run_id) == {"up": "delivered", "down": "delivered"}
        last = [s for s in done["stages"] if s.status == "SUCCEEDED"][-1].output_snapshot
        assert last["channels_already_delivered"] == ["up"] and last["channels_succeeded"] == ["down"]


def test_a_permanent_failure_fails_the_run_without_retries(sf):  # noqa: F811
    with http_receiver([(404, "channel_not_found")]) as rx:
        _channel("gone", "generic", {"endpoint": rx.url})
        sf.pipeline("gone", [{"id": "notify", "type": "notify", "config": {"drivers": ["generic"]}}])
        [run_id] = sf.fire("gone")
        run = sf.wait(run_id)["run"]
        assert run.status == "FAILED" and run.last_error_type == "DeliveryFailedError" and len(rx.requests) == 1


def test_firing_then_resolved_is_one_message_each_with_one_dedup_key(sf):  # noqa: F811
    answer = '{"status": "success", "message": "Event processed"}'
    with http_receiver([(200, "ok")]) as hook, http_receiver([(202, answer)]) as pd:
        _channel("hook", "generic", {"endpoint": hook.url})
        _channel("pd", "pagerduty", {"integration_key": PD_KEY, "events_url": pd.url + "/v2/enqueue"})
        sf.pipeline("page", [{"id": "notify", "type": "notify", "config": {"channels": ["hook", "pd"]}}])
        [fired] = sf.fire("page", name="DiskFull")
        assert sf.wait(fired)["run"].status == "NOTIFIED"
        [resolved] = sf.fire("page", name="DiskFull", status="resolved")
        assert sf.wait(resolved)["run"].status == "NOTIFIED"
        assert [r.json()["event"] for r in hook.requests] == ["trigger", "resolve"]
        assert hook.requests[1].json()["severity"] == "success"
        events = [r.json() for r in pd.requests]
        assert [e["event_action"] for e in events] == ["trigger", "resolve"]
        assert events[0]["dedup_key"] == events[1]["dedup_key"]


def test_acknowledge_through_the_api_tells_pagerduty(sf, monkeypatch):  # noqa: F811
    import boto3

    from handler_calls import api
    from signalfire import services
    from support import ADMIN_TOKEN, WEBHOOK_TOKEN

    sm = boto3.client("secretsmanager", region_name="us-east-1")
    for name, value in (("sf/admin", ADMIN_TOKEN), ("sf/webhook", WEBHOOK_TOKEN), ("sf/signing", "{}")):
        sm.create_secret(Name=name, SecretString=value)
    monkeypatch.setenv("SIGNALFIRE_ADMIN_TOKEN_SECRET", "sf/admin")
    monkeypatch.setenv("SIGNALFIRE_WEBHOOK_TOKEN_SECRET", "sf/webhook")
    monkeypatch.setenv("SIGNALFIRE_SIGNING_SECRET", "sf/signing")
    services.reset()
    answer = '{"status": "success", "message": "Event processed"}'
    with http_receiver([(202, answer)]) as pd:
        _channel("pd", "pagerduty", {"integration_key": PD_KEY, "events_url": pd.url + "/v2/enqueue"})
        sf.pipeline("page", [{"id": "notify", "type": "notify", "config": {"channels": ["pd"]}}])
        [fired] = sf.fire("page", name="DiskFull")
        run = sf.wait(fired)["run"]
        reply = api("POST", f"/incidents/{run.incident_id}/acknowledge/", {"by": "alice"})
        assert reply.status == 200 and reply.json["status"] == "acknowledged"
        [ack_run] = reply.json["run_ids"]
        assert sf.wait(ack_run)["run"].status == "NOTIFIED"
        trigger, ack = (r.json() for r in pd.requests)
    assert ack == {"routing_key": PD_KEY, "event_action": "acknowledge", "dedup_key": trigger["dedup_key"]}


@pytest.mark.parametrize("channels", [["console"], None])
def test_resume_of_a_notify_node_sends_nothing_twice(sf, channels):  # noqa: F811
    from signalfire import services
    from signalfire.runs.resume import resume_run

    sf.pipeline("once", [{"id": "notify", "type": "notify", "config": {"channels": channels} if channels else {}}])
    [run_id] = sf.fire("once")
    sf.wait(run_id)
    services.run_store().update_run(run_id, {"status": "FAILED", "failed_index": 0})
    resume_run(run_id, services.launcher())
    sf.wait(run_id, f"{run_id}-resume-1")
    assert sf.delivered(run_id) == ["notify"]
