"""Query and incident API (seed: AlertQueryService, IncidentManager)."""

from __future__ import annotations

from handler_calls import api, webhook


def _fire(name: str, severity: str = "warning", host: str = "h1", status: str = "firing") -> dict:
    return webhook({"name": name, "severity": severity, "status": status, "labels": {"host": host}}).json


def test_incident_lifecycle_and_invalid_transitions(moto_stack):
    inc = _fire("CPUHigh")["incidents"][0]["incident_id"]
    ack = api("POST", f"/incidents/{inc}/acknowledge/", body={"by": "alice", "note": "looking"})
    assert ack.status == 200 and ack.json["status"] == "acknowledged" and ack.json["acknowledged_at"]
    assert ack.json["note_count"] == 1
    assert api("GET", f"/incidents/{inc}").json["notes"][0]["text"] == "looking"
    again = api("POST", f"/incidents/{inc}/acknowledge")
    assert again.status == 409 and "acknowledged" in again.json["message"]
    assert api("POST", f"/incidents/{inc}/resolve").json["status"] == "resolved"
    assert api("POST", f"/incidents/{inc}/resolve").status == 409
    assert api("POST", f"/incidents/{inc}/acknowledge").status == 409
    closed = api("POST", f"/incidents/{inc}/close")
    assert closed.status == 200 and closed.json["closed_at"]
    assert api("POST", f"/incidents/{inc}/close").status == 409
    note = api("POST", f"/incidents/{inc}/notes/", body={"text": "post-mortem done", "by": "bob"})
    assert note.status == 200 and note.json["note"]["by"] == "bob" and note.json["incident"]["note_count"] == 2
    assert [n["text"] for n in api("GET", f"/incidents/{inc}").json["notes"]] == ["looking", "post-mortem done"]


def test_manually_resolved_incident_is_not_reused_by_the_next_firing(moto_stack):
    first = _fire("Disk")["incidents"][0]["incident_id"]
    api("POST", f"/incidents/{first}/resolve")
    # still firing, now escalated -> a fresh incident (and its run), never the resolved one
    again = _fire("Disk", severity="critical")
    assert again["incidents_created"] == 1 and len(again["run_ids"]) == 1
    assert again["alerts"][0]["incident_id"] not in (None, first)
    third = webhook({"name": "Disk2", "severity": "critical", "labels": {"host": "h9"}}).json
    assert third["incidents_created"] == 1


def test_list_filters_and_pagination(moto_stack):
    for i in range(7):
        _fire(f"A{i}", severity="critical" if i % 2 else "warning", host=f"h{i}")
    _fire("A0", severity="warning", host="h0", status="resolved")
    everything = api("GET", "/alerts/").json
    assert everything["count"] == 7
    firing = api("GET", "/alerts/", query={"status": "firing"}).json
    assert firing["count"] == 6 and all(a["status"] == "firing" for a in firing["items"])
    crit = api("GET", "/alerts/", query={"severity": "critical"}).json
    assert crit["count"] == 3 and all(a["severity"] == "critical" for a in crit["items"])
    by_source = api("GET", "/alerts/", query={"source": "generic", "status": "firing"}).json
    assert by_source["count"] == 6
    assert api("GET", "/alerts/", query={"source": "zabbix"}).json["count"] == 0

    seen: list[str] = []
    token = None
    for _ in range(10):
        q = {"limit": "3"} | ({"next_token": token} if token else {})
        page = api("GET", "/alerts/", query=q).json
        assert page["count"] <= 3
        seen += [a["id"] for a in page["items"]]
        token = page["next_token"]
        if not token:
            break
    assert len(seen) == 7 and len(set(seen)) == 7

    future = api("GET", "/alerts/", query={"since": "2999-01-01T00:00:00Z"}).json
    assert future["count"] == 0
    incidents = api("GET", "/incidents/", query={"status": "open", "limit": "2"}).json
    assert incidents["count"] == 2 and incidents["next_token"]
    resolved = api("GET", "/incidents/", query={"status": "resolved"}).json
    assert resolved["count"] == 1


def test_alert_detail_has_history(moto_stack):
    created = _fire("Mem", host="m1")
    _fire("Mem", host="m1", severity="critical")
    detail = api("GET", f"/alerts/{created['alerts'][0]['alert_id']}").json
    assert [h["event"] for h in detail["history"]] == ["created", "escalated"]
    assert detail["alert"]["labels"]["host"] == "m1"


def test_pipeline_routes_are_served_by_the_api_function(moto_stack):
    listed = api("GET", "/pipelines/").json
    assert {"local-monitor", "local-smart", "direct", "health-checked", "ai-analyzed", "full"} <= {
        p["name"] for p in listed["items"]}
    bad = api("POST", "/pipelines/", body={"name": "mine", "config": {"version": "1.0", "nodes": [
        {"id": "weird", "type": "bogus"}]}})
    assert bad.status == 400 and "weird" in bad.json["message"]


def test_bodies_are_json_whatever_the_content_type_says(moto_stack):
    """curl -d sends application/x-www-form-urlencoded; the management API reads JSON anyway."""
    inc = _fire("CurlUser")["incidents"][0]["incident_id"]
    form = {"content-type": "application/x-www-form-urlencoded"}
    ack = api("POST", f"/incidents/{inc}/acknowledge", body={"by": "curl"}, headers=form)
    assert ack.status == 200 and ack.json["acknowledged_by"] == "curl"
    assert api("POST", f"/incidents/{inc}/notes", body={"text": "from curl"}, headers=form).status == 200


def test_trailing_slashes_and_typed_answers(moto_stack):
    inc = _fire("Slashes")["incidents"][0]["incident_id"]
    assert api("GET", f"/incidents/{inc}/").json == api("GET", f"/incidents/{inc}").json
    page = api("GET", "/incidents/", query={"limit": "1"}).json
    assert set(page) == {"items", "next_token", "count"} and page["count"] == 1
    alerts = api("GET", "/alerts", query={"status": ""}).json  # an empty filter is no filter
    assert alerts["items"] and "raw_payload" not in alerts["items"][0] and "content_hash" not in alerts["items"][0]
