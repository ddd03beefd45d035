"""Check stage (seed: CheckExecutor): attach the latest health results the
host agent reported for each host the run's alerts name.

The host is found from the alerts' labels by the one shared rule
(alerts/hosts.py: ``host``, ``hostname``, ``nodename``, ``instance``,
``node``; port stripped, ``[v6]:port`` handled).  Results are attached when
fresh: the host reported within ``HostSilentMultiple`` x its interval (or
the node's ``max_age_seconds``).  A stale host is listed with its age and
last statuses but its results are not counted; a host no agent reports from
is listed as without results.  Neither stops the run.  Node config
``checker_names`` limits which checkers are attached.
"""

from __future__ import annotations

from typing import Any

from signalfire import services
from signalfire.alerts.hosts import hosts_of
from signalfire.errors import NotFoundError
from signalfire.stages.runner import StageContext, StageOutcome
from signalfire.timeutil import iso

RESULT_FIELDS = ("status", "message", "metrics", "error", "warning_threshold", "critical_threshold", "executed_at",
                 "duration_ms", "alert_id", "trace_id")


def run_check(ctx: StageContext) -> StageOutcome:
    wanted = ctx.config.get("checker_names") or None
    max_age = ctx.config.get("max_age_seconds")
    queries = services.check_queries()
    hosts: dict[str, dict[str, Any]] = {}
    stale: dict[str, dict[str, Any]] = {}
    missing: list[str] = []
    checks: list[dict[str, Any]] = []
    for host in hosts_of(ctx.alerts):
        try:
            detail = queries.host(host)
        except NotFoundError:
            missing.append(host)
            continue
        limit = float(max_age) if max_age else detail.host.interval_seconds * queries.silent_multiple
        if detail.age_seconds > limit:
            stale[host] = {"last_seen": iso(detail.host.last_seen), "age_seconds": round(detail.age_seconds, 1),
                           "limit_seconds": limit, "statuses": detail.host.statuses}
            continue
        results = {}
        for name, run in sorted(detail.checks.items()):
            if wanted and name not in wanted:
                continue
            result = {k: v for k, v in run.model_dump(mode="json").items() if k in RESULT_FIELDS}
            results[name] = result
            checks.append({"host": host, "checker_name": name, **result})
        if results:
            hosts[host] = results
        else:
            missing.append(host)
    passed = sum(1 for c in checks if c.get("status") == "ok")
    return StageOutcome(output={
        "hosts": hosts, "checks": checks, "checks_run": len(checks), "checks_passed": passed,
        "checks_failed": len(checks) - passed, "hosts_without_results": missing, "stale_hosts": stale,
        "checker_names": wanted or "all",
    })
