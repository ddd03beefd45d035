"""The intelligence API through the real API handler against moto: provider
configuration as data (one active, atomically), analyses on demand with the
local fallback, stored recommendations, host views, and no key anywhere."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from vendor_server import VendorServer

from handler_calls import api, webhook
from support import WEBHOOK_TOKEN

KEY = "sk-live-TOPSECRET-9f8e7d6c5b4a"
ANSWER = {"summary": "Postgres is out of disk", "probable_cause": "WAL files fill /var/lib/postgresql",
          "confidence": 0.9, "recommendations": [{"type": "disk", "priority": "critical", "title": "Archive WAL",
                                                  "description": "pg_wal is 40 GB", "actions": ["Run pg_archivecleanup"]}]}


def completion(text: str) -> dict[str, Any]:
    return {"id": "c1", "object": "chat.completion", "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 900, "completion_tokens": 120, "total_tokens": 1020}}


@pytest.fixture
def vendor() -> Iterator[VendorServer]:
    srv = VendorServer().start()
    yield srv
    srv.stop()


def _incident(name: str = "PostgresDiskFull", host: str = "db-1") -> str:
    body = {"name": name, "severity": "critical", "description": "disk usage 97% on /var/lib/postgresql",
            "labels": {"host": host}}
    return webhook(body).json["incidents"][0]["incident_id"]


def _provider(name: str, url: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "provider": "openai", "description": "test",
            "config": {"api_key": KEY, "base_url": url + "/v1", "timeout": 5, **extra.pop("config", {})}, **extra}


def test_provider_crud_never_returns_the_key(moto_stack):
    created = api("POST", "/intelligence/providers/", body=_provider("prod-openai", "https://api.openai.com"))
    assert created.status == 201, created
    assert created.json["config"]["api_key"] == "***" and created.json["config"]["timeout"] == 5
    assert created.json["is_active"] is False and created.json["created_at"]
    assert api("POST", "/intelligence/providers", body=_provider("prod-openai", "https://x")).status == 409

    listing = api("GET", "/intelligence/providers/").json
    assert {t["provider"] for t in listing["types"]} == {"local", "openai", "claude", "gemini", "copilot", "grok",
                                                         "ollama", "mistral"}
    assert [p["name"] for p in listing["providers"]] == ["prod-openai"] and listing["effective"] == "local"

    # PUT with the redacted config keeps the stored key; is_active switches it on
    shown = api("GET", "/intelligence/providers/prod-openai").json
    updated = api("PUT", "/intelligence/providers/prod-openai/",
                  body={"config": {**shown["config"], "model": "gpt-4.1-mini"}, "is_active": True})
    assert updated.status == 200 and updated.json["is_active"] is True
    assert updated.json["config"] == {**shown["config"], "model": "gpt-4.1-mini"}
    from signalfire import services
    assert services.intelligence_store().get_provider("prod-openai").config["api_key"] == KEY
    assert api("GET", "/intelligence/health/").json["active"] == "prod-openai"

    assert api("DELETE", "/intelligence/providers/prod-openai").status == 204
    assert api("GET", "/intelligence/providers/prod-openai").status == 404
    assert api("DELETE", "/intelligence/providers/prod-openai").status == 404
    assert api("GET", "/intelligence/health").json["active"] is None


@pytest.mark.parametrize("body, says", [
    ({"name": "x", "provider": "skynet"}, "provider"),
    ({"name": "bad name!", "provider": "openai"}, "name"),
    ({"name": "x", "provider": "openai", "config": {"temperature": 2}}, "temperature"),
    ({"name": "x", "provider": "openai", "config": {"api_key_ref": "prod/db-password"}}, "signalfire/intelligence/"),
    ({"name": "x", "provider": "openai", "config": {"base_url": "file:///etc/passwd"}}, "base_url"),
    ({"name": "x", "provider": "openai", "config": {"timeout": 600}}, "timeout"),
    ({"name": "x", "provider": "local", "config": {"top_n_processes": "ten"}}, "top_n_processes"),
    ({"name": "x", "provider": "openai", "surprise": 1}, "surprise"),
])
def test_bad_provider_configs_are_a_clear_400_and_change_nothing(moto_stack, body, says):
    reply = api("POST", "/intelligence/providers", body=body)
    assert reply.status == 400 and says in json.dumps(reply.json), reply
    assert api("GET", "/intelligence/providers").json["providers"] == []


def test_concurrent_activations_leave_exactly_one_active(moto_stack):
    names = [f"p{i}" for i in range(6)]
    for n in names:
        assert api("POST", "/intelligence/providers", body=_provider(n, "https://api.openai.com")).status == 201
    barrier = threading.Barrier(len(names) * 3)
    results: list[int] = []

    def activate(n: str) -> None:
        barrier.wait()
        results.append(api("PUT", f"/intelligence/providers/{n}", body={"is_active": True}).status)

    threads = [threading.Thread(target=activate, args=(n,)) for n in names * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(s in (200, 503) for s in results) and 200 in results
    providers = api("GET", "/intelligence/providers").json["providers"]
    active = [p["name"] for p in providers if p["is_active"]]
    assert len(active) == 1
    # creating a new active one moves the pointer, still one
    api("POST", "/intelligence/providers", body=_provider("new", "https://api.openai.com", is_active=True))
    assert [p["name"] for p in api("GET", "/intelligence/providers").json["providers"] if p["is_active"]] == ["new"]


def test_analysis_on_demand_with_a_configured_provider(moto_stack, vendor, capsys):
    vendor.answer(200, completion("```json\n" + json.dumps(ANSWER) + "\n```"))
    api("POST", "/intelligence/providers", body=_provider("gpt", vendor.url, is_active=True))
    incident = _incident()
    reply = api("POST", "/intelligence/recommendations/", body={"incident_id": incident})
    assert reply.status == 200, reply
    body = reply.json
    assert body["summary"] == ANSWER["summary"] and body["probable_cause"] == ANSWER["probable_cause"]
    assert body["confidence"] == 0.9 and body["recommendations"][0]["title"] == "Archive WAL"
    assert (body["provider"], body["provider_name"], body["model_name"]) == ("openai", "gpt", "gpt-4o-mini-2024-07-18")
    assert (body["prompt_tokens"], body["completion_tokens"], body["total_tokens"]) == (900, 120, 1020)
    assert body["fallback_used"] is False and body["analysis_run_id"].startswith("an_")
    assert body["hosts_without_data"] == ["db-1"]
    sent = vendor.requests[-1]
    assert sent.path == "/v1/chat/completions" and sent.headers["authorization"] == f"Bearer {KEY}"
    assert "PostgresDiskFull" in sent.json["messages"][1]["content"]

    stored = api("GET", "/intelligence/recommendations", query={"incident_id": incident}).json
    assert stored["count"] == 1
    run = stored["items"][0]
    assert run["id"] == body["analysis_run_id"] and run["status"] == "SUCCEEDED"
    assert run["provider_config"]["api_key"] == "***" and run["total_tokens"] == 1020
    assert run["recommendations_count"] == 1 and run["duration_ms"] >= 0

    _no_key_anywhere(capsys.readouterr().out + json.dumps(body) + json.dumps(stored))


def test_provider_failure_falls_back_to_local_and_says_why(moto_stack, vendor, capsys):
    vendor.answer(500, {"error": {"message": f"upstream broke near {KEY}"}})
    api("POST", "/intelligence/providers", body=_provider("gpt", vendor.url, is_active=True))
    incident = _incident()
    body = api("POST", "/intelligence/recommendations", body={"incident_id": incident}).json
    assert body["fallback_used"] is True and body["provider"] == "local"
    assert body["primary_error"]["type"] == "ProviderError" and "HTTP 500" in body["primary_error"]["message"]
    assert body["recommendations"][0]["type"] == "disk" and body["recommendations"][0]["actions"]
    runs = api("GET", "/intelligence/recommendations", query={"incident_id": incident}).json["items"]
    assert sorted((r["provider"], r["status"], r["fallback_used"]) for r in runs) == [
        ("local", "SUCCEEDED", True), ("openai", "FAILED", False)]
    _no_key_anywhere(capsys.readouterr().out + json.dumps(body) + json.dumps(runs))

    # asking for a provider that cannot exist is a clear 400 (a pipeline node would fall back)
    named = api("POST", "/intelligence/recommendations", body={"incident_id": incident, "provider": "claude"})
    assert named.status == 400 and "no claude provider is configured" in named.json["message"]
    unknown = api("POST", "/intelligence/recommendations", body={"incident_id": incident, "provider": "nope"})
    assert unknown.status == 400 and "no intelligence provider named 'nope'" in unknown.json["message"]
    assert api("POST", "/intelligence/recommendations", body={"incident_id": incident, "provider": "local"}).status == 200
    assert api("POST", "/intelligence/recommendations", body={"incident_id": "in_missing"}).status == 404
    assert api("POST", "/intelligence/recommendations", body={}).status == 400


def test_key_by_reference_from_ssm(moto_stack, vendor):
    boto3.client("ssm").put_parameter(Name="/signalfire/intelligence/openai", Value=KEY, Type="SecureString")
    vendor.answer(200, completion(json.dumps(ANSWER)))
    config = {"api_key_ref": "ssm:/signalfire/intelligence/openai", "base_url": vendor.url + "/v1"}
    created = api("POST", "/intelligence/providers", body={"name": "ref", "provider": "openai", "config": config,
                                                            "is_active": True})
    assert created.json["config"]["api_key_ref"] == "ssm:/signalfire/intelligence/openai"
    body = api("POST", "/intelligence/recommendations", body={"incident_id": _incident()}).json
    assert body["fallback_used"] is False and vendor.requests[-1].headers["authorization"] == f"Bearer {KEY}"


def test_key_by_reference_from_secrets_manager(moto_stack, vendor):
    boto3.client("secretsmanager").create_secret(Name="signalfire/intelligence/claude",
                                                 SecretString=json.dumps({"api_key": KEY}))
    vendor.answer(200, {"content": [{"type": "text", "text": json.dumps(ANSWER)}], "model": "claude-x",
                        "usage": {"input_tokens": 10, "output_tokens": 5}})
    config = {"api_key_ref": "signalfire/intelligence/claude", "base_url": vendor.url}
    api("POST", "/intelligence/providers", body={"name": "c", "provider": "claude", "config": config})
    body = api("POST", "/intelligence/recommendations", body={"incident_id": _incident(), "provider": "c"}).json
    assert body["provider"] == "claude" and body["total_tokens"] == 15
    assert vendor.requests[-1].headers["x-api-key"] == KEY
    # a reference that does not exist is a configuration error, answered by the fallback
    api("PUT", "/intelligence/providers/c", body={"config": {**config, "api_key_ref": "signalfire/intelligence/gone"}})
    missing = api("POST", "/intelligence/recommendations", body={"incident_id": _incident("X2"), "provider": "c"}).json
    assert missing["fallback_used"] is True and missing["primary_error"]["type"] == "ConfigurationError"


def _agent_report(host: str) -> None:
    """A check-in as the agent posts it (POST /checks/ with the sender token)."""
    from datetime import timedelta

    from signalfire.timeutil import iso, utcnow

    now = iso(utcnow() - timedelta(seconds=5))
    batch = {
        "schema_version": 1, "batch_id": f"batch-{host}-0001", "collected_at": now, "interval_seconds": 60,
        "host": {"hostname": host},
        "results": [
            {"checker_name": "memory", "status": "critical", "message": "Memory usage 93.0%", "duration_ms": 1.0,
             "executed_at": now, "metrics": {"memory_percent": 93.0, "memory_total_gb": 8.0,
                                             "memory_available_gb": 0.56}},
            {"checker_name": "disk_common", "status": "warning", "message": "6 GB recoverable", "duration_ms": 9.0,
             "executed_at": now, "metrics": {
                 "old_files": [{"path": "/var/log/old.gz", "size_mb": 300.0, "age_days": 90}],
                 "large_files": [{"path": "/var/log/huge.log", "size_mb": 2500.0}], "space_hogs": []}},
        ],
        "snapshot": {
            "taken_at": now,
            "top_memory": [{"pid": 812, "name": "postgres", "cpu_percent": 12.0, "memory_percent": 71.5,
                            "rss_mb": 5800.0}],
            "top_cpu": [{"pid": 812, "name": "postgres", "cpu_percent": 12.0, "memory_percent": 71.5, "rss_mb": 5800.0}],
            "process_count": 150,
            "disks": [{"mount": "/", "device": "/dev/sda1", "fstype": "ext4", "percent": 97.1, "total_gb": 50.0,
                       "used_gb": 48.5, "free_gb": 1.5}],
            "space_hogs": [{"path": "/var/log/journal", "size_mb": 3100.0}], "load_average": [2.0, 1.5, 1.0]},
    }
    reply = api("POST", "/checks/", body=batch, token=WEBHOOK_TOKEN)
    assert reply.status in (200, 202), reply


def test_memory_and_disk_views_read_the_hosts_snapshot(moto_stack):
    _agent_report("db-1")
    mem = api("GET", "/intelligence/memory/", query={"hostname": "db-1"})
    assert mem.status == 200, mem
    assert mem.json["memory_percent"] == 93.0 and mem.json["top_processes"][0]["name"] == "postgres"
    assert "postgres" in mem.json["recommendations"][0]["title"]
    disk = api("GET", "/intelligence/disk", query={"hostname": "db-1"}).json
    assert disk["disks"][0]["percent"] == 97.1 and disk["space_hogs"][0]["path"] == "/var/log/journal"
    assert disk["large_files"][0]["path"] == "/var/log/huge.log"
    assert any("/var/log/journal" in a for a in disk["recommendations"][0]["actions"])
    missing = api("GET", "/intelligence/disk", query={"hostname": "ghost"})
    assert missing.status == 404 and "signalfire-agent" in missing.json["message"]
    assert api("GET", "/intelligence/disk").status == 400


def test_local_analysis_uses_the_agent_snapshot_of_the_alerts_host(moto_stack):
    _agent_report("db-1")
    body = api("POST", "/intelligence/recommendations", body={"incident_id": _incident(), "provider": "local"}).json
    assert body["provider"] == "local" and body["hosts_with_data"] == ["db-1"]
    top = body["recommendations"][0]
    assert top["type"] == "disk" and "97%" in top["title"] and top["details"]["source"] == "host_snapshot"


def _no_key_anywhere(text: str) -> None:
    """The key lives only in its provider item: no log line, response or other item holds it."""
    assert KEY not in text
    from signalfire import services

    items = boto3.client("dynamodb").scan(TableName=services.table().table_name)["Items"]
    holders = [i["PK"]["S"] for i in items if KEY in json.dumps(i, default=repr)]
    assert all(h.startswith("INTEL#PROVIDER#") for h in holders), holders


def test_a_pipeline_may_name_a_configured_provider_but_not_an_unknown_one(moto_stack):
    node = {"id": "analyze", "type": "intelligence", "config": {"provider": "prod-claude"}}
    config = {"version": "1.0", "nodes": [node]}
    refused = api("POST", "/pipelines", body={"name": "uses-claude", "config": config})
    assert refused.status == 400 and "'prod-claude' is not configured" in refused.json["message"]
    assert api("GET", "/pipelines/uses-claude").status == 404
    api("POST", "/intelligence/providers", body={"name": "prod-claude", "provider": "claude",
                                                 "config": {"api_key_ref": "signalfire/intelligence/claude"}})
    assert api("POST", "/pipelines", body={"name": "uses-claude", "config": config}).status == 201
    typed = {"version": "1.0", "nodes": [{**node, "config": {"provider": "gemini"}}]}
    assert api("POST", "/pipelines", body={"name": "uses-gemini", "config": typed}).status == 201


def test_pipeline_provider_types_are_the_registry():
    from signalfire.intelligence.providers import PROVIDERS
    from signalfire.intelligence.service import ProviderType
    from signalfire.pipelines.models import PROVIDERS as PIPELINE_PROVIDERS

    assert set(PIPELINE_PROVIDERS) == set(PROVIDERS) == set(ProviderType.__args__)


def test_an_analysis_costs_two_writes_and_few_reads(moto_stack, dynamodb_calls):
    incident = _incident()
    dynamodb_calls.reset()
    assert api("POST", "/intelligence/recommendations", body={"incident_id": incident}).status == 200
    # incident, its alerts, the host's items, the active pointer, the local item lookup; the record twice
    assert dynamodb_calls.writes() == ["PutItem", "PutItem"]
    assert len(dynamodb_calls.calls) - 2 <= 7, dynamodb_calls.calls


def test_an_analysis_on_demand_stops_the_ai_call_in_time_for_the_fallback(moto_stack, vendor):
    from signalfire import services

    vendor.answer(200, completion(json.dumps(ANSWER)), delay=3)
    api("POST", "/intelligence/providers", body=_provider("slow", vendor.url, is_active=True,
                                                           config={"timeout": 60}))
    result = services.intelligence().analyze_incident(_incident(), remaining_seconds=8.5)  # cap: 8.5 - 7 = 1.5 s
    assert result.fallback_used is True and result.primary_error is not None
    assert result.primary_error["type"] == "ProviderError" and "1.5 s" in result.primary_error["message"]
