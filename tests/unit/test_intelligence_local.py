"""The local provider: the seed's keyword detection and settings, grounded
in the host's agent snapshot when there is one, and saying which."""

from __future__ import annotations

from signalfire.alerts.models import Alert, AlertStatus, Incident, Severity
from signalfire.intelligence.models import AnalysisRequest, DiskUsage, HostContext, PathSize, ProcessInfo
from signalfire.intelligence.providers import get_provider
from signalfire.intelligence.providers.local import detect_types
from signalfire.timeutil import utcnow


def _req(title: str, hosts: list[HostContext] | None = None, missing: list[str] | None = None,
         severity: Severity = Severity.CRITICAL) -> AnalysisRequest:
    now = utcnow()
    alert = Alert(id="al_1", fingerprint="f", source="grafana", name=title, severity=severity,
                  status=AlertStatus.FIRING, started_at=now, received_at=now, updated_at=now)
    return AnalysisRequest(incident=Incident(id="in_1", title=title, severity=severity), alerts=[alert],
                           hosts=hosts or [], hosts_without_data=missing or [])


def _host() -> HostContext:
    return HostContext(
        hostname="web-1", reported_at=utcnow(), memory_percent=96.5, memory_total_mb=8192, memory_available_mb=280,
        cpu_percent=88.0, load_average=[3.5, 2.0, 1.0],
        top_memory=[ProcessInfo(pid=4242, name="java", memory_mb=5100, memory_percent=62.0),
                    ProcessInfo(pid=77, name="postgres", memory_mb=900, memory_percent=11.0)],
        top_cpu=[ProcessInfo(pid=4242, name="java", cpu_percent=180.0)],
        disks=[DiskUsage(path="/", percent=97.0, free_gb=0.8), DiskUsage(path="/boot", percent=40.0)],
        space_hogs=[PathSize(path="/var/log/journal", size_mb=4200), PathSize(path="/opt/data", size_mb=90000)],
        large_files=[PathSize(path="/var/log/app.log", size_mb=2300), PathSize(path="/tmp/small", size_mb=5)],
        old_files=[PathSize(path="/tmp/old.tar", size_mb=50, age_days=120), PathSize(path="/tmp/new", age_days=1)],
        checks={"memory": {"status": "critical", "message": "96.5% used"}, "cpu": {"status": "ok"}})


def test_keyword_detection_follows_the_seed():
    assert [t.value for t in detect_types("OOM killer fired, swap full")] == ["memory"]
    assert [t.value for t in detect_types("Disk space low on /var")] == ["disk"]
    assert [t.value for t in detect_types("High CPU load")] == ["cpu"]


def test_memory_alert_names_the_hosts_top_processes():
    a = get_provider("local").answer(_req("HighMemory on web-1", [_host()])).analysis
    top = a.recommendations[0]
    assert top.type.value == "memory" and top.priority.value == "critical"
    assert top.title.startswith("Memory on web-1 at 96%") and "java" in top.title
    assert any("pid 4242" in x for x in top.actions)
    assert top.details["source"] == "host_snapshot" and top.details["hostname"] == "web-1"
    assert "snapshot of web-1" in a.summary and a.confidence == 0.7


def test_disk_alert_uses_scan_paths_and_thresholds():
    provider = get_provider("local", {"large_file_threshold_mb": 1000, "old_file_days": 30,
                                      "scan_paths": ["/var/log", "/tmp"]})
    rec = provider.answer(_req("Disk almost full", [_host()])).analysis.recommendations[0]
    assert rec.type.value == "disk" and "/" in rec.title and "97%" in rec.title
    paths = [h["path"] for h in rec.details["space_hogs"]]
    assert paths == ["/var/log/journal"]  # /opt/data is outside scan_paths
    assert [f["path"] for f in rec.details["large_files"]] == ["/var/log/app.log"]
    assert [f["path"] for f in rec.details["old_files"]] == ["/tmp/old.tar"]
    assert any("/var/log/journal" in x for x in rec.actions)


def test_failing_check_adds_its_type_even_without_keywords():
    a = get_provider("local").answer(_req("Something is wrong", [_host()])).analysis
    assert a.recommendations[0].type.value == "memory"


def test_without_host_data_it_says_so_and_stays_useful():
    a = get_provider("local").answer(_req("Disk space low", missing=["db-9"])).analysis
    assert "No agent data for db-9" in a.summary
    assert a.recommendations[0].type.value == "disk" and a.recommendations[0].actions
    assert a.confidence == 0.5
    none = get_provider("local").answer(_req("Weird thing happened")).analysis
    assert none.probable_cause == "unknown" and "name no host" in none.summary
    assert none.recommendations[0].actions


def test_analysis_type_forces_the_kind():
    recs = get_provider("local").analyze(_req("anything", [_host()]), "disk")
    assert recs[0].type.value == "disk"
