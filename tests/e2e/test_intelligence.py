"""AI analysis through the local stack: a configured provider analyses a
pipeline run against a real HTTP server speaking the vendor's protocol, and
a vendor outage is retried by the state machine, then answered by the local
provider, with every attempt audited.  (The local provider reading the
agent's snapshot in a run: tests/functional/test_stack_http.py.)"""

from __future__ import annotations

import json

import pytest
from stackclient import create_pipeline, fire, outbox_for, wait_run
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
