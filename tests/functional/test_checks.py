"""Agent check-ins against moto: CheckRuns, hosts, the bridge, bad batches,
duplicates, silent hosts (controlled clock) and the check stage."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from checkbatch import SNAPSHOT, batch, body, result
from signalfire import services
from signalfire.alerts.ingest import IngestOutcome, IngestService
from signalfire.checks.bridge import CheckAlertBridge, check_fingerprint
from signalfire.checks.service import CheckInService, CheckQueries, SilentHostSweep
from signalfire.errors import NotFoundError, SignalfireError
from signalfire.ids import alert_id

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Runs:
    """Stands in for the launcher: records which outcomes would start runs."""

    def __init__(self) -> None:
        self.outcomes: list[IngestOutcome] = []

    def start_for(self, outcome: IngestOutcome, pipeline_name: str | None = None) -> list[str]:
        self.outcomes.append(outcome)
        return [f"run-{len(self.outcomes)}-{c.event.value}" for c in outcome.incidents
                if c.event.value in ("created", "escalated", "resolved")]


class Clock:
    def __init__(self, at: datetime = T0) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def world(moto_stack: dict):
    clock, runs = Clock(), Runs()
    bridge = CheckAlertBridge(IngestService(services.alert_store()), runs)
    svc = CheckInService(services.check_store(), services.alert_store(), bridge, clock=clock)
    queries = CheckQueries(services.check_store(), 3.0, clock=clock)
    sweep = SilentHostSweep(services.check_store(), bridge, 3.0, clock=clock)
    return {"svc": svc, "queries": queries, "sweep": sweep, "clock": clock, "runs": runs}


def post(world: dict, **kwargs) -> object:
    kwargs.setdefault("at", world["clock"].at - timedelta(seconds=1))
    return world["svc"].receive(body(**kwargs))


def test_a_batch_becomes_checkruns_latest_results_snapshot_and_a_host(world: dict) -> None:
    answer = post(world, hostname="web-1", results=[("cpu", "ok"), ("disk", "warning")], snapshot=SNAPSHOT,
                  interval=30)
    assert answer.status == "accepted" and answer.checks_stored == 2
    detail = world["queries"].host("WEB-1")  # host names compare case-insensitively
    assert detail.host.interval_seconds == 30 and detail.host.status == "warning" and detail.host.last_seen == T0
    assert detail.snapshot["top_memory"][0]["name"] == "java" and detail.stale is False
    cpu = detail.checks["cpu"]
    sent = json.loads(body(hostname="x"))["results"][0]
    # every seed CheckRun field is kept, trace_id included
    for field in ("checker_name", "hostname", "status", "message", "metrics", "error", "warning_threshold",
                  "critical_threshold", "alert_id", "duration_ms", "executed_at", "trace_id"):
        assert field in cpu.model_dump(), field
    assert cpu.trace_id and cpu.warning_threshold == 70.0 and cpu.critical_threshold == 90.0
    assert cpu.duration_ms == sent["duration_ms"] and cpu.is_ok and not cpu.created_alert
    assert detail.checks["disk"].has_issue and detail.checks["disk"].alert_id == alert_id("agent", "web-1:disk")


def test_get_checks_filters_by_host_checker_status_and_since(world: dict) -> None:
    for minute, host, status in [(1, "web-1", "ok"), (2, "web-1", "critical"), (3, "db-1", "critical")]:
        post(world, hostname=host, at=T0 + timedelta(minutes=minute), results=[("cpu", status), ("memory", "ok")])
    q = world["queries"]
    everything = q.list_checks(hostname=None, checker=None, status=None, since=None, limit=50, next_token=None)
    assert everything.count == 6 and everything.items[0]["hostname"] == "db-1"  # newest first
    web = q.list_checks(hostname="web-1", checker="cpu", status=None, since=None, limit=50, next_token=None)
    assert [r["status"] for r in web.items] == ["critical", "ok"]
    crit = q.list_checks(hostname=None, checker=None, status="critical", since=None, limit=50, next_token=None)
    assert {r["hostname"] for r in crit.items} == {"web-1", "db-1"} and crit.count == 2
    recent = q.list_checks(hostname=None, checker="memory", status=None, since=T0 + timedelta(minutes=2, seconds=30),
                           limit=50, next_token=None)
    assert [r["hostname"] for r in recent.items] == ["db-1"]


def test_the_same_batch_twice_is_stored_once(world: dict, dynamodb_calls) -> None:
    payload = body(hostname="web-1", results=[("cpu", "critical")], at=T0)
    first = world["svc"].receive(payload)
    dynamodb_calls.calls.clear()
    again = world["svc"].receive(payload)
    assert first.status == "accepted" and again.status == "duplicate"
    assert dynamodb_calls.calls == ["GetItem"], "a duplicate costs one read and writes nothing"
    listed = world["queries"].list_checks(hostname="web-1", checker=None, status=None, since=None, limit=50,
                                          next_token=None)
    assert listed.count == 1 and world["queries"].host("web-1").host.batches_received == 1


@pytest.mark.parametrize(("payload", "status", "reason"), [
    (b"{not json", 400, "not valid JSON"),
    (b"", 400, "empty body"),
    (json.dumps([1]).encode(), 400, "JSON object"),
    (json.dumps({**batch(), "schema_version": 2}).encode(), 400, "schema_version 2 is not supported"),
    (json.dumps({**batch(), "host": {}}).encode(), 400, "host.hostname: Field required"),
    (json.dumps({**batch(), "host": {"hostname": "bad host!"}}).encode(), 400, "hostname must be"),
    (json.dumps(batch(results=[result("cpu", "ok"), result("cpu", "ok")])).encode(), 400,
     "repeated: cpu"),
    (json.dumps({**batch(), "results": [{**result("cpu", "ok"), "checker_name": "gpu"}]}).encode(), 400,
     "results.0.checker_name"),
    (json.dumps({**batch(), "results": [{**result("cpu", "ok"), "status": "fine"}]}).encode(), 400,
     "results.0.status"),
    (json.dumps({**batch(), "interval_seconds": 0}).encode(), 400, "interval_seconds"),
    (json.dumps({**batch(), "surprise": 1}).encode(), 400, "surprise: Extra inputs are not permitted"),
    (b"{" + b'"x": "' + b"a" * 300_000 + b'"}', 413, "limit is"),
    (json.dumps({**batch(), "results": [{**result("cpu", "ok"), "metrics": {"v": float("nan")}}]}).encode(), 400,
     "metrics.v"),
    (json.dumps({**batch(), "snapshot": {"deep": json.loads("[" * 40 + "]" * 40)}}).encode(), 400,
     "nested deeper"),
], ids=["not-json", "empty", "not-an-object", "schema-2", "no-hostname", "bad-hostname", "repeated-checker",
        "unknown-checker", "unknown-status", "zero-interval", "extra-field", "too-large", "nan", "too-deep"])
def test_a_bad_batch_answers_4xx_with_the_reason_is_kept_and_changes_nothing(world: dict, payload: bytes,
                                                                             status: int, reason: str) -> None:
    with pytest.raises(SignalfireError) as err:
        world["svc"].receive(payload, path="/checks/")
    assert err.value.http_status == status and reason in err.value.message
    kept = services.alert_store().list_rejected(limit=50, next_token=None).items
    assert len(kept) == 1 and kept[0].driver == "agent" and kept[0].status_code == status
    assert reason in kept[0].reason
    assert world["queries"].hosts(50, None).count == 0
    assert services.alert_store().list_alerts(status=None, severity=None, source=None, since=None, limit=5,
                                              next_token=None).items == []


def test_bridge_critical_fires_an_agent_alert_repeat_changes_nothing_ok_resolves(world: dict) -> None:
    runs: Runs = world["runs"]
    first = post(world, hostname="web-1", results=[("cpu", "ok"), ("disk", "critical")])
    aid = alert_id("agent", check_fingerprint("web-1", "disk"))
    alert = services.alert_store().get_alert(aid)
    assert alert is not None and alert.source == "agent" and alert.status.value == "firing"
    assert alert.severity.value == "critical" and alert.labels["host"] == "web-1" and alert.labels["checker"] == "disk"
    assert alert.incident_id and first.run_ids == ["run-1-created"]
    assert [a["change"] for a in first.alerts] == ["created"]

    world["clock"].at += timedelta(minutes=1)
    again = post(world, hostname="web-1", results=[("disk", "critical")])
    assert again.run_ids == [] and [a["change"] for a in again.alerts] == ["unchanged"]

    world["clock"].at += timedelta(minutes=1)
    post(world, hostname="web-1", results=[("disk", "unknown")])  # cannot tell: changes nothing
    assert services.alert_store().get_alert(aid).status.value == "firing"

    world["clock"].at += timedelta(minutes=1)
    ok = post(world, hostname="web-1", results=[("disk", "ok")])
    resolved = services.alert_store().get_alert(aid)
    assert resolved.status.value == "resolved" and ok.run_ids == ["run-3-resolved"]
    assert services.alert_store().get_incident(alert.incident_id).status.value == "resolved"
    host = world["queries"].host("web-1").host
    assert host.alerting == {} and host.status == "ok"
    assert len(runs.outcomes) == 3  # created, unchanged, resolved; the UNKNOWN batch reached no ingest


def test_warning_then_critical_escalates_the_same_alert(world: dict) -> None:
    post(world, hostname="web-1", results=[("memory", "warning")])
    world["clock"].at += timedelta(minutes=1)
    esc = post(world, hostname="web-1", results=[("memory", "critical")])
    assert [a["change"] for a in esc.alerts] == ["escalated"] and esc.run_ids == ["run-2-escalated"]


def test_an_older_batch_never_overwrites_newer_results_or_resolves_a_newer_alert(world: dict) -> None:
    post(world, hostname="web-1", at=T0 - timedelta(seconds=10), results=[("cpu", "critical")])
    late = post(world, hostname="web-1", at=T0 - timedelta(seconds=70), results=[("cpu", "ok")])
    assert late.status == "accepted" and late.alerts == []
    detail = world["queries"].host("web-1")
    assert detail.checks["cpu"].status.value == "critical"
    assert services.alert_store().get_alert(alert_id("agent", "web-1:cpu")).status.value == "firing"


def test_silent_host_with_a_controlled_clock(world: dict) -> None:
    clock, sweep = world["clock"], world["sweep"]
    post(world, hostname="web-1", interval=60, results=[("cpu", "ok")])
    post(world, hostname="db-1", interval=10, results=[("cpu", "ok")])
    clock.at = T0 + timedelta(seconds=179)  # web-1 has 180 s (3 x 60), db-1 only 30 s
    assert sweep.sweep().went_silent == ["db-1"]
    clock.at = T0 + timedelta(seconds=181)
    result = sweep.sweep()
    assert result.went_silent == ["web-1"] and result.hosts_checked == 2
    assert sweep.sweep().went_silent == [], "a host is reported silent once"
    silent = services.alert_store().get_alert(alert_id("agent", "web-1:host_silent"))
    assert silent.status.value == "firing" and silent.name == "HostSilent: web-1" and silent.severity.value == "critical"
    assert world["queries"].hosts(50, None).items[1].status == "silent"
    assert world["queries"].host("web-1").stale is True

    clock.at = T0 + timedelta(seconds=300)
    back = post(world, hostname="web-1", interval=60, results=[("cpu", "ok")])
    assert back.host_recovered is True
    assert services.alert_store().get_alert(alert_id("agent", "web-1:host_silent")).status.value == "resolved"
    host = world["queries"].host("web-1").host
    assert host.silent is False and host.silent_alert_id is None and host.status == "ok"


def test_unknown_host_is_a_404(world: dict) -> None:
    with pytest.raises(NotFoundError, match="no agent has reported as host 'ghost'"):
        world["queries"].host("ghost")


def test_dropped_batches_are_counted_on_the_host(world: dict) -> None:
    post(world, hostname="web-1", dropped=3)
    world["clock"].at += timedelta(minutes=1)
    post(world, hostname="web-1", dropped=2)
    assert world["queries"].host("web-1").host.dropped_batches_total == 5
