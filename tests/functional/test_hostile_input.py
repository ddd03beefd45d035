"""Hostile input never reaches a 5xx: every route the OpenAPI document lists
(so a route added later is covered without editing this file) gets hostile
path ids, query values, tokens and bodies.  Each answer must be a 4xx (or a
2xx where the input was normalised and stored), and a webhook we refuse is
kept in /alerts/rejected/."""

from __future__ import annotations

import base64
import json
import re
from functools import cache
from typing import Any

import pytest

from handler_calls import Reply, api, handler, webhook
from support import ADMIN_TOKEN, FakeContext, http_event, router

BIG = "9" * 42
DEEP = b"[" * 100_000 + b"]" * 100_000


def _forged(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


#: Bodies nobody should send.  (name, bytes)
HOSTILE_BODIES: list[tuple[str, bytes]] = [
    ("42-digit number", b'{"name": "n", "labels": {"a": "b"}, "value": %s, "config": {"x": %s}}' % (
        BIG.encode(), BIG.encode())),
    ("1e-200", b'{"name": "n", "value": 1e-200, "tags": {"w": 1e-200}}'),
    ("1e400 (infinity)", b'{"name": "n", "value": 1e400, "tags": {"w": 1e400}}'),
    ("NaN", b'{"name": "n", "value": NaN, "tags": {"w": NaN}}'),
    ("nested 40 levels", b'{"name": "n", "tags": {"t": ' + b'{"a": ' * 40 + b'1' + b'}' * 40 + b'}}'),
    ("nested 100000 levels", b'{"name": "n", "value": ' + DEEP + b'}'),
    ("bare deep array", DEEP),
    ("300 KB description", json.dumps({"name": "n", "description": "d" * 300_000}).encode()),
    ("lone surrogate in a label key", b'{"name": "n", "labels": {"\\ud800": "v"}, "tags": {"\\udc00": 1}}'),
    ("lone surrogate in text", b'{"name": "\\ud800n", "text": "\\udfff", "by": "\\ud800"}'),
    ("empty key", b'{"name": "n", "labels": {"": "v"}, "tags": {"": 1}}'),
    ("not UTF-8", b"\xff\xfe{\x00\"\x00"),
    ("latin-1 JSON", '{"name": "caf\xe9"}'.encode("latin-1")),
    ("array", b"[1, 2, 3]"),
    ("string", b'"text"'),
    ("null", b"null"),
    ("empty", b""),
    ("truncated", b'{"name": '),
]

#: Query strings nobody should send.
HOSTILE_QUERIES: list[dict[str, str]] = [
    {"since": "99999999999999999999"},
    {"since": "-99999999999999999999"},
    {"since": "1e400"},
    {"limit": "99999999999999999999"},
    {"limit": "-1"},
    {"version": "99999999999999999999"},
    {"next_token": _forged({"PK": "x", "SK": "y"})},
    {"next_token": _forged({"PK": "", "SK": ""})},
    {"next_token": _forged({"GSI1PK": "x", "GSI1SK": "y", "PK": "p" * 3000, "SK": "s"})},
    {"next_token": _forged({"PK": 1, "SK": [2]})},
    {"next_token": "@@@not-base64@@@"},
    {"next_token": base64.urlsafe_b64encode(b"\xff\xfe").decode()},
    {"status": "\u00ff\u2603", "severity": "x" * 5000, "source": "\u0000"},
]

#: Values put where a route has a path parameter.
HOSTILE_IDS = ["a" * 3000, "%00", "..", "ü" * 600, "al_" + "0" * 24, "inc_missing", "x:y#z"]


@cache
def routes() -> list[tuple[str, str]]:
    """(METHOD, path template) of every operation in the OpenAPI document."""
    from signalfire_local.openapi import build

    found = []
    for path, ops in build()["paths"].items():
        for method in ops:
            if method.upper() in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
                found.append((method.upper(), path))
    return sorted(found)


def _fill(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value, path)


def call(method: str, path: str, body: bytes | None = None, *, token: str | None = ADMIN_TOKEN,
         query: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> Reply | None:
    """The request as the function template.yaml routes it to would receive
    it; None where no route matches (API Gateway answers 404 itself)."""
    found = router().select(method, path)
    if found is None:
        return None
    event = http_event(method, path, body, token=token, query=query, extra_headers=headers)
    return Reply(handler(found.function)(event, FakeContext()))


def _assert_no_5xx(reply: Reply | None, what: str) -> None:
    if reply is None:
        return  # no route: API Gateway's own 404
    assert reply.status < 500, f"{what}: {reply.status} {reply.json}"
    if reply.status >= 400:
        assert isinstance(reply.json, dict) and (reply.json.get("message") or reply.json.get("error")), what


def test_the_document_lists_the_routes_we_probe():
    listed = routes()
    assert ("POST", "/alerts/webhook/{driver}") in listed or any(p.startswith("/alerts/webhook") for _, p in listed)
    assert any(p.startswith("/incidents") for _, p in listed) and any(p.startswith("/pipelines") for _, p in listed)


def test_hostile_bodies_on_every_body_route(moto_stack):
    webhook({"name": "seed", "labels": {"host": "h"}})
    inc = api("GET", "/incidents/").json["items"][0]["id"]
    probed = 0
    for method, template in routes():
        if method not in {"POST", "PUT", "PATCH"}:
            continue
        path = _fill(template, inc if "incident" in template else "hostile-name")
        for name, body in HOSTILE_BODIES:
            _assert_no_5xx(call(method, path, body), f"{method} {path} with {name}")
            probed += 1
    assert probed >= 10 * len(HOSTILE_BODIES)


def test_every_route_with_hostile_ids_queries_and_methods(moto_stack):
    for method, template in routes():
        for value in HOSTILE_IDS if "{" in template else [""]:
            path = _fill(template, value)
            _assert_no_5xx(call(method, path, b"{}" if method != "GET" else None), f"{method} {path[:80]}")
        path = _fill(template, "x")
        if method == "GET":
            for query in HOSTILE_QUERIES:
                _assert_no_5xx(call(method, path, query=query), f"{method} {path} ?{str(query)[:80]}")
    for method in ("FOO", "PROPFIND", "TRACE", "CONNECT"):
        _assert_no_5xx(call(method, "/incidents/"), f"{method} /incidents/")


@pytest.mark.parametrize("token", ["tökén", "\u200b" + ADMIN_TOKEN, "Bearer", "x" * 10_000, "t\x00k"])
def test_hostile_tokens_are_401(moto_stack, token):
    for method, path in (("POST", "/alerts/webhook/"), ("GET", "/incidents/"), ("GET", "/pipelines/")):
        by_header = call(method, path, b'{"name": "x"}', token=None, headers={"authorization": f"Bearer {token}"})
        by_query = call(method, path, b'{"name": "x"}', token=None, query={"token": token})
        assert by_header and by_query and by_header.status == 401 and by_query.status == 401, (path, by_header,
                                                                                                by_query)


@pytest.mark.parametrize("name, body", HOSTILE_BODIES, ids=[n for n, _ in HOSTILE_BODIES])
def test_a_hostile_webhook_is_stored_normalised_or_refused_and_kept(moto_stack, name, body):
    before = api("GET", "/alerts/rejected/").json["count"]
    r = webhook(body)
    _assert_no_5xx(r, name)
    if r.status == 202:
        alert_id = r.json["alerts"][0]["alert_id"]
        stored = api("GET", f"/alerts/{alert_id}")
        assert stored.status == 200 and json.dumps(stored.json)  # readable back
    else:
        assert api("GET", "/alerts/rejected/").json["count"] == before + 1, f"{name} was not kept"


def test_a_stored_alert_keeps_the_numbers_dynamodb_cannot_hold(moto_stack):
    r = webhook(b'{"name": "Numbers", "labels": {"host": "h"}, "value": %s, "small": 1e-200}' % BIG.encode())
    assert r.status == 202, r
    raw = api("GET", f"/alerts/{r.json['alerts'][0]['alert_id']}").json["alert"]["raw_payload"]
    assert raw["value"] == int(BIG) and raw["small"] == 1e-200


def test_a_lone_surrogate_label_is_normalised_not_refused(moto_stack):
    r = webhook(b'{"name": "Sur", "labels": {"\\ud800host": "web\\udc00"}}')
    assert r.status == 202, r
    alert = api("GET", f"/alerts/{r.json['alerts'][0]['alert_id']}").json["alert"]
    assert alert["labels"] == {"\ufffdhost": "web\ufffd"}


def test_pipeline_values_dynamodb_cannot_store_are_a_400_naming_the_field(moto_stack):
    config = {"version": "1.0", "nodes": [{"id": "n", "type": "notify", "config": {}}]}
    for tags, words in (({"w": 1e-200}, "tags.w"), ({"w": int(BIG)}, "38"), ({"": 1}, "empty key")):
        body = json.dumps({"name": "hostile-tags", "config": config, "tags": tags}).encode()
        r = api("POST", "/pipelines/", body=body)
        assert r.status == 400 and words in r.json["message"], r
    assert api("GET", "/pipelines/hostile-tags").status == 404


def test_a_utf8_byte_order_mark_is_tolerated_and_utf16_is_refused_and_kept(moto_stack):
    assert webhook(b"\xef\xbb\xbf" + json.dumps({"name": "Bom"}).encode()).status == 202
    r = webhook(json.dumps({"name": "Wide"}).encode("utf-16"))
    assert r.status == 400 and "UTF-8" in r.json["message"]
    assert api("GET", "/alerts/rejected/").json["count"] == 1
