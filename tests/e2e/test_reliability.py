"""The group race through `signalfire local` over real HTTP, 30 concurrent
trials, checked against the invariant (tests/invariants.py) through the API."""

from __future__ import annotations

import concurrent.futures
import threading
import time

import httpx
import pytest

from invariants import assert_invariants, from_api

pytestmark = pytest.mark.e2e

TRIALS = 30


def _post(s: httpx.Client, body: dict) -> httpx.Response:
    """As a sender does: a 5xx (the API's 30 s limit under this load, a busy store) is retried."""
    for attempt in range(6):
        r = s.post("/alerts/webhook/generic/", json=body)
        if r.status_code < 500:
            return r
        time.sleep(0.5 * (attempt + 1))
    return r


def _race(local, group: str) -> list[int]:
    """A fired; then A's resolution and B's first firing arrive together."""
    with local.sender() as s:
        s.timeout = httpx.Timeout(300)  # 60 requests at once, and the runs they start, on a shared machine
        first = _post(s, {"group_key": group, "alerts": [{"name": "A", "fingerprint": f"{group}-a"}]})
        assert first.status_code == 202, first.text
        barrier = threading.Barrier(2)
        bodies = [
            {"group_key": group, "alerts": [{"name": "A", "fingerprint": f"{group}-a", "status": "resolved"}]},
            {"group_key": group, "alerts": [{"name": "B", "fingerprint": f"{group}-b"}]},
        ]

        def send(body: dict) -> int:
            barrier.wait()
            return _post(s, body).status_code

        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            return list(pool.map(send, bodies))


def test_group_race_through_the_local_stack(local):
    with concurrent.futures.ThreadPoolExecutor(TRIALS) as pool:
        codes = list(pool.map(lambda i: _race(local, f"race-{i}"), range(TRIALS)))
    assert all(c == [202, 202] for c in codes), codes
    with local.admin_client() as admin:
        admin.timeout = httpx.Timeout(300)
        state = from_api(admin)
        assert_invariants(state)
        firing_b = [a for a in state.alerts.values() if a["name"] == "B" and a["status"] == "firing"]
        assert len(firing_b) == TRIALS
        assert all(state.incidents[a["incident_id"]]["status"] == "open" for a in firing_b)


def test_signalfire_local_fires_the_template_schedules(tmp_path):
    """The reconciler's EventBridge schedule runs in the real process (sped up)."""
    import time

    from localproc import start_local, stop_local

    stack = start_local(tmp_path, verbose=True, extra=("--schedule-every", "0.5"))
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "schedule ReconcileFunction.Reconcile ran" not in stack.log.read_text():
            time.sleep(0.5)
        log = stack.log.read_text()
        assert "schedule ReconcileFunction.Reconcile: every 0.5s" in log
        assert "schedule ReconcileFunction.Reconcile ran" in log, log[-3000:]
    finally:
        assert stop_local(stack) == 0
