"""/notify/... through the real API handler on moto: channels as data,
validation naming the key, secrets never returned, drivers, sends."""

from __future__ import annotations

import pytest

from handler_calls import api
from receivers import http_receiver
from signalfire.notify.secrets import MASK

SLACK = {"name": "ops-slack", "driver": "slack", "description": "ops room",
         "config": {"webhook_url": "http://127.0.0.1:9/services/T0/B0/SECRETTOKEN123", "channel": "#ops"}}


def test_channel_crud_masks_secrets_and_keeps_them_on_put(moto_stack):
    created = api("POST", "/notify/channels/", SLACK)
    assert created.status == 201, created
    assert created.json["config"] == {"webhook_url": MASK, "channel": "#ops"}
    assert api("POST", "/notify/channels", SLACK).status == 409
    listed = api("GET", "/notify/channels/").json
    assert [c["name"] for c in listed["items"]] == ["ops-slack"] and "SECRETTOKEN123" not in str(listed)
    got = api("GET", "/notify/channels/ops-slack/")
    assert got.status == 200 and got.json["config"]["webhook_url"] == MASK
    # PUT with the mask keeps the stored secret; change another key
    put = api("PUT", "/notify/channels/ops-slack", {"driver": "slack", "is_active": False,
                                                   "config": {"webhook_url": MASK, "channel": "#infra"}})
    assert put.status == 200 and put.json["is_active"] is False and put.json["config"]["channel"] == "#infra"
    from signalfire import services

    stored = services.channel_store().get("ops-slack")
    assert stored is not None and stored.config["webhook_url"].endswith("SECRETTOKEN123")
    assert api("DELETE", "/notify/channels/ops-slack/").status == 204
    assert api("GET", "/notify/channels/ops-slack").status == 404
    assert api("DELETE", "/notify/channels/ops-slack").status == 404


@pytest.mark.parametrize(("body", "key"), [
    ({"name": "x", "driver": "fax", "config": {}}, "driver"),
    ({"name": "x", "driver": "email", "config": {"from_address": "a@b.c"}}, "smtp_host"),
    ({"name": "x", "driver": "pagerduty", "config": {"integration_key": "short"}}, "integration_key"),
    ({"name": "x", "driver": "generic", "config": {"endpoint": "http://127.0.0.1/", "bogus": 1}}, "bogus"),
    ({"name": "x", "driver": "generic", "config": {"endpoint": "http://169.254.169.254/latest/"}}, "link-local"),
    ({"name": "x", "driver": "slack", "config": {"webhook_url": "ssm:/elsewhere/url"}}, "signalfire/"),
    ({"name": "Bad Name!", "driver": "console", "config": {}}, "name"),
    ({"name": "x", "driver": "console", "config": {"template": "{{ ''.__class__.__mro__ }}"}}, "template"),
    ({"name": "x", "driver": "console", "config": {"template": "{{ cycler.__init__.__globals__ }}"}}, "unsafe"),
    ({"name": "x", "driver": "console", "config": {"template": "file:../../models.py"}}, "outside the template folder"),
    ({"name": "x", "driver": "generic", "config": {"endpoint": "http://127.0.0.1/", "payload_template": "{% if %}"}},
     "payload_template"),
    ({"name": "x", "driver": "email", "config": {"smtp_host": "smtp.example.com", "from_address": "a@b.c"}},
     "to_addresses"),
])
def test_invalid_channel_is_a_400_naming_the_key_and_changes_nothing(moto_stack, body, key):
    reply = api("POST", "/notify/channels/", body)
    assert reply.status == 400, reply
    assert key in reply.json["message"]
    assert api("GET", "/notify/channels/").json["count"] == 0


def test_secret_references_are_accepted_and_shown(moto_stack):
    body = {"name": "pd", "driver": "pagerduty", "config": {"integration_key": {"secretsmanager": "signalfire/notify/pd#key"}}}
    reply = api("POST", "/notify/channels/", body)
    assert reply.status == 201 and reply.json["config"]["integration_key"] == {"secretsmanager": "signalfire/notify/pd#key"}


def test_drivers_list_and_requirements(moto_stack):
    drivers = api("GET", "/notify/drivers/").json
    assert {d["driver"] for d in drivers["items"]} == {"email", "slack", "pagerduty", "generic", "console"}
    email = api("GET", "/notify/drivers/email/").json
    assert email["config"]["smtp_host"]["required"] is True and email["config"]["timeout"]["default"] == 30
    assert api("GET", "/notify/drivers/fax").status == 404


def test_send_priority_stored_channel_driver_key_and_default(moto_stack, capsys):
    with http_receiver([(200, '{"id": "r-1"}')]) as rx:
        # a driver key with the payload's config
        reply = api("POST", "/notify/send/generic/", {"title": "Hi", "severity": "warning",
                                                      "config": {"endpoint": rx.url + "/a"}})
        assert reply.status == 200 and reply.json["success"] and reply.json["driver"] == "generic"
        assert rx.requests[-1].json()["title"] == "Hi"
        # no provider, no channels: the console
        reply = api("POST", "/notify/send/", {"title": "Hello console"})
        assert reply.status == 200 and reply.json["channel"] == "console"
        assert "Hello console" in capsys.readouterr().out
        # a stored active channel by name wins; no provider = first active channel
        api("POST", "/notify/channels/", {"name": "hook", "driver": "generic", "config": {"endpoint": rx.url + "/s"}})
        reply = api("POST", "/notify/send/", {"title": "To the hook", "provider": "hook"})
        assert reply.json["channel"] == "hook" and rx.requests[-1].path == "/s"
        reply = api("POST", "/notify/send/", {"title": "Default"})
        assert reply.json["channel"] == "hook" and rx.requests[-1].json()["title"] == "Default"
        batch = api("POST", "/notify/batch/", {"notifications": [{"title": "one"}, {"title": "two", "provider": "hook"}]})
        assert batch.status == 200 and batch.json["succeeded"] == 2 and len(rx.requests) == 5


def test_send_failures_are_502_and_config_errors_400(moto_stack):
    with http_receiver([(404, "channel_not_found")]) as rx:
        reply = api("POST", "/notify/send/generic", {"title": "x", "config": {"endpoint": rx.url}})
        assert reply.status == 502 and reply.json["success"] is False and reply.json["retryable"] is False
    assert api("POST", "/notify/send/generic", {"title": "x", "config": {}}).status == 400
    assert api("POST", "/notify/send/fax", {"title": "x"}).status == 404
    assert api("POST", "/notify/send/", {"message": "no title"}).status in (400, 422)
    api("POST", "/notify/channels/", {"name": "off", "driver": "console", "is_active": False})
    assert api("POST", "/notify/send/off", {"title": "x"}).status == 400


def test_a_pipeline_naming_an_unknown_channel_is_refused_when_saved(moto_stack):
    nodes = [{"id": "n", "type": "notify", "config": {"channels": ["ops-slack"]}}]
    reply = api("POST", "/pipelines/", {"name": "paging", "config": {"version": "1.0", "nodes": nodes}})
    assert reply.status == 400 and "ops-slack" in reply.json["message"]
    assert api("POST", "/pipelines/validate", {"version": "1.0", "nodes": nodes}).status == 400
    api("POST", "/notify/channels/", {"name": "ops-slack", "driver": "console"})
    assert api("POST", "/pipelines/", {"name": "paging", "config": {"version": "1.0", "nodes": nodes}}).status == 201


def test_metadata_and_private_addresses_are_refused_even_in_local_mode(moto_stack):
    """Local mode lets channels reach loopback receivers, nothing more."""
    reply = api("POST", "/notify/channels/", {"name": "imds", "driver": "generic",
                                              "config": {"endpoint": "http://169.254.169.254/latest/"}})
    assert reply.status == 400 and "link-local" in reply.json["message"]
    reply = api("POST", "/notify/send/generic/", {"title": "x", "config": {"endpoint": "http://10.0.0.1/hook"}})
    assert reply.status == 400 and "private" in reply.json["message"]
