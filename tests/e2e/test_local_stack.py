"""The local stack as a newcomer meets it: a real process, real HTTP."""

from __future__ import annotations

import pytest

from localproc import start_local, stop_local

pytestmark = pytest.mark.e2e


def test_first_alert_goes_through(local):
    with local.sender() as s, local.admin_client() as a:
        r = s.post("/alerts/webhook/", json={"name": "DiskFull", "severity": "critical",
                                             "labels": {"host": "web-1"}, "description": "/ is 97% full"})
        assert r.status_code == 202, r.text
        body = r.json()
        assert body["alerts_created"] == 1 and body["incidents_created"] == 1
        incident_id = body["incidents"][0]["incident_id"]
        detail = a.get(f"/incidents/{incident_id}/").json()
        assert detail["incident"]["title"] == "DiskFull"
        assert detail["alerts"][0]["labels"]["host"] == "web-1"


def test_routes_are_selected_as_api_gateway_selects_them_over_http(local):
    import httpx

    with local.sender() as s:
        for path in ("/alerts/webhook", "/alerts/webhook/", "/alerts/webhook/generic", "/alerts/webhook/generic/"):
            r = s.post(path, json={"name": "RouteProbe", "labels": {"host": "r1"}})
            assert r.status_code == 202, (path, r.text)
        assert s.get("/alerts/webhook/").json()["status"] == "ok"  # the health check (API function)
    for method in ("PROPFIND", "FOO", "TRACE"):  # API Gateway answers 404 to a method no route has, never 501
        r = httpx.request(method, local.url + "/alerts/webhook/", timeout=10)
        assert (r.status_code, r.json()) == (404, {"message": "Not Found"}), method


def test_tokens_never_reach_the_log_and_ctrl_c_stops_cleanly(tmp_path):
    stack = start_local(tmp_path, verbose=True)
    try:
        with stack.sender() as s:
            assert s.post("/alerts/webhook/", params={"token": stack.token}, json={"name": "T"}).status_code == 202
            assert s.post("/alerts/webhook/", content=b"{bad").status_code == 400
        with stack.admin_client() as a:
            assert a.get("/alerts/rejected/").status_code == 200
    finally:
        code = stop_local(stack)  # SIGINT, as Ctrl-C sends
    assert code == 0
    log = stack.log.read_text()
    assert "stopped" in log
    assert "token=***" in log  # the request line was logged, redacted
    after_banner = log.split("Ctrl-C stops.", 1)[1]
    assert stack.token not in after_banner and stack.admin not in after_banner
