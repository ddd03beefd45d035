"""Bad input gets a clear 4xx, never a 500, and is kept for replay."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from handler_calls import api, webhook
from support import ADMIN_TOKEN, WEBHOOK_TOKEN


def test_no_token_is_401_and_wrong_token_is_401(moto_stack):
    r = webhook({"name": "x"}, token=None)
    assert r.status == 401 and "Bearer" in r.json["message"]
    assert webhook({"name": "x"}, token="nope").status == 401


def test_query_token_is_accepted(moto_stack):
    from support import WEBHOOK_TOKEN

    assert webhook({"name": "x"}, token=None, query={"token": WEBHOOK_TOKEN}).status == 202


def test_webhook_token_cannot_use_management_routes(moto_stack):
    from support import WEBHOOK_TOKEN

    r = api("GET", "/incidents/", token=WEBHOOK_TOKEN)
    assert r.status == 403 and "admin token" in r.json["message"]
    assert api("GET", "/incidents/", token=None).status == 401


def test_admin_token_may_send_webhooks(moto_stack):
    assert webhook({"name": "x"}, token=ADMIN_TOKEN).status == 202


@pytest.mark.parametrize("body, words", [
    (b"{not json", "not valid JSON"),
    (b"", "empty body"),
    (b"   ", "empty body"),
    (b"[1, 2]", "JSON object"),
    (b'"text"', "JSON object"),
    (b"42", "JSON object"),
    (b"\xff\xfe\x00", "UTF-8"),
])
def test_unparseable_bodies_are_400_with_a_reason(moto_stack, body, words):
    r = webhook(body)
    assert r.status == 400, r
    assert words.lower() in r.json["message"].lower()


def test_payload_no_driver_accepts_is_400_and_names_what_was_expected(moto_stack):
    r = webhook({"hello": "world"})
    assert r.status == 400
    assert "alerts" in r.json["message"] or "name" in r.json["message"]


def test_unknown_driver_is_404(moto_stack):
    r = webhook({"name": "x"}, driver="nagios")
    assert r.status == 404
    assert "alertmanager" in r.json["message"]


def test_forced_driver_that_rejects_payload_is_400(moto_stack):
    r = webhook({"name": "x", "severity": "critical"}, driver="zabbix")
    assert r.status == 400
    assert "zabbix" in r.json["message"].lower()


def test_wrong_types_are_400_not_500(moto_stack):
    bad = {"version": "4", "status": "firing", "receiver": "r", "groupKey": "g", "alerts": "not-a-list"}
    assert webhook(bad).status == 400
    bad2 = {"version": "4", "status": "firing", "receiver": "r", "groupKey": "g", "alerts": [42]}
    assert webhook(bad2).status == 400


def test_body_over_limit_is_413(moto_stack, monkeypatch):
    from signalfire import services

    monkeypatch.setenv("SIGNALFIRE_MAX_BODY_BYTES", "2048")
    services.reset()
    r = webhook({"name": "x", "description": "y" * 5000})
    assert r.status == 413 and "2048" in r.json["message"]


def test_rejected_payloads_are_kept_once_with_a_count(moto_stack):
    for _ in range(3):
        assert webhook(b"{broken").status == 400
    assert webhook({"hello": "world"}).status == 400
    page = api("GET", "/alerts/rejected/").json
    assert page["count"] == 2
    broken = next(i for i in page["items"] if i["count"] == 3)
    assert "not valid JSON" in broken["reason"]
    detail = api("GET", f"/alerts/rejected/{broken['id']}").json
    assert detail["body"] == "{broken" and detail["status_code"] == 400


def test_unauthenticated_bodies_are_not_kept(moto_stack):
    webhook(b"{broken", token=None)
    assert api("GET", "/alerts/rejected/").json["count"] == 0


def test_throttled_store_answers_503_so_the_sender_retries(moto_stack, monkeypatch):
    from signalfire import aws

    client = aws.client("dynamodb")

    def throttled(**kwargs):
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
                          "GetItem")

    monkeypatch.setattr(client, "get_item", throttled)
    r = webhook({"name": "x"})
    assert r.status == 503
    assert "retry" in r.json["message"]


def test_bad_query_parameters_are_400(moto_stack):
    assert api("GET", "/alerts/", query={"status": "burning"}).status == 400
    assert api("GET", "/alerts/", query={"since": "yesterday-ish"}).status == 400
    assert api("GET", "/alerts/", query={"limit": "0"}).status == 400
    assert api("GET", "/alerts/", query={"limit": "abc"}).status == 400
    assert api("GET", "/alerts/", query={"next_token": "@@@"}).status == 400


def test_a_stranger_learns_nothing_from_validation(moto_stack):
    """Powertools validates before our middleware runs; the answer is still 401/403."""
    assert api("GET", "/alerts/", query={"limit": "0"}, token=None).status == 401
    assert api("POST", "/pipelines", body=b"{oops", token=None).status == 401
    assert api("POST", "/pipelines", body=b"{oops", token=WEBHOOK_TOKEN).status == 403
    assert api("POST", "/pipelines", body=b"{oops").status == 400


def test_unknown_ids_are_404(moto_stack):
    assert api("GET", "/alerts/al_missing").status == 404
    assert api("GET", "/incidents/inc_missing").status == 404
    assert api("POST", "/incidents/inc_missing/acknowledge").status == 404
    assert api("GET", "/no/such/route").status == 404


def test_bad_action_body_is_400(moto_stack):
    r = webhook({"name": "x"})
    inc = r.json["incidents"][0]["incident_id"]
    assert api("POST", f"/incidents/{inc}/acknowledge", body=b"{oops").status == 400
    assert api("POST", f"/incidents/{inc}/notes", body={"nope": 1}).status == 400
    assert api("POST", f"/incidents/{inc}/notes", body={"text": "   "}).status == 400
    assert json.dumps(api("GET", f"/incidents/{inc}").json)  # still readable


def test_huge_incompressible_rejected_body_is_kept_truncated(moto_stack):
    import base64
    import os

    body = base64.b64encode(os.urandom(700 * 1024))  # ~930 KB of text that gzip cannot shrink much
    assert webhook(body).status == 413  # over MaxBodyBytes, and kept all the same
    item = api("GET", "/alerts/rejected/").json["items"][0]
    assert item["body_truncated"] is True and item["body_bytes"] == len(body)
    detail = api("GET", f"/alerts/rejected/{item['id']}").json
    assert 100_000 < len(detail["body"]) < len(body)
    assert body.decode().startswith(detail["body"])


def test_signed_sender_with_bad_signature_is_401_and_not_kept(moto_stack, monkeypatch):
    import boto3

    from signalfire import services

    boto3.client("secretsmanager").put_secret_value(SecretId=moto_stack["secrets"]["SigningKeysSecret"],
                                                    SecretString='{"generic": "sign-key"}')
    services.reset()
    r = webhook({"name": "signed"}, extra_headers={"x-signalfire-signature": "sha256=00"})
    assert r.status == 401 and "signature" in r.json["message"]
    unsigned = webhook({"name": "signed"})
    assert unsigned.status == 401 and "not signed" in unsigned.json["message"]
    assert api("GET", "/alerts/rejected/").json["count"] == 0
    import hashlib
    import hmac

    body = json.dumps({"name": "signed"}).encode()
    good = hmac.new(b"sign-key", body, hashlib.sha256).hexdigest()
    assert webhook(body, extra_headers={"x-signalfire-signature": f"sha256={good}"}).status == 202
