"""AI analysis through the local stack: a configured provider analyses a
pipeline run against a real HTTP server speaking the vendor's protocol, and
a vendor outage is retried by the state machine, then answered by the local
provider, with every attempt audited."""

from __future__ import annotations

import json

import pytest
from test_pipelines import create_pipeline, fire, outbox_for, wait_run
from vendor_server import VendorServer

pytestmark = pytest.mark.e2e
KEY = "sk-e2e-NEVER-LOG-ME-123456"
ANSWER = {"summary": "The root filesystem of web-1 is full", "probable_cause": "logs not rotated",
          "confidence": 0.8, "recommendations": [{"type": "disk", "priority": "critical", "title": "Rotate logs",
                                                  "description": "/var/log is 30 GB", "actions": ["logrotate -f"]}]}


def completion(text: str) -> dict:
    return {"id": "c", "object": "chat.completion", "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 700, "completion_tokens": 90, "total_tokens": 790}}


def test_configured_provider_in_a_run_then_outage_falls_back(local):
    vendor = VendorServer().start()
    try:
        with local.admin_client() as api:
            r = api.post("/intelligence/providers/", json={
                "name": "gpt", "provider": "openai", "is_active": True,
                "config": {"api_key": KEY, "base_url": vendor.url + "/v1", "timeout": 5}})
            assert r.status_code == 201, r.text
        create_pipeline(local, "ai-by-name", [{"id": "analyze", "type": "intelligence", "config": {"provider": "gpt"}},
                                              {"id": "notify", "type": "notify", "config": {}}])

        # the vendor answers: the run carries its analysis, tokens and audit record
        vendor.answer(200, completion(json.dumps(ANSWER)))
        body = wait_run(local, fire(local, pipeline="ai-by-name")["run_ids"][0])
        run, [analyze, _notify] = body["run"], body["stages"]
        assert run["status"] == "NOTIFIED" and run["intelligence_fallback_used"] is False
        out = analyze["output_snapshot"]
        assert (out["provider"], out["provider_name"], out["fallback_used"]) == ("openai", "gpt", False)
        assert out["summary"] == ANSWER["summary"] and out["total_tokens"] == 790
        assert vendor.requests[-1].path == "/v1/chat/completions"
        assert vendor.requests[-1].headers["authorization"] == f"Bearer {KEY}"

        # the vendor is down: ProviderError is retried by the ASL, then the local provider answers
        for _ in range(8):
            vendor.answer(503, {"error": {"message": "overloaded"}})
        before = len(vendor.requests)
        body = wait_run(local, fire(local, pipeline="ai-by-name")["run_ids"][0], timeout=90)
        run = body["run"]
        analyze = [s for s in body["stages"] if s["stage"] == "ANALYZE"]
        assert run["status"] == "NOTIFIED" and run["intelligence_fallback_used"] is True
        assert sorted((s["fallback"], s["attempt"], s["status"], s["error_type"] or "") for s in analyze) == (
            [(False, n, "FAILED", "ProviderError") for n in (1, 2, 3, 4)] + [(True, 1, "SUCCEEDED", "")])
        assert len(vendor.requests) - before == 4  # one call per attempt (StageMaxRetries=3)
        [fallback] = [s["output_snapshot"] for s in analyze if s["fallback"]]
        assert fallback["provider"] == "local" and fallback["primary_error"]["type"] == "ProviderError"
        assert "HTTP 503" in fallback["primary_error"]["message"]
        assert "Analysis (local, fallback)" in outbox_for(local, run["run_id"])[0]["text"]

        with local.admin_client() as api:
            incident = run["incident_id"]
            audit = api.get("/intelligence/recommendations/", params={"incident_id": incident}).json()["items"]
        assert sorted((a["provider"], a["status"]) for a in audit) == [("local", "SUCCEEDED")] + [
            ("openai", "FAILED")] * 4
        assert all(a["pipeline_run_id"] == run["run_id"] and a["trace_id"] == run["trace_id"] for a in audit)
        assert KEY not in json.dumps(audit) and KEY not in json.dumps(body)
        assert KEY not in local.log.read_text()
    finally:
        vendor.stop()


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
