"""`signalfire local --data-dir`: the process is killed (SIGKILL, no clean
shutdown) and started again on the same directory; what it had is still
there, and the run it was in the middle of is shown as interrupted and can
be resumed."""

from __future__ import annotations

import uuid

import pytest
from stackclient import create_pipeline, fire, until, wait_run

from localproc import start_local, stop_local

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _stored(definition: dict) -> dict:
    return {k: v for k, v in definition.items() if k != "workflow_fit"}


def test_kill_and_restart_keeps_the_data_and_shows_the_interrupted_run(tmp_path):
    data = tmp_path / "data"
    broken = tmp_path / "enrich-broken"
    broken.write_text("x")
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    first_dir.mkdir()
    second_dir.mkdir()
    # A long retry interval holds the second run in flight when the process dies.
    first = start_local(first_dir, "StageRetryIntervalSeconds=60", extra=("--data-dir", str(data)))
    name = f"Disk-{uuid.uuid4().hex[:6]}"
    try:
        create_pipeline(first, "held", [
            {"id": "enrich", "type": "context", "config": {"fault": {"while_file_exists": str(broken)}}},
            {"id": "page", "type": "notify", "config": {}},
        ])
        with first.admin_client() as api:
            assert api.post("/notify/channels/", json={"name": "ops-console", "driver": "console"}).status_code == 201
        done_id = fire(first, pipeline="direct", name=name)["run_ids"][0]
        done = wait_run(first, done_id)["run"]
        assert done["outcome"] == "COMPLETED"
        held_id = fire(first, pipeline="held")["run_ids"][0]
        with first.admin_client() as api:
            until(lambda: any(s["stage"] == "CHECK" and s["status"] == "FAILED"
                               for s in api.get(f"/runs/{held_id}").json()["stages"]), what="the first failed attempt")
            before = {
                "alerts": api.get("/alerts/", params={"limit": 200}).json()["items"],
                "incidents": api.get("/incidents/", params={"limit": 200}).json()["items"],
                "done": api.get(f"/runs/{done_id}").json(),
                "pipeline": api.get("/pipelines/held").json(),
                "channel": api.get("/notify/channels/ops-console").json(),
            }
    finally:
        first.process.kill()  # no shutdown hook runs
        first.process.wait(timeout=30)
    assert before["alerts"] and before["incidents"]

    broken.unlink()  # the cause is fixed while the stack is down
    second = start_local(second_dir, "StageRetryIntervalSeconds=1", extra=("--data-dir", str(data)))
    try:
        with second.admin_client() as api:
            assert api.get("/alerts/", params={"limit": 200}).json()["items"] == before["alerts"]
            assert api.get("/incidents/", params={"limit": 200}).json()["items"] == before["incidents"]
            assert api.get(f"/runs/{done_id}").json() == before["done"]
            # workflow_fit is computed for the running deployment (its retry interval changed), not stored
            assert _stored(api.get("/pipelines/held").json()) == _stored(before["pipeline"])
            assert api.get("/notify/channels/ops-console").json() == before["channel"]

            held = api.get(f"/runs/{held_id}").json()["run"]
            assert held["status"] == "FAILED" and held["outcome"] == "INTERRUPTED"
            assert held["last_error_type"] == "Interrupted" and held["last_error_retryable"] is True
            assert held["failed_index"] == 0
            assert held_id in second.log.read_text()  # the banner lists it

            assert api.post(f"/runs/{held_id}/resume").status_code == 202
            resumed = until(lambda: (r := api.get(f"/runs/{held_id}").json()["run"])["outcome"] == "COMPLETED" and r,
                             what="the resumed run")
            assert resumed["status"] == "NOTIFIED" and resumed["resume_count"] == 1

        # The dedup state survived: the same alert again is a repeat and starts no run.
        again = fire(second, pipeline="direct", name=name)
        assert again["run_ids"] == [] and again["alerts_unchanged"] == 1
    finally:
        assert stop_local(second) == 0
