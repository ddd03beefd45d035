"""Check results through the real state machine (moto): an agent's CRITICAL
result starts local-monitor, whose check stage attaches the host's results;
OK resolves it; alerts from other sources get the host they name."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import test_local_stepfunctions
from test_local_stepfunctions import Harness

from checkbatch import body, result, store_results
from signalfire import services
from signalfire.alerts.drivers import parse_webhook
from signalfire.alerts.ingest import IngestService
from signalfire.ids import alert_id
from signalfire.settings import get_settings

# the moto state machine fixtures of the orchestration tests
sf = test_local_stepfunctions.sf
_env = test_local_stepfunctions._env


def webhook(labels: dict, pipeline: str, name: str = "HighLoad") -> list[str]:
    payload = {"name": name, "severity": "critical", "status": "firing", "labels": labels}
    launcher = services.launcher()
    outcome = IngestService(services.alert_store()).process(parse_webhook(payload, "generic"),
                                                           launcher.pipeline_for("generic", pipeline))
    return launcher.start_for(outcome)


def test_agent_critical_starts_local_monitor_with_the_hosts_results_and_ok_resolves(sf: Harness) -> None:
    answer = services.checkin_service().receive(body(hostname="web-1", results=[("disk", "critical"), ("cpu", "ok")]))
    (run_id,) = answer.run_ids
    done = sf.wait(run_id)
    run = done["run"]
    assert run.pipeline_name == "local-monitor" and run.source == "agent" and run.status.value == "NOTIFIED"
    check = done["stages"][0]
    assert check.stage == "CHECK" and check.output_snapshot["hosts"]["web-1"]["disk"]["status"] == "critical"
    assert check.output_snapshot["checks_run"] == 2 and check.output_snapshot["checks_failed"] == 1
    assert [s.stage for s in done["stages"]] == ["CHECK", "NOTIFY"]

    ok = services.checkin_service().receive(body(hostname="web-1", results=[("disk", "ok")],
                                                 at=datetime.now(UTC) + timedelta(seconds=1)))
    assert services.alert_store().get_alert(alert_id("agent", "web-1:disk")).status.value == "resolved"
    (resolved_run,) = ok.run_ids
    assert sf.wait(resolved_run)["run"].trigger == "resolved"


def test_agent_alerts_start_local_smart_when_configured(sf: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGNALFIRE_AGENT_PIPELINE", "local-smart")
    get_settings.cache_clear()
    services.reset()
    answer = services.checkin_service().receive(body(hostname="db-1", results=[("memory", "critical")]))
    done = sf.wait(answer.run_ids[0])
    assert done["run"].pipeline_name == "local-smart"
    assert [s.stage for s in done["stages"]] == ["CHECK", "ANALYZE", "NOTIFY"]


def test_webhook_alert_gets_the_host_it_names_port_stripped(sf: Harness) -> None:
    store_results("web-1", [("cpu", "critical", "CPU usage 97%"), ("memory", "ok", "Memory usage 20%")])
    sf.pipeline("cpu-only", [{"id": "ctx", "type": "context", "config": {"checker_names": ["cpu"]}}])
    out = sf.wait(webhook({"instance": "web-1:9100", "job": "node"}, "cpu-only")[0])["stages"][0].output_snapshot
    assert list(out["hosts"]) == ["web-1"] and list(out["hosts"]["web-1"]) == ["cpu"]
    assert out["checks"][0]["message"] == "CPU usage 97%" and out["checker_names"] == ["cpu"]
    full = sf.wait(webhook({"instance": "web-1:9100"}, "health-checked", name="Other")[0])["stages"][0]
    assert sorted(full.output_snapshot["hosts"]["web-1"]) == ["cpu", "memory"]


def test_ipv6_host_and_stale_and_absent_hosts_are_said_so(sf: Harness) -> None:
    store_results("::1", [("disk", "warning", "Disk / at 85%")])
    old = datetime.now(UTC) - timedelta(hours=2)
    store_results("old-1", [("disk", "ok", "fine")], now=old)
    out = sf.wait(webhook({"instance": "[::1]:9100"}, "health-checked")[0])["stages"][0].output_snapshot
    assert out["hosts"]["::1"]["disk"]["status"] == "warning"
    stale = sf.wait(webhook({"host": "old-1"}, "health-checked", name="B")[0])["stages"][0].output_snapshot
    assert stale["checks_run"] == 0 and stale["stale_hosts"]["old-1"]["statuses"] == {"disk": "ok"}
    assert stale["stale_hosts"]["old-1"]["age_seconds"] > 7000 and stale["stale_hosts"]["old-1"]["limit_seconds"] == 180
    absent = sf.wait(webhook({"hostname": "never-seen"}, "health-checked", name="C")[0])["stages"][0].output_snapshot
    assert absent["hosts_without_results"] == ["never-seen"] and absent["checks_run"] == 0


def test_the_analysis_reads_the_agents_snapshot_for_the_host(sf: Harness) -> None:
    from checkbatch import SNAPSHOT

    payload = json.loads(body(hostname="app-1", results=[result("memory", "critical", "Memory usage 93%",
                                                                 metrics={"memory_percent": 93.0})]))
    payload["snapshot"] = SNAPSHOT
    services.checkin_service().receive(json.dumps(payload).encode())
    ctx = services.host_contexts().latest("app-1")
    assert ctx is not None and ctx.memory_percent == 93.0 and ctx.top_memory[0].name == "java"
    assert ctx.checks["memory"]["status"] == "critical"
