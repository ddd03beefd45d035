"""Unknown status words are refused and kept; who acted on an incident is stored and returned."""

from __future__ import annotations

import pytest

from handler_calls import api, webhook


@pytest.mark.parametrize("driver, body", [
    ("generic", {"name": "Disk", "fingerprint": "d", "status": "exploded"}),
    ("alertmanager", {"version": "4", "groupKey": "g", "receiver": "r", "status": "exploded",
                      "alerts": [{"status": "exploded", "labels": {"alertname": "Disk"}}]}),
    ("datadog", {"alert_id": "1", "alert_transition": "Exploded", "alert_type": "error"}),
])
def test_unknown_status_word_is_400_naming_the_words_and_kept(moto_stack, driver, body):
    r = webhook(body, driver=driver)
    assert r.status == 400, r
    assert "exploded" in r.json["message"].lower()
    assert "resolved" in r.json["message"] or "recovered" in r.json["message"].lower()
    kept = api("GET", "/alerts/rejected/").json["items"]
    assert len(kept) == 1 and kept[0]["status_code"] == 400 and "exploded" in kept[0]["reason"].lower()
    # a 4xx changes nothing
    assert api("GET", "/alerts/").json["count"] == 0
    assert api("GET", "/incidents/").json["count"] == 0


def test_cleared_resolves(moto_stack):
    assert webhook({"name": "Disk", "fingerprint": "d"}).status == 202
    r = webhook({"name": "Disk", "fingerprint": "d", "status": "cleared"})
    assert r.status == 202 and r.json["alerts_resolved"] == 1 and r.json["incidents_resolved"] == 1


def test_who_acted_and_when_is_stored_and_returned(moto_stack):
    inc = webhook({"name": "Disk", "fingerprint": "d"}).json["incidents"][0]["incident_id"]
    ack = api("POST", f"/incidents/{inc}/acknowledge/", {"by": "alice"})
    assert ack.status == 200 and ack.json["acknowledged_by"] == "alice" and ack.json["acknowledged_at"]
    api("POST", f"/incidents/{inc}/resolve/", {"by": "bob"})
    api("POST", f"/incidents/{inc}/close/", {"by": "carol"})
    got = api("GET", f"/incidents/{inc}/").json["incident"]
    assert (got["acknowledged_by"], got["resolved_by"], got["closed_by"]) == ("alice", "bob", "carol")
    assert got["acknowledged_at"] and got["resolved_at"] and got["closed_at"]
    listed = api("GET", "/incidents/").json["items"][0]
    assert listed["closed_by"] == "carol"
