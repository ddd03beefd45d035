"""DynamoDB's 400 KB item limit, as a user meets it: big bodies, many notes,
long notes.  moto enforces the limit too, so a write past it would fail here
as it does on AWS."""

from __future__ import annotations

import json

from handler_calls import api, webhook


def _incident(name: str = "CPUHigh", host: str = "h1") -> str:
    r = webhook({"name": name, "severity": "warning", "labels": {"host": host, "team": "ops"}})
    assert r.status == 202, r
    return r.json["incidents"][0]["incident_id"]


def test_a_450_kb_webhook_is_a_413_naming_the_limit_and_is_kept(moto_stack):
    body = json.dumps({"name": "Big", "description": "x" * (450 * 1024)}).encode()
    r = webhook(body)
    assert r.status == 413
    assert "262144" in r.json["message"] and "MaxBodyBytes" in r.json["message"]
    kept = api("GET", "/alerts/rejected/").json["items"]
    assert len(kept) == 1 and kept[0]["status_code"] == 413 and kept[0]["body_bytes"] == len(body)
    assert api("GET", "/alerts/").json["count"] == 0


def test_the_largest_accepted_body_is_stored_whole(moto_stack):
    """A body at the MaxBodyBytes limit fits one item: the raw payload is kept
    gzipped, the description is cut at 32 KB with a note saying so."""
    body = {"name": "AtTheLimit", "description": "d" * 200_000, "labels": {"host": "h"}}
    raw = json.dumps(body).encode()
    assert len(raw) < 256 * 1024
    r = webhook(raw)
    assert r.status == 202, r
    alert = api("GET", f"/alerts/{r.json['alerts'][0]['alert_id']}").json["alert"]
    assert alert["raw_payload"]["description"] == body["description"]
    assert len(alert["description"].encode()) <= 32 * 1024 and "truncated" in alert["description"]


def test_incident_grows_past_the_old_limit_and_every_action_still_works(moto_stack):
    """41 notes of 10,000 characters used to push the incident item past 400 KB:
    from then on every acknowledgement, resolution and new alert of its group was
    a 500.  Notes are items of their own now."""
    inc = _incident()
    for i in range(45):
        r = api("POST", f"/incidents/{inc}/notes", body={"text": f"{i:02d}" + "n" * 9_998, "by": "ops"})
        assert r.status == 200, (i, r)
    assert r.json["incident"]["note_count"] == 45
    # A new alert of the same group joins the same incident.
    joined = webhook({"name": "MemHigh", "severity": "critical", "labels": {"host": "h1", "team": "ops"}})
    assert joined.status == 202
    ack = api("POST", f"/incidents/{inc}/acknowledge", body={"by": "alice", "note": "on it"})
    assert ack.status == 200 and ack.json["status"] == "acknowledged" and ack.json["note_count"] == 46
    detail = api("GET", f"/incidents/{inc}").json
    assert len(detail["notes"]) == 46 and detail["notes"][0]["text"].startswith("00")
    assert detail["notes"][-1]["text"] == "on it"
    assert api("POST", f"/incidents/{inc}/resolve", body={"by": "alice"}).json["status"] == "resolved"
    assert api("POST", f"/incidents/{inc}/close").status == 200


def test_a_rejected_action_changes_nothing(moto_stack):
    """An acknowledge with a 10,001-character note used to answer 400 yet leave
    the incident acknowledged: everything is checked before the write."""
    inc = _incident()
    r = api("POST", f"/incidents/{inc}/acknowledge", body={"by": "alice", "note": "n" * 10_001})
    assert r.status == 400 and "10000" in r.json["message"]
    r = api("POST", f"/incidents/{inc}/resolve", body={"by": "b" * 300})
    assert r.status == 400 and "256" in r.json["message"]
    after = api("GET", f"/incidents/{inc}").json
    assert after["incident"]["status"] == "open" and after["incident"]["note_count"] == 0 and after["notes"] == []
    assert api("POST", f"/incidents/{inc}/notes", body={"text": "x" * 10_001}).status == 400
    assert api("GET", f"/incidents/{inc}").json["incident"]["note_count"] == 0


def test_a_conflicting_action_with_a_note_stores_no_note(moto_stack):
    inc = _incident()
    assert api("POST", f"/incidents/{inc}/close").status == 200
    r = api("POST", f"/incidents/{inc}/acknowledge", body={"note": "too late"})
    assert r.status == 409
    assert api("GET", f"/incidents/{inc}").json["notes"] == []


def test_the_analysis_reads_the_notes_from_their_own_items(moto_stack):
    from signalfire import services

    inc = _incident()
    for text in ("first look: disk", "second look: it was the log rotation"):
        assert api("POST", f"/incidents/{inc}/notes", body={"text": text}).status == 200
    incident = services.alert_store().get_incident(inc)
    request = services.intelligence().build_request(incident, services.alert_store().incident_alerts(inc))
    assert request.notes == ["first look: disk", "second look: it was the log rotation"]
