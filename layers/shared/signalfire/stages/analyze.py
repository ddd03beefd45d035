"""Analyze stage (seed: AnalyzeExecutor): the local rule-based provider.

The AI providers (OpenAI, Claude, ...) arrive with the intelligence work; a
node that names one that is not configured fails with ConfigurationError,
which the state machine catches and answers with this local provider
(``fallback``), recording ``intelligence_fallback_used`` on the run.
"""

from __future__ import annotations

from typing import Any

from signalfire.errors import ConfigurationError
from signalfire.stages.runner import StageContext, StageOutcome

RULES: list[tuple[str, tuple[str, ...], str, list[str]]] = [
    ("memory", ("memory", "ram", "oom", "swap"), "Memory pressure",
     ["Find the processes using the most memory (top processes in the host snapshot)",
      "Check for a leak: compare resident memory over time", "Add swap or memory, or restart the leaking service"]),
    ("disk", ("disk", "storage", "space", "inode", "filesystem", "volume"), "Disk space",
     ["Find the largest directories (space hogs in the host snapshot)", "Rotate or delete old logs",
      "Clean package caches and temporary files", "Grow the volume if the usage is expected"]),
    ("cpu", ("cpu", "load", "processor"), "CPU saturation",
     ["Find the processes using the most CPU", "Check for runaway jobs or a traffic spike",
      "Scale out or throttle the offending workload"]),
    ("network", ("network", "unreachable", "latency", "packet", "dns", "timeout", "down"), "Connectivity",
     ["Check the host is reachable (ping, security groups, routes)", "Check DNS resolution",
      "Look for a recent network or firewall change"]),
    ("process", ("process", "service", "crash", "exited", "restart"), "Process health",
     ["Check the service status and its last logs", "Restart the service if it is down",
      "Look for a recent deploy"]),
]
PRIORITY = {"critical": "critical", "warning": "high", "info": "medium"}


def analyze_local(ctx: StageContext) -> dict[str, Any]:
    incident = ctx.incident
    text = " ".join(filter(None, [incident.title if incident else "", incident.description if incident else ""]
                           + [f"{a.name} {a.description}" for a in ctx.alerts])).lower()
    severity = incident.severity.value if incident else "warning"
    recommendations: list[dict[str, Any]] = []
    for kind, words, title, actions in RULES:
        if any(w in text for w in words):
            recommendations.append({"type": kind, "priority": PRIORITY.get(severity, "medium"), "title": title,
                                    "description": f"The alert text mentions {kind}-related symptoms.",
                                    "actions": actions, "details": {}, "incident_id": incident.id if incident else None})
    checks = [o for o in ctx.outputs.values() if "checks" in o]
    failing = [c for o in checks for c in o.get("checks", []) if c.get("status") not in ("ok", None)]
    for check in failing:
        recommendations.append({"type": "general", "priority": "high",
                                "title": f"{check['checker_name']} check on {check['host']} is {check['status']}",
                                "description": str(check.get("message") or ""), "actions": [], "details": check,
                                "incident_id": incident.id if incident else None})
    if not recommendations:
        recommendations.append({"type": "general", "priority": "low", "title": "No rule matched",
                                "description": "Look at the alert's runbook and recent changes on the host.",
                                "actions": ["Open the alert's runbook or dashboard"], "details": {},
                                "incident_id": incident.id if incident else None})
    top = recommendations[0]
    return {
        "provider": "local", "model_name": "rules-v1",
        "summary": f"{len(recommendations)} recommendation(s); most likely: {top['title']}",
        "probable_cause": top["title"] if top["title"] != "No rule matched" else "unknown",
        "recommendations": recommendations,
        "actions": top["actions"],
        "confidence": 0.6 if top["type"] != "general" else 0.3,
    }


def run_analyze(ctx: StageContext) -> StageOutcome:
    req = ctx.request
    provider = req.provider or ctx.config.get("provider") or "local"
    if provider != "local":
        raise ConfigurationError(f"intelligence provider {provider!r} is not configured")
    result = analyze_local(ctx)
    result["fallback_used"] = req.fallback
    if req.fallback and req.primary_error:
        result["primary_error"] = {"type": req.primary_error.get("Error"),
                                   "cause": str(req.primary_error.get("Cause", ""))[:500]}
    return StageOutcome(output=result, run_fields={"intelligence_fallback_used": True} if req.fallback else {})
