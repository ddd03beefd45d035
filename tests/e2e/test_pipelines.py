"""Pipeline runs through the local stack: the real ASL in moto's
interpreter, the real stage handlers, over HTTP."""

from __future__ import annotations

import itertools
import json
import time
import uuid

import pytest

pytestmark = pytest.mark.e2e
_seq = itertools.count()

STAGE_BY_TYPE = {"context": "CHECK", "intelligence": "ANALYZE", "notify": "NOTIFY", "transform": "TRANSFORM"}


def fire(local, pipeline: str | None = None, severity: str = "critical", name: str | None = None,
         **extra) -> dict:
    body = {"name": name or f"Probe{next(_seq)}-{uuid.uuid4().hex[:6]}", "severity": severity,
            "description": "disk / is 97% full", "labels": {"host": "web-1"}, **extra}
    with local.sender() as s:
        r = s.post("/alerts/webhook/generic/", json=body, params={"pipeline": pipeline} if pipeline else None)
    assert r.status_code == 202, r.text
    return r.json()


def wait_run(local, run_id: str, timeout: float = 60) -> dict:
    """The finished run; ``stages`` without the ingest stage (checked on its own)."""
    deadline = time.monotonic() + timeout
    with local.admin_client() as api:
        while time.monotonic() < deadline:
            body = api.get(f"/runs/{run_id}").json()
            if body["run"]["outcome"]:
                ingest = [s for s in body["stages"] if s["stage"] == "INGEST"]
                assert len(ingest) == 1 and ingest[0]["status"] == "SUCCEEDED", body["stages"]
                assert ingest[0]["output_ref"] == body["run"]["normalized_payload_ref"]
                body["stages"] = [s for s in body["stages"] if s["stage"] != "INGEST"]
                return body
            time.sleep(0.25)
    raise AssertionError(f"run {run_id} did not finish: {body}")


def create_pipeline(local, name: str, nodes: list[dict]) -> None:
    chained = [dict(n) for n in nodes]
    for a, b in zip(chained, chained[1:], strict=False):
        a["next"] = b["id"]
    with local.admin_client() as api:
        r = api.post("/pipelines/", json={"name": name, "config": {"version": "1.0", "nodes": chained}})
    assert r.status_code in (200, 201), r.text


def outbox_for(local, run_id: str) -> list[dict]:
    if not local.outbox.exists():
        return []
    lines = [json.loads(x) for x in local.outbox.read_text().splitlines() if x.strip()]
    return [m for m in lines if m["tags"]["run_id"] == run_id]


@pytest.mark.parametrize("preset, expected", [
    ("local-monitor", ["CHECK", "NOTIFY"]),
    ("local-smart", ["CHECK", "ANALYZE", "NOTIFY"]),
    ("direct", ["NOTIFY"]),
    ("health-checked", ["CHECK", "NOTIFY"]),
    ("ai-analyzed", ["ANALYZE", "NOTIFY"]),
    ("full", ["CHECK", "ANALYZE", "NOTIFY"]),
])
def test_every_preset_end_to_end(local, preset, expected):
    accepted = fire(local, pipeline=preset)
    assert len(accepted["run_ids"]) == 1
    body = wait_run(local, accepted["run_ids"][0])
    run, stages = body["run"], body["stages"]
    assert run["outcome"] == "COMPLETED" and run["status"] == "NOTIFIED", (run["last_error_type"], run["last_error_message"], stages)
    assert run["pipeline_name"] == preset and run["trace_id"]
    assert [s["stage"] for s in stages] == expected
    assert all(s["status"] == "SUCCEEDED" and s["attempt"] == 1 for s in stages)
    assert stages[0]["input_ref"] == run["normalized_payload_ref"]
    assert all(b["input_ref"] == a["output_ref"] for a, b in zip(stages, stages[1:], strict=False))
    assert run["notify_output_ref"].startswith(f"RUN#{run['run_id']}/OUT#")
    if "ANALYZE" in expected:
        assert run["intelligence_output_ref"] and run["intelligence_fallback_used"] is False
    if "CHECK" in expected:
        assert run["checker_output_ref"]
    assert len(outbox_for(local, run["run_id"])) == 1


def test_repeat_starts_no_run_and_resolution_starts_one(local):
    name = f"Repeat-{uuid.uuid4().hex[:6]}"
    first = fire(local, name=name)
    assert len(first["run_ids"]) == 1
    again = fire(local, name=name)
    assert again["alerts_unchanged"] == 1 and again["run_ids"] == []
    resolved = fire(local, name=name, status="resolved")
    assert resolved["incidents_resolved"] == 1 and len(resolved["run_ids"]) == 1
    run = wait_run(local, resolved["run_ids"][0])["run"]
    assert run["trigger"] == "resolved" and run["outcome"] == "COMPLETED"


def test_escalation_starts_a_run(local):
    name = f"Esc-{uuid.uuid4().hex[:6]}"
    fire(local, name=name, severity="warning")
    up = fire(local, name=name, severity="critical")
    assert [i["event"] for i in up["incidents"]] == ["escalated"] and len(up["run_ids"]) == 1


def test_stage_that_fails_twice_then_succeeds(local):
    create_pipeline(local, "flaky-notify", [{"id": "notify", "type": "notify", "config": {"fault": {"fail_times": 2}}}])
    body = wait_run(local, fire(local, pipeline="flaky-notify")["run_ids"][0])
    run, stages = body["run"], body["stages"]
    assert run["status"] == "NOTIFIED" and run["outcome"] == "COMPLETED"
    assert [(s["attempt"], s["status"]) for s in stages] == [(1, "FAILED"), (2, "FAILED"), (3, "SUCCEEDED")]
    assert stages[0]["error_type"] == "StageRetryableError" and stages[0]["error_retryable"] is True
    assert len({s["idempotency_key"] for s in stages}) == 3
    assert len(outbox_for(local, run["run_id"])) == 1


def test_stage_that_always_fails_ends_the_run_failed(local):
    create_pipeline(local, "broken-notify", [{"id": "notify", "type": "notify", "config": {"fault": {"always": True}}}])
    body = wait_run(local, fire(local, pipeline="broken-notify")["run_ids"][0])
    run, stages = body["run"], body["stages"]
    assert run["status"] == "FAILED" and run["outcome"] == "FAILED"
    assert run["last_error_type"] == "StageRetryableError"
    assert "injected fault" in run["last_error_message"] and run["last_error_retryable"] is True
    assert run["failed_index"] == 0
    # StageMaxRetries=3: the first attempt and three retries
    assert [s["attempt"] for s in stages] == [1, 2, 3, 4] and {s["status"] for s in stages} == {"FAILED"}
    assert outbox_for(local, run["run_id"]) == []


def test_configuration_error_is_not_retried(local):
    create_pipeline(local, "misconfigured", [
        {"id": "notify", "type": "notify", "config": {"fault": {"always": True, "error": "config"}}}])
    body = wait_run(local, fire(local, pipeline="misconfigured")["run_ids"][0])
    assert body["run"]["status"] == "FAILED" and body["run"]["last_error_type"] == "ConfigurationError"
    assert body["run"]["last_error_retryable"] is False
    assert [s["attempt"] for s in body["stages"]] == [1]


def test_ai_failure_falls_back_to_the_local_provider(local):
    create_pipeline(local, "needs-openai", [{"id": "analyze", "type": "intelligence", "config": {"provider": "openai"}},
                                            {"id": "notify", "type": "notify", "config": {}}])
    body = wait_run(local, fire(local, pipeline="needs-openai")["run_ids"][0])
    run, stages = body["run"], body["stages"]
    assert run["outcome"] == "COMPLETED" and run["status"] == "NOTIFIED"
    assert run["intelligence_fallback_used"] is True
    analyze = [s for s in stages if s["stage"] == "ANALYZE"]
    assert [(s["status"], s["fallback"]) for s in analyze] == [("FAILED", False), ("SUCCEEDED", True)]
    assert analyze[0]["error_type"] == "ConfigurationError"
    assert analyze[1]["output_snapshot"]["provider"] == "local"
    assert analyze[1]["output_snapshot"]["fallback_used"] is True
    message = outbox_for(local, run["run_id"])[0]
    assert "Analysis (local, fallback)" in message["text"]


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
    deadline = time.monotonic() + 60
    with local.admin_client() as api:
        while time.monotonic() < deadline:
            body = api.get(f"/runs/{run_id}").json()
            if body["run"]["outcome"] == "COMPLETED":
                break
            time.sleep(0.25)
    run = body["run"]
    assert run["outcome"] == "COMPLETED" and run["status"] == "NOTIFIED" and run["resume_count"] >= 1
    assert [m["tags"]["node_id"] for m in outbox_for(local, run_id)] == ["first_notify", "second_notify"]
    first_notify = [s for s in body["stages"] if s["node_id"] == "first_notify"]
    assert len(first_notify) == 1  # not run again
    with local.admin_client() as api:
        assert api.post(f"/runs/{run_id}/resume").status_code == 409  # only FAILED runs resume


def test_transform_filter_skips_the_run(local):
    create_pipeline(local, "critical-only", [
        {"id": "gate", "type": "transform", "config": {"filter": {"field": "severity", "op": "gte", "value": "critical"}}},
        {"id": "notify", "type": "notify", "config": {}},
    ])
    skipped = wait_run(local, fire(local, pipeline="critical-only", severity="warning")["run_ids"][0])
    assert skipped["run"]["status"] == "SKIPPED" and skipped["run"]["outcome"] == "SKIPPED"
    assert "severity" in skipped["run"]["skip_reason"]
    assert [s["status"] for s in skipped["stages"]] == ["SKIPPED"]
    assert outbox_for(local, skipped["run"]["run_id"]) == []
    passed = wait_run(local, fire(local, pipeline="critical-only", severity="critical")["run_ids"][0])
    assert passed["run"]["outcome"] == "COMPLETED" and passed["run"]["status"] == "NOTIFIED"


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
