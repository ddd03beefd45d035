"""A share of the hostile-input suite over real HTTP, through `signalfire
local` (the rest runs against the handlers in tests/functional/
test_hostile_input.py): no answer is a 5xx, every refused webhook is kept."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

pytestmark = pytest.mark.e2e

BIG = b"9" * 42
HOSTILE = [
    b'{"name": "n", "value": ' + BIG + b', "small": 1e-200}',
    b'{"name": "n", "value": NaN}',
    b'{"name": "n", "v": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
    json.dumps({"name": "n", "description": "d" * 300_000}).encode(),
    json.dumps({"name": "Big", "description": "x" * (450 * 1024)}).encode(),
    b'{"name": "n", "labels": {"\\ud800": "v"}}',
    b"\xff\xfe{\x00",
]


def _rejected(local) -> int:  # type: ignore[no-untyped-def]
    with local.admin_client() as a:
        return int(a.get("/alerts/rejected/").json()["count"])


def test_hostile_requests_over_http_never_answer_5xx_and_refused_webhooks_are_kept(local):
    with local.sender() as s:
        for body in HOSTILE:
            before = _rejected(local)
            r = s.post("/alerts/webhook/generic/", content=body, headers={"content-type": "application/json"})
            assert r.status_code < 500, (body[:60], r.status_code, r.text[:200])
            if r.status_code >= 400:
                assert r.json()["message"] and _rejected(local) == before + 1, body[:60]
        big = s.post("/alerts/webhook/", content=HOSTILE[4])
        assert big.status_code == 413 and "262144" in big.json()["message"]
    with httpx.Client(base_url=local.url, timeout=30) as raw:
        # A non-ASCII token, in the header (sent as raw UTF-8 bytes) and in the query.
        r = raw.post("/alerts/webhook/", content=b'{"name": "x"}',
                     headers={"authorization": "Bearer tökén".encode()})
        assert r.status_code == 401
        assert raw.post("/alerts/webhook/?token=t%C3%B6k%C3%A9n", json={"name": "x"}).status_code == 401
        assert raw.get("/incidents/", params={"token": "tökén"}).status_code == 401
    forged = base64.urlsafe_b64encode(json.dumps({"PK": "x", "SK": "y"}).encode()).decode()
    with local.admin_client() as a:
        for path in ("/alerts/", "/incidents/", "/runs/", "/pipelines/"):
            for query in ({"since": "99999999999999999999"}, {"next_token": forged}, {"limit": "9" * 30}):
                r = a.get(path, params=query)
                assert r.status_code < 500 and r.status_code in (200, 400), (path, query, r.status_code, r.text)
        for path in ("/pipelines/", "/pipelines/validate", "/pipelines/some-name"):
            method = "PUT" if path.endswith("some-name") else "POST"
            r = a.request(method, path, content=b"\xff\xfe{\x00")
            assert r.status_code == 400, (path, r.status_code, r.text)
        assert a.get("/alerts/" + "a" * 3000).status_code == 404
