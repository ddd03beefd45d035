"""The group race and the lifecycle, checked against the invariant
(tests/invariants.py) on moto's real conditional writes and transactions."""

from __future__ import annotations

import threading

from handler_calls import webhook
from invariants import assert_invariants, from_table


def _race(group: str) -> None:
    """A fired; then A's resolution and B's first firing arrive together."""
    a = {"group_key": group, "alerts": [{"name": "A", "fingerprint": f"{group}-a"}]}
    assert webhook(a).status == 202
    resolve_a = {"group_key": group, "alerts": [{"name": "A", "fingerprint": f"{group}-a", "status": "resolved"}]}
    fire_b = {"group_key": group, "alerts": [{"name": "B", "fingerprint": f"{group}-b"}]}
    barrier = threading.Barrier(2)
    replies: list = []

    def send(body: dict) -> None:
        barrier.wait()
        replies.append(webhook(body))

    threads = [threading.Thread(target=send, args=(b,)) for b in (resolve_a, fire_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status for r in replies) == [202, 202], replies


def test_group_race_never_leaves_b_in_a_resolved_incident(moto_stack):
    threads = [threading.Thread(target=_race, args=(f"g{i}",)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    state = from_table(moto_stack["table"])
    assert len(state.alerts) == 60
    assert_invariants(state)
    # every B is firing in an open incident and A is resolved
    for i in range(30):
        b = next(a for a in state.alerts.values() if a["fingerprint"] == f"g{i}-b")
        assert b["status"] == "firing" and state.incidents[b["incident_id"]]["status"] == "open"


def test_invariant_checker_catches_a_firing_alert_in_a_resolved_incident(moto_stack):
    """What the race used to leave: B firing inside an incident its alerts resolved."""
    from invariants import violations
    from signalfire import services

    inc = webhook({"name": "A", "fingerprint": "a"}).json["incidents"][0]["incident_id"]
    assert violations(from_table(moto_stack["table"])) == []
    services.table().update(f"INCIDENT#{inc}", "META", "SET #st = :r, resolved_by = :by",
                            names={"#st": "status"}, values={":r": "resolved", ":by": "signalfire"})
    found = violations(from_table(moto_stack["table"]))
    assert any("belongs to incident" in v and "resolved" in v for v in found), found
    assert any("without a run" in v for v in found), found  # resolved by its alerts, and no run says so
