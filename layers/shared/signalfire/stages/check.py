"""Check stage (seed: CheckExecutor): attach the latest health results the
host agent reported for each host the incident's alerts name.

Results live at ``PK=HOST#<hostname>, SK=CHECK#<checker>`` (written by the
agent check-in route).  A host with no results yet is a valid answer: the run
goes on, and the output says which hosts had none.
"""

from __future__ import annotations

from typing import Any

from signalfire import services
from signalfire.stages.runner import StageContext, StageOutcome

HOST_LABELS = ("host", "hostname", "instance", "node")


def hosts_of(ctx: StageContext) -> list[str]:
    found: list[str] = []
    for alert in ctx.alerts:
        for key in HOST_LABELS:
            value = alert.labels.get(key)
            if value:
                host = value.split(":", 1)[0] if key == "instance" else value
                if host not in found:
                    found.append(host)
                break
    return found


def run_check(ctx: StageContext) -> StageOutcome:
    wanted = ctx.config.get("checker_names")
    table = services.table()
    hosts: dict[str, dict[str, Any]] = {}
    missing: list[str] = []
    checks: list[dict[str, Any]] = []
    for host in hosts_of(ctx):
        page = table.query(pk_name="PK", pk=f"HOST#{host}", sk_name="SK", sk_prefix="CHECK#", limit=100,
                           newest_first=False, consistent=True)
        results = {}
        for item in page.items:
            name = item["SK"].split("#", 1)[1]
            if wanted and name not in wanted:
                continue
            result = {k: item.get(k) for k in ("status", "message", "metrics", "executed_at", "error")}
            results[name] = result
            checks.append({"host": host, "checker_name": name, **result})
        if results:
            hosts[host] = results
        else:
            missing.append(host)
    passed = sum(1 for c in checks if c.get("status") == "ok")
    return StageOutcome(output={
        "hosts": hosts, "checks": checks, "checks_run": len(checks), "checks_passed": passed,
        "checks_failed": len(checks) - passed, "hosts_without_results": missing,
        "checker_names": wanted or "all",
    })
