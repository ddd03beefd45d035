"""Hand-closed incidents: a firing alert opens a new incident on its next
escalation or after the quiet period (ReopenQuietPeriodSeconds)."""

from __future__ import annotations

from datetime import timedelta

from handler_calls import api, webhook
from invariants import assert_invariants, from_table, violations

DISK = {"name": "DiskFull", "fingerprint": "disk-1", "severity": "warning", "labels": {"host": "web-1"}}


def test_close_then_escalate_opens_a_new_incident_with_a_run(moto_stack):
    first = webhook(DISK).json["incidents"][0]["incident_id"]
    assert api("POST", f"/incidents/{first}/close/", {"by": "alice"}).status == 200
    repeat = webhook(DISK).json
    assert repeat["alerts_unchanged"] == 1 and repeat["incidents"] == [] and repeat["run_ids"] == []
    assert_invariants(from_table(moto_stack["table"]))  # quiet while muted by hand

    escalated = webhook({**DISK, "severity": "critical"}).json
    assert escalated["incidents_created"] == 1 and len(escalated["run_ids"]) == 1
    second = escalated["incidents"][0]["incident_id"]
    assert second != first and escalated["alerts"][0]["incident_id"] == second
    assert escalated["alerts"][0]["change"] == "reopened"
    got = api("GET", f"/incidents/{second}/").json
    assert got["incident"]["status"] == "open" and got["incident"]["severity"] == "critical"
    assert [a["fingerprint"] for a in got["alerts"]] == ["disk-1"]
    old = api("GET", f"/incidents/{first}/").json["incident"]
    assert old["status"] == "closed" and old["closed_by"] == "alice"
    state = from_table(moto_stack["table"])
    assert_invariants(state)
    assert not state.alerts[escalated["alerts"][0]["alert_id"]].get("incident_closed_at")


def test_after_the_quiet_period_a_repeat_opens_a_new_incident(moto_stack):
    from signalfire import services
    from signalfire.timeutil import iso, utcnow

    reply = webhook(DISK).json
    first, alert_id = reply["incidents"][0]["incident_id"], reply["alerts"][0]["alert_id"]
    api("POST", f"/incidents/{first}/resolve/", {"by": "bob"})
    assert webhook(DISK).json["incidents"] == []  # inside the quiet period: still quiet
    # The close happened longer ago than the quiet period (default 4 h).
    services.table().update(f"ALERT#{alert_id}", "META", "SET incident_closed_at = :t",
                            values={":t": iso(utcnow() - timedelta(hours=5))})
    again = webhook(DISK).json
    assert again["incidents_created"] == 1 and len(again["run_ids"]) == 1
    assert again["incidents"][0]["incident_id"] != first
    assert_invariants(from_table(moto_stack["table"]))


def test_an_alert_closed_by_hand_resolves_normally(moto_stack):
    first = webhook(DISK).json["incidents"][0]["incident_id"]
    api("POST", f"/incidents/{first}/close/", {"by": "carol"})
    done = webhook({**DISK, "status": "resolved"}).json
    assert done["alerts_resolved"] == 1 and done["incidents"] == []  # nothing to resolve: it is closed
    assert violations(from_table(moto_stack["table"])) == []
    fired = webhook(DISK).json  # fires again later: a fresh incident
    assert fired["incidents_created"] == 1 and fired["incidents"][0]["incident_id"] != first
