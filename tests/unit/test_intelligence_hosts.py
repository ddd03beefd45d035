"""The host context the analysis reads: the agent's snapshot and latest
check results mapped onto HostContext; hosts found from alert labels."""

from __future__ import annotations

from datetime import timedelta

from signalfire.alerts.models import Alert, AlertStatus, Severity
from signalfire.intelligence.hosts import from_agent, host_from_label, hosts_of
from signalfire.timeutil import iso, utcnow

SNAPSHOT = {
    "taken_at": "2026-01-01T10:00:00Z",
    "top_memory": [{"pid": 1, "name": "java", "cpu_percent": 3.0, "memory_percent": 60.0, "rss_mb": 4800.0}],
    "top_cpu": [{"pid": 2, "name": "ffmpeg", "cpu_percent": 190.0, "memory_percent": 2.0, "rss_mb": 100.0}],
    "process_count": 210,
    "disks": [{"mount": "/", "device": "/dev/sda1", "fstype": "ext4", "percent": 91.0, "total_gb": 100.0,
               "used_gb": 91.0, "free_gb": 9.0}],
    "space_hogs": [{"path": "/var/log", "size_mb": 2000.0}],
    "load_average": [4.0, 3.0, 2.0],
}
CHECKS = {
    "memory": {"status": "CRITICAL", "message": "Memory usage 95.0%", "executed_at": "2026-01-01T10:00:05Z",
               "metrics": {"memory_percent": 95.0, "memory_total_gb": 16.0, "memory_available_gb": 0.8}},
    "cpu": {"status": "ok", "metrics": {"cpu_percent": 40.0}, "executed_at": "2026-01-01T10:00:05Z"},
    "disk_common": {"status": "warning", "executed_at": "2026-01-01T09:00:00Z", "metrics": {
        "space_hogs": [{"path": "/var/log", "size_mb": 2000.0}, {"path": "/tmp", "size_mb": 700.0}],
        "old_files": [{"path": "/tmp/a.tar", "size_mb": 10.0, "age_days": 60}],
        "large_files": [{"path": "/var/log/x.log", "size_mb": 900.0}]}},
}


def test_agent_shapes_map_onto_host_context():
    now = utcnow()
    ctx = from_agent("web-1", SNAPSHOT, CHECKS, now=now)
    assert ctx.memory_percent == 95.0 and ctx.memory_total_mb == 16 * 1024 and ctx.cpu_percent == 40.0
    assert ctx.top_memory[0].name == "java" and ctx.top_memory[0].memory_mb == 4800.0
    assert ctx.top_cpu[0].name == "ffmpeg" and ctx.disks[0].path == "/" and ctx.disks[0].percent == 91.0
    assert [h.path for h in ctx.space_hogs] == ["/var/log", "/tmp"]  # merged, no duplicate
    assert ctx.old_files[0].age_days == 60 and ctx.large_files[0].path == "/var/log/x.log"
    assert ctx.load_average == [4.0, 3.0, 2.0]
    assert ctx.checks["memory"]["status"] == "critical" and ctx.stale is True  # 2026-01-01 is long ago
    fresh = from_agent("web-1", {**SNAPSHOT, "taken_at": iso(now - timedelta(minutes=2))}, {}, now=now)
    assert fresh.stale is False and fresh.has_data


def test_checks_alone_or_garbage_do_not_crash():
    only = from_agent("h", None, {"disk": {"status": "critical", "metrics": {"disks": {"/data": {"percent": 99}}},
                                           "executed_at": "not a time"}})
    assert only.disks[0].path == "/data" and only.reported_at is None
    junk = from_agent("h", {"top_memory": ["x", 3], "disks": "no", "load_average": "high"}, {})
    assert junk.top_memory == [] and junk.disks == [] and not junk.has_data


def test_hosts_from_labels():
    # the one rule of alerts/hosts.py (shared with the drivers and the check stage)
    assert host_from_label("web-1:9100") == "web-1"
    assert host_from_label("[2001:db8::1]:9100") == "2001:db8::1"
    assert host_from_label("2001:db8::1") == "2001:db8::1"
    now = utcnow()

    def alert(labels: dict[str, str]) -> Alert:
        return Alert(id="a", fingerprint="f", source="s", name="n", severity=Severity.INFO, status=AlertStatus.FIRING,
                     labels=labels, started_at=now, received_at=now, updated_at=now)

    assert hosts_of([alert({"instance": "db-1:9100"}), alert({"hostname": "db-1"}), alert({"nodename": "n2"}),
                     alert({"job": "x"})]) == ["db-1", "n2"]
