"""Scenarios that need the local stack's HTTP API and its pipeline runs, but
nothing only the `signalfire local` process shows: served in this process
(tests/inprocess.py), one stack for the module.  Moved here from tests/e2e,
where each scenario keeps one test (docs/testing.md)."""

from __future__ import annotations

import concurrent.futures
import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from inprocess import InProcessLocal, local_in_process
from stackclient import create_pipeline, fire, wait_run

from invariants import assert_invariants, from_api

TRIALS = 30

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessLocal]:
    with local_in_process(tmp_path_factory.mktemp("stack"), "StageRetryIntervalSeconds=1",
                          "StageBackoffRate=1") as stack:
        yield stack


# ---------------------------------------------------------------- the group race (first: it checks the whole state)


def _post(s: httpx.Client, body: dict) -> httpx.Response:
    """As a sender does: a 5xx (the API's 30 s limit under this load, a busy store) is retried."""
    for attempt in range(6):
        r = s.post("/alerts/webhook/generic/", json=body)
        if r.status_code < 500:
            return r
        time.sleep(0.5 * (attempt + 1))
    return r


def _race(local: InProcessLocal, group: str) -> list[int]:
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
    """30 concurrent trials over HTTP, with the runs they start executing,
    checked against the invariant (tests/invariants.py) through the API."""
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


# ---------------------------------------------------------------- tokens, definitions, the runs list


def test_every_route_needs_a_token(local):
    for method, path in [("GET", "/alerts/webhook/"), ("POST", "/alerts/webhook/"), ("GET", "/alerts/"),
                         ("GET", "/incidents/"), ("POST", "/alerts/webhook/grafana")]:
        r = httpx.request(method, local.url + path, content=b"{}", timeout=10)
        assert r.status_code == 401, (method, path, r.text)


def test_bad_input_is_4xx_over_http(local):
    with local.sender() as s:
        assert s.post("/alerts/webhook/", content=b"{nope").status_code == 400
        assert s.post("/alerts/webhook/nagios/", json={"name": "x"}).status_code == 404
        assert s.post("/alerts/webhook/zabbix", json={"name": "x"}).status_code == 400
        big = {"name": "x", "description": "y" * (1024 * 1024 + 10)}
        r = s.post("/alerts/webhook/", content=json.dumps(big).encode())
        assert r.status_code == 413, r.text


def test_invalid_definitions_and_unknown_pipelines_are_rejected(local):
    with local.admin_client() as api:
        bad = api.post("/pipelines/", json={"name": "loop", "config": {"version": "1.0", "nodes": [
            {"id": "a", "type": "notify", "config": {}, "next": "b"},
            {"id": "b", "type": "notify", "config": {}, "next": "a"}]}})
        assert bad.status_code == 400 and "cycle" in bad.json()["message"].lower()
        dangling = api.post("/pipelines/", json={"name": "dangling", "config": {"version": "1.0", "nodes": [
            {"id": "a", "type": "notify", "config": {}, "next": "nowhere"}]}})
        assert dangling.status_code == 400 and "a" in dangling.json()["message"]
    with local.sender() as s:
        r = s.post("/alerts/webhook/generic/", json={"name": "x"}, params={"pipeline": "no-such-pipeline"})
        assert r.status_code == 404 and "no-such-pipeline" in r.json()["message"]


def test_runs_list_filters(local):
    accepted = fire(local, pipeline="direct")
    run_id = accepted["run_ids"][0]
    wait_run(local, run_id)
    incident = accepted["incidents"][0]["incident_id"]
    with local.admin_client() as api:
        by_incident = api.get("/runs/", params={"incident": incident}).json()
        assert [r["run_id"] for r in by_incident["items"]] == [run_id]
        failed = api.get("/runs/", params={"status": "FAILED"}).json()
        assert all(r["status"] == "FAILED" for r in failed["items"])
        assert api.get("/runs/", params={"status": "BOGUS"}).status_code == 400
        assert api.get("/runs/run_missing").status_code == 404


# ---------------------------------------------------------------- the local analysis in a run


def test_local_analysis_reads_the_agents_snapshot_of_the_alerts_host(local):
    from datetime import timedelta

    from signalfire.timeutil import iso, utcnow

    now = iso(utcnow() - timedelta(seconds=2))
    batch = {"schema_version": 1, "batch_id": "e2e-db7-batch-1", "collected_at": now, "interval_seconds": 60,
             "host": {"hostname": "db-7"},
             "results": [{"checker_name": "memory", "status": "ok", "message": "Memory usage 88.0%",
                          "duration_ms": 1.0, "executed_at": now,
                          "metrics": {"memory_percent": 88.0, "memory_total_gb": 16.0, "memory_available_gb": 1.9}}],
             "snapshot": {"taken_at": now, "process_count": 90, "load_average": [1.0, 1.0, 1.0],
                          "top_memory": [{"pid": 4321, "name": "redis-server", "cpu_percent": 4.0,
                                          "memory_percent": 64.0, "rss_mb": 10400.0}],
                          "top_cpu": [], "disks": [], "space_hogs": []}}
    with local.sender() as s:
        r = s.post("/checks/", json=batch)
    assert r.status_code == 202, r.text
    create_pipeline(local, "smart-local", [
        {"id": "check_health", "type": "context", "config": {}},
        {"id": "analyze", "type": "intelligence", "config": {"provider": "local"}},
        {"id": "notify", "type": "notify", "config": {}}])
    with local.sender() as s:
        r = s.post("/alerts/webhook/generic/", params={"pipeline": "smart-local"},
                   json={"name": "RedisMemoryHigh", "severity": "warning", "description": "memory usage above 85%",
                         "labels": {"instance": "db-7:6379"}})
    assert r.status_code == 202, r.text
    body = wait_run(local, r.json()["run_ids"][0])
    run = body["run"]
    [analyze] = [s for s in body["stages"] if s["stage"] == "ANALYZE"]
    out = analyze["output_snapshot"]
    assert out["provider"] == "local" and out["hosts_with_data"] == ["db-7"], out
    with local.admin_client() as api:
        [audit] = api.get("/intelligence/recommendations/", params={"incident_id": run["incident_id"]}).json()["items"]
    top = audit["recommendations"][0]
    assert top["type"] == "memory" and "redis-server" in top["title"]
    assert any("pid 4321" in a for a in top["actions"])
    assert audit["checker_output_ref"] == run["checker_output_ref"] != ""
    assert "snapshot of db-7" in audit["summary"]
