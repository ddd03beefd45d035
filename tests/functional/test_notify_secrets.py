"""Secret references resolved from (moto's) SSM Parameter Store and Secrets
Manager through Powertools Parameters at send time, never shown back; and
the AWS calls one delivery costs."""

from __future__ import annotations

import json

import boto3

from receivers import http_receiver

PD_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"


def test_references_resolve_at_send_time_and_are_never_returned(moto_stack):
    from handler_calls import api

    with http_receiver([(200, "ok")]) as hook, http_receiver([(202, '{"status":"success"}')]) as pd:
        boto3.client("ssm").put_parameter(Name="/signalfire/notify/hook-url", Value=hook.url + "/from-ssm",
                                          Type="SecureString")
        boto3.client("secretsmanager").create_secret(Name="signalfire/notify/pd",
                                                     SecretString=json.dumps({"routing_key": PD_KEY}))
        for body in ({"name": "hook", "driver": "generic", "config": {"endpoint": "ssm:/signalfire/notify/hook-url",
                                                                       "headers": {"X-Team": "ops"}}},
                     {"name": "pd", "driver": "pagerduty",
                      "config": {"integration_key": {"secretsmanager": "signalfire/notify/pd#routing_key"},
                                 "events_url": pd.url + "/v2/enqueue"}}):
            created = api("POST", "/notify/channels/", body)
            assert created.status == 201, created
            assert hook.url not in json.dumps(created.json) and PD_KEY not in json.dumps(created.json)
        assert api("POST", "/notify/send/", {"title": "via ssm", "provider": "hook"}).json["success"]
        assert hook.requests[0].path == "/from-ssm" and hook.requests[0].headers["x-team"] == "ops"
        assert api("POST", "/notify/send/pd", {"title": "via secrets manager"}).json["success"]
        assert pd.requests[0].json()["routing_key"] == PD_KEY
        listed = json.dumps(api("GET", "/notify/channels/").json)
        assert PD_KEY not in listed and "/from-ssm" not in listed and "ops" not in listed  # header values masked


def test_a_missing_reference_is_a_clear_non_retryable_failure(moto_stack):
    from handler_calls import api

    api("POST", "/notify/channels/", {"name": "ghost", "driver": "slack",
                                     "config": {"webhook_url": "ssm:/signalfire/notify/does-not-exist"}})
    reply = api("POST", "/notify/send/ghost", {"title": "x"})
    assert reply.status == 502 and reply.json["retryable"] is False
    assert "/signalfire/notify/does-not-exist" in reply.json["error"]


def test_dynamodb_calls_per_delivered_channel(moto_stack, dynamodb_calls):
    """Claim (GetItem + conditional PutItem), outcome (PutItem), firing record
    (PutItem): 4 calls per channel, plus one channel lookup per named channel."""
    from signalfire import services
    from signalfire.notify.channels import Runtime
    from signalfire.notify.models import NotificationChannel, NotificationMessage
    from signalfire.notify.outbound import OutboundPolicy
    from signalfire.notify.service import NotifyService

    with http_receiver([(200, "ok")]) as rx:
        for name in ("a", "b"):
            services.channel_store().create(NotificationChannel(name=name, driver="generic",
                                                                config={"endpoint": f"{rx.url}/{name}"}))
        notify = NotifyService(services.channel_store(), services.delivery_store(),
                               Runtime(policy=OutboundPolicy(allow_loopback=True), local_mode=True))
        dynamodb_calls.reset()
        targets = notify.select_for_node({"channels": ["a", "b"]})
        message = NotificationMessage(title="t", dedup_key="signalfire/incident/i-1")
        result = notify.deliver(message, targets, run_id="r-1", node_id="notify", incident_id="i-1")
        assert result.channels_succeeded == ["a", "b"]
        assert sorted(dynamodb_calls.calls) == sorted(["GetItem"] * 2 + ["GetItem", "PutItem", "PutItem", "PutItem"] * 2)
        dynamodb_calls.reset()
        again = notify.deliver(message, targets, run_id="r-1", node_id="notify", incident_id="i-1")
        assert again.channels_already_delivered == ["a", "b"] and len(rx.requests) == 2
        # a repeat costs the claim only: GetItem + refused PutItem + GetItem of the winner
        assert sorted(dynamodb_calls.calls) == sorted(["GetItem", "PutItem", "GetItem"] * 2)


def test_public_url_comes_from_the_stack_parameter_in_aws(moto_stack, monkeypatch):
    from signalfire.stages.notify import public_url

    boto3.client("ssm").put_parameter(Name="/signalfire/notify/sf/public-url", Value="https://abc.execute-api.x",
                                      Type="String")
    monkeypatch.setenv("SIGNALFIRE_PUBLIC_URL_PARAMETER", "/signalfire/notify/sf/public-url")
    monkeypatch.delenv("SIGNALFIRE_PUBLIC_URL", raising=False)
    monkeypatch.setenv("SIGNALFIRE_LOCAL", "false")
    assert public_url() == "https://abc.execute-api.x"
    monkeypatch.setenv("SIGNALFIRE_PUBLIC_URL_PARAMETER", "/signalfire/notify/missing")
    assert public_url() == ""  # no links, never a failed notification
    monkeypatch.setenv("SIGNALFIRE_PUBLIC_URL", "http://127.0.0.1:3000")
    assert public_url() == "http://127.0.0.1:3000"
