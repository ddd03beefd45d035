"""Pipeline runs through `signalfire local` over HTTP: the real ASL in
moto's interpreter, the real stage handlers, in the real process.  One test
per scenario; the stage-by-stage behaviour (retries, failures, the AI
fallback, filters, definitions, the runs list) is proven in-process in
tests/functional/test_local_stepfunctions.py and test_stack_http.py (see
docs/testing.md)."""

from __future__ import annotations

import pytest
from stackclient import PRESET_STAGES, create_pipeline, fire, outbox_for, wait_outcome, wait_run

pytestmark = pytest.mark.e2e

PRESETS = PRESET_STAGES


def test_every_preset_end_to_end(local):
    """A webhook naming each preset starts one run; the runs go at once, as on AWS."""
    started = {}
    for preset in PRESETS:
        accepted = fire(local, pipeline=preset)
        assert len(accepted["run_ids"]) == 1, (preset, accepted)
        started[preset] = accepted["run_ids"][0]
    for preset, expected in PRESETS.items():
        body = wait_run(local, started[preset])
        run, stages = body["run"], body["stages"]
        assert run["outcome"] == "COMPLETED" and run["status"] == "NOTIFIED", (
            preset, run["last_error_type"], run["last_error_message"], stages)
        assert run["pipeline_name"] == preset and run["trace_id"]
        assert [s["stage"] for s in stages] == expected, preset
        assert all(s["status"] == "SUCCEEDED" and s["attempt"] == 1 for s in stages), (preset, stages)
        assert stages[0]["input_ref"] == run["normalized_payload_ref"]
        assert all(b["input_ref"] == a["output_ref"] for a, b in zip(stages, stages[1:], strict=False))
        assert run["notify_output_ref"].startswith(f"RUN#{run['run_id']}/OUT#")
        if "ANALYZE" in expected:
            assert run["intelligence_output_ref"] and run["intelligence_fallback_used"] is False
        if "CHECK" in expected:
            assert run["checker_output_ref"]
        assert len(outbox_for(local, run["run_id"])) == 1, preset


def test_resume_after_the_cause_is_fixed_does_not_deliver_twice(local, tmp_path):
    broken = tmp_path / "downstream-broken"
    broken.write_text("x")
    create_pipeline(local, "two-step", [
        {"id": "first_notify", "type": "notify", "config": {}},
        {"id": "enrich", "type": "context", "config": {"fault": {"while_file_exists": str(broken)}}},
        {"id": "second_notify", "type": "notify", "config": {}},
    ])
    run_id = fire(local, pipeline="two-step")["run_ids"][0]
    failed = wait_run(local, run_id)["run"]
    assert failed["status"] == "FAILED" and failed["failed_index"] == 1
    assert [m["tags"]["node_id"] for m in outbox_for(local, run_id)] == ["first_notify"]
    broken.unlink()  # the cause is fixed
    with local.admin_client() as api:
        r = api.post(f"/runs/{run_id}/resume")
        assert r.status_code == 202, r.text
    body = wait_outcome(local, run_id, "COMPLETED")
    run = body["run"]
    assert run["outcome"] == "COMPLETED" and run["status"] == "NOTIFIED" and run["resume_count"] >= 1
    assert [m["tags"]["node_id"] for m in outbox_for(local, run_id)] == ["first_notify", "second_notify"]
    first_notify = [s for s in body["stages"] if s["node_id"] == "first_notify"]
    assert len(first_notify) == 1  # not run again
    with local.admin_client() as api:
        assert api.post(f"/runs/{run_id}/resume").status_code == 409  # only FAILED runs resume
