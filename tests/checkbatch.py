"""Agent check batches for the server-side tests, shaped like the agent's own
payload (agent/signalfire_agent/models.py; the contract test binds the two)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

THRESHOLDS = {"cpu": (70.0, 90.0), "memory": (70.0, 90.0), "disk": (80.0, 95.0), "network": (70.0, 50.0),
              "process": (100.0, 50.0), "disk_common": (5000.0, 20000.0), "disk_linux": (5000.0, 20000.0),
              "disk_macos": (5000.0, 20000.0)}


def iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def result(checker: str, status: str, message: str = "", at: datetime | None = None,
           metrics: dict[str, Any] | None = None) -> dict[str, Any]:
    warn, crit = THRESHOLDS[checker]
    return {"checker_name": checker, "status": status, "message": message or f"{checker} is {status}",
            "metrics": metrics if metrics is not None else {"percent": 97.0}, "error": None,
            "warning_threshold": warn, "critical_threshold": crit, "duration_ms": 1.5,
            "executed_at": iso(at or datetime.now(UTC))}


def batch(hostname: str = "web-1", results: list[tuple[str, str]] | list[dict[str, Any]] | None = None,
          at: datetime | None = None, interval: float = 60, snapshot: dict[str, Any] | None = None,
          batch_id: str | None = None, dropped: int = 0) -> dict[str, Any]:
    at = at or datetime.now(UTC)
    rows = [r if isinstance(r, dict) else result(r[0], r[1], at=at) for r in (results or [("cpu", "ok")])]
    return {"schema_version": 1, "batch_id": batch_id or uuid.uuid4().hex, "trace_id": uuid.uuid4().hex,
            "agent_version": "0.1.0", "collected_at": iso(at), "interval_seconds": interval,
            "host": {"hostname": hostname, "platform": "linux", "cpu_count": 2},
            "results": rows, "snapshot": snapshot, "dropped_batches": dropped}


def body(**kwargs: Any) -> bytes:
    return json.dumps(batch(**kwargs)).encode()


SNAPSHOT = {"taken_at": "2026-01-01T00:00:00Z",
            "top_memory": [{"pid": 42, "name": "java", "cpu_percent": 3.0, "memory_percent": 61.0, "rss_mb": 4900.0}],
            "top_cpu": [{"pid": 7, "name": "ffmpeg", "cpu_percent": 180.0, "memory_percent": 2.0, "rss_mb": 160.0}],
            "process_count": 120, "load_average": [3.1, 2.0, 1.5],
            "disks": [{"mount": "/", "device": "/dev/sda1", "fstype": "ext4", "percent": 97.0, "total_gb": 50.0,
                       "used_gb": 48.5, "free_gb": 1.5}],
            "space_hogs": [{"path": "/var/log", "size_mb": 9000.0}]}


def store_results(hostname: str, rows: list[tuple[str, str, str]], now: datetime | None = None) -> None:
    """Results as the check-in route keeps them, without the bridge (no alerts, no runs)."""
    from signalfire import services
    from signalfire.checks.bridge import CheckAlertBridge
    from signalfire.checks.service import CheckInService

    class NoAlerts(CheckAlertBridge):
        def __init__(self) -> None:
            pass

        def apply(self, hostname, results, alerting):  # type: ignore[no-untyped-def]
            from signalfire.checks.bridge import BridgeOutcome
            return BridgeOutcome(alerting=dict(alerting))

    at = now or datetime.now(UTC)
    svc = CheckInService(services.check_store(), services.alert_store(), NoAlerts(), clock=lambda: at)
    payload = batch(hostname, [result(c, s, m, at=at) for c, s, m in rows], at=at - timedelta(seconds=1))
    svc.receive(json.dumps(payload).encode())
